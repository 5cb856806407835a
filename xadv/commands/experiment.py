"""`xadv experiment run | plan | render`: the research experiment's command line (`xadv.experiments` does the work).

The repository's layout is known here, not in the package: the default config is the repository's
`benchmarks/experiment.toml`, models go under `runs/experiment/`, outputs under `benchmarks/results/experiment/`,
data defaults to $XADV_DATA_DIR, else `../shared/data` beside the repository. `main` is the entry of the thin
script `benchmarks/experiment.py` (whose `run` is implied, as it always was). `xadv.experiments` is imported
inside the commands so that `xadv --help` stays fast (as in cli.py). Bad input: one line, exit 2.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from xadv.errors import XadvError

try:  # typer >= 0.2x vendors click: its usage errors derive from TyperException
    from typer import TyperException as _UsageError
except ImportError:  # older typer runs on click
    from click import ClickException as _UsageError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "benchmarks" / "experiment.toml"
SCRIPT = "python benchmarks/experiment.py"
COMMANDS = ("run", "plan", "render")
_ARGV = "xadv.experiment.argv"        # ctx.meta: the arguments after `experiment`, as typed
_COMMAND = "xadv.experiment.command"  # ctx.obj (from `main`): the command line run.json records


class _Group(TyperGroup):
    """Turns `XadvError` below into one line on stderr and exit 2; keeps the raw arguments for run.json."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        ctx.meta.setdefault(_ARGV, list(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except XadvError as exc:
            typer.echo(f"error: {exc}", err=True)
            ctx.exit(2)


experiment_app = typer.Typer(
    cls=_Group, no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
    rich_markup_mode="rich", context_settings={"help_option_names": ["-h", "--help"]},
    help="The research experiment: do English-only, multilingual-only or mixed intermediate tasks make TyDi QA "
         "transfer more robust? Train the grid (mix x intermediate task + a baseline), attack every model in 9 "
         "languages, render the table.")

BudgetOpt = Annotated[str, typer.Option("--budget", help="A budget of the config: small, full, smoke.",
                                        show_default=False)]
ConfigOpt = Annotated[Path, typer.Option("--config", help="Experiment TOML.",
                                         show_default="benchmarks/experiment.toml")]
BaseOpt = Annotated[Optional[str], typer.Option(
    "--base", help="Base encoder for every model (checkpoint dir, me5-small, hub id).", show_default=False)]
MixesOpt = Annotated[Optional[str], typer.Option("--mixes", help="Subset of the mixes, e.g. en,mixed.",
                                                 show_default=False)]
TasksOpt = Annotated[Optional[str], typer.Option("--tasks", help="Subset of the tasks, e.g. qa,nli.",
                                                 show_default=False)]
SeedsOpt = Annotated[Optional[str], typer.Option("--seeds", help="Seeds, e.g. 13,14 (default: the budget's).",
                                                 show_default=False)]
NoBaselineOpt = Annotated[bool, typer.Option("--no-baseline", help="Leave out the no-intermediate baseline.")]
NPerLangOpt = Annotated[Optional[int], typer.Option("--n-per-lang", help="Dev questions per language (0: all).",
                                                    show_default=False)]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE", show_default=False,
    help="Training config override for every model, as `xadv train --set` (repeatable).")]
DataDirOpt = Annotated[Optional[Path], typer.Option(
    "--data-dir", help="Data directory (default: $XADV_DATA_DIR, else ../shared/data beside the repository).",
    show_default=False)]
RunsOpt = Annotated[Optional[Path], typer.Option("--runs", help="Models (default runs/experiment/<budget>/).",
                                                 show_default=False)]
StoreOpt = Annotated[Optional[Path], typer.Option("--store", help="Records store (default <runs>/records/).",
                                                  show_default=False)]
ResultsOpt = Annotated[Optional[Path], typer.Option(
    "--results", help="Outputs (default benchmarks/results/experiment/<budget>/).", show_default=False)]


def _data_dir(given: Optional[Path]) -> Path:
    if given:
        return given
    env = os.environ.get("XADV_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _command(ctx: typer.Context) -> str:
    """The command line run.json records: the script's (from `main`), else `xadv experiment ...` as typed."""
    if isinstance(ctx.obj, dict) and ctx.obj.get(_COMMAND):
        return ctx.obj[_COMMAND]
    return "xadv experiment " + shlex.join(ctx.meta.get(_ARGV) or ["run"])


def _options(ctx: typer.Context, budget: str, config: Path, base, mixes, tasks, seeds, no_baseline, n_per_lang,
             sets, data_dir, runs, store, results, quiet: bool = False):
    from xadv.experiments.runner import RunOptions

    return RunOptions(budget=budget, config=config, root=REPO, data_dir=_data_dir(data_dir), base=base, mixes=mixes,
                      tasks=tasks, seeds=seeds, no_baseline=no_baseline, n_per_lang=n_per_lang, sets=list(sets or []),
                      runs=runs, store=store, results=results, quiet=quiet, command=_command(ctx))


def _print_plan(opts) -> None:
    from xadv.experiments.runner import Progress, plan

    rows = plan(opts)
    for row in rows:
        took = ", ".join(f"{k} {row[f'{k}_minutes']:.1f} min" for k in ("train", "eval") if row[f"{k}_minutes"])
        typer.echo(f"{row['id']:24s} {row['state']:8s} intermediate={','.join(row['intermediate']) or 'none':16s} "
                   f"seen QA languages: {' '.join(row['seen_qa_languages'])} (not zero-shot)"
                   + (f"; {row['records']} records" if row["records"] else "") + (f"; {took}" if took else "")
                   + (f"; {row['stand_in']} stands in for it" if row.get("stand_in") else ""))
    typer.echo(Progress.of(rows).line())


@experiment_app.command("run")
def run_command(
    ctx: typer.Context,
    budget: BudgetOpt,
    config: ConfigOpt = DEFAULT_CONFIG,
    base: BaseOpt = None,
    mixes: MixesOpt = None,
    tasks: TasksOpt = None,
    seeds: SeedsOpt = None,
    no_baseline: NoBaselineOpt = False,
    n_per_lang: NPerLangOpt = None,
    sets: SetOpt = None,
    data_dir: DataDirOpt = None,
    runs: RunsOpt = None,
    store: StoreOpt = None,
    results: ResultsOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the grid and what is already done; run nothing "
                                                            "(as `plan`).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Train and evaluate the grid, resumably: finished models and recorded attack cells are skipped.

    Writes records.json.gz, models.json, run.json, results.md and plots/ to --results.
    """
    opts = _options(ctx, budget, config, base, mixes, tasks, seeds, no_baseline, n_per_lang, sets, data_dir, runs,
                    store, results, quiet)
    if dry_run or ctx.info_name == "plan":
        _print_plan(opts)
        return
    from xadv.experiments.runner import run

    run(opts)


# `plan` is `run --dry-run` under its own name (the same options, so they are declared once)
experiment_app.command(
    "plan", help="The grid without running it: every model, its training state (new, partial, done, diverged), its "
                 "intermediate tasks, the languages whose TyDi QA data it trains on (not zero-shot), its records and "
                 "measured minutes; then how much is left at the measured pace.")(run_command)


@experiment_app.command("render")
def render_command(
    results: Annotated[Path, typer.Option("--results", help="The results directory (or its records file).",
                                          show_default=False)],
) -> None:
    """results.md, analysis.json and plots/ from the records of a finished run (+ models.json, run.json)."""
    from xadv.experiments.report import render

    typer.echo(render(results))


def main(argv: list[str] | None = None, prog: str = SCRIPT) -> int:
    """`benchmarks/experiment.py`: its arguments as the script always took them (`run` implied unless the first
    is a command), errors as one line; returns the exit code. run.json records `prog` and the arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = argv if argv and argv[0] in (*COMMANDS, "-h", "--help") else ["run", *argv]
    try:
        rc = experiment_app(args=args, prog_name=prog.split()[-1].rsplit("/", 1)[-1], standalone_mode=False,
                            obj={_COMMAND: f"{prog} {shlex.join(argv)}".rstrip()})
    except _UsageError as exc:  # a missing or malformed option: one line, as the script always did
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"error: {message}", err=True)
        return getattr(exc, "exit_code", 2)
    except typer.Abort:
        return 1
    return rc if isinstance(rc, int) else 0
