"""`xadv leaderboard`, `xadv regress` and `xadv report` (library: xadv.leaderboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import check_out, format_for, langs_opt, print_json, stdout_console, write_text
from xadv.commands.options import BootstrapOpt, JsonOpt, OutFileOpt, ResultsDirOpt
from xadv.errors import XadvError

# leaderboard
BoardFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", metavar="md|csv|json|html", show_default=False,
    help="Write the leaderboard as Markdown, CSV, JSON or ONE self-contained HTML page (heat maps, "
         "per-model view). Default: tables on the terminal, or the --out file's suffix.")]
SortOpt = Annotated[str, typer.Option(
    "--sort", help="Order rows by model, lang, attack, or by robustness: asr, f1_drop, flip_rate (lowest first), "
                   "adv_f1, robust_f1, clean_f1, worst_case, effective (highest first); robust_f1, flip_rate, "
                   "worst_case and effective also rank the models table (default: by robust F1). "
                   "`robust-f1` = `robust_f1`.")]
BoardLangOpt = Annotated[Optional[str], typer.Option("--lang", show_default=False,
                                                     help="Only these languages, e.g. sw or 'sw,fi'; de also takes the cross-lingual "
                                                          "cells with German on either side (en-de), en-de only that pair.")]
AuditOpt = Annotated[Optional[list[Path]], typer.Option(
    "--audit", metavar="FILE", show_default=False,
    help="Audit scores (`xadv attacks audit --score SHEET --out FILE.json`) to show beside the board: the human "
         "valid share per attack and language. Repeatable.")]
StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="Exit 1 when any record is flagged by the checks (for CI): edited, unsealed (no digest; "
                     "with XADV_RESULTS_KEY set, no valid seal), summary disagrees, duplicate, clean outcomes differ.")]

# regress
BaselineOpt = Annotated[Path, typer.Option(
    "--baseline", metavar="FILE", help="The accepted baseline (JSON with per-example outcomes), written by "
                                       "[bold]--update-baseline[/].")]
CurrentOpt = Annotated[Path, typer.Option(
    "--current", metavar="DIR", help="Results directory of the run to gate (xadv attack --results DIR).")]
MaxAsrIncreaseOpt = Annotated[float, typer.Option(
    "--max-asr-increase", help="Allowed rise of the attack success rate, as a fraction: 0.02 = 2 "
                               "percentage points.")]
MaxF1DropOpt = Annotated[float, typer.Option(
    "--max-f1-drop", help="Allowed fall of the adversarial F1, in F1 points (0-100).")]
MaxFlipIncreaseOpt = Annotated[Optional[float], typer.Option(
    "--max-flip-increase", metavar="FRACTION", show_default=False,
    help="Opt-in: also fail when the flip rate on jointly-correct questions (right on clean input for both "
         "baseline and current) rose by more than this fraction (0.02 = 2 percentage points). Shown always, "
         "gated only with this option.")]
PerLangOpt = Annotated[bool, typer.Option(
    "--per-lang", help="Check every language of every model on its own (attacks pooled), not only "
                       "each model overall.")]
PerCellOpt = Annotated[bool, typer.Option(
    "--per-cell", help="Check every language x attack cell on its own (seeds pooled).")]
SignificanceOpt = Annotated[Optional[float], typer.Option(
    "--significance", metavar="ALPHA", show_default=False,
    help="Count a change beyond tolerance as a regression only when the paired bootstrap on the same "
         "questions gives p < ALPHA (e.g. 0.05). Needs --bootstrap B with 1/(B+1) < ALPHA.")]
UpdateBaselineOpt = Annotated[bool, typer.Option(
    "--update-baseline", help="Accept the current results: (over)write --baseline from --current and "
                              "exit 0.")]

# report
RunArg = Annotated[Path, typer.Argument(
    metavar="RESULTS", help="A results directory (xadv attack --results DIR) or a run file (xadv attack --out).")]
ReportFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", metavar="md|html", show_default=False,
    help="Markdown or one self-contained HTML page (default: the --out suffix, else md).")]
ReportModelOpt = Annotated[Optional[str], typer.Option("--model", show_default=False,
                                                       help="Only this model (by name).")]
ReportLangOpt = Annotated[Optional[str], typer.Option("--lang", show_default=False, help="Only these languages.")]
ExamplesOpt = Annotated[int, typer.Option("--examples", min=0,
                                          help="Successful attacks shown per language and attack.")]


def leaderboard_command(
    results: ResultsDirOpt = Path("xadv-results"),
    fmt: BoardFormatOpt = None,
    out: OutFileOpt = None,
    sort: SortOpt = "model",
    lang: BoardLangOpt = None,
    bootstrap: BootstrapOpt = 1000,
    strict: StrictOpt = False,
    audit: AuditOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Rank models per language and attack: clean F1, adversarial F1, drop, robust F1 and ASR with 95% CIs, plus the flip rate on jointly-correct questions, worst case over attacks and effective robustness (docs/robustness-gate.md).

    Entries are checked, not trusted: every number is recomputed from the per-example outcomes in each record, and a record is [red]flagged[/] when its stored summary disagrees, when its file was edited after it was written, or when its clean outcomes differ from the other records of the same model and data. Seeds of one cell are pooled. Languages are marked zero-shot (or seen) from the model card; the scorer mode is shown.

    Forgery: a record's plain digest only detects accidental edits; anyone can recompute it. To stop forged results, keep a secret in [bold]XADV_RESULTS_KEY[/] where results are written and read: records are then sealed (HMAC-SHA256), and a record whose seal is missing or does not verify is flagged (docs/security.md).

    Examples:
      [bold]xadv leaderboard --results xadv-results[/]
      [bold]xadv leaderboard --results xadv-results --format html --out leaderboard.html[/]
      [bold]xadv leaderboard --results xadv-results --lang sw,fi --sort asr --format md[/]
    """
    from xadv.leaderboard import FORMATS, build_leaderboard, render

    fmt = "json" if json_out else format_for(fmt, out, FORMATS, "md" if out is not None else None)
    check_out(out)
    scores = _audit_scores(audit)
    board = build_leaderboard(results, langs=langs_opt(lang), sort=sort, n_resamples=bootstrap)
    board.human_validity = scores
    flagged = board.flagged
    if fmt is not None:
        text = render(board, fmt)
        if out is None:
            typer.echo(text, nl=False)
        else:
            write_text(text, out)
            typer.echo(f"wrote {out} ({fmt}: {len(board.rows)} rows, {len(board.models)} models, "
                       f"{len(flagged)} flagged records)", err=True)
    else:
        _print_board(board)
    if strict and flagged:
        typer.echo(f"{len(flagged)} of {len(board.entries)} records flagged by the checks", err=True)
        raise typer.Exit(1)


def _audit_scores(paths) -> list:
    from attacks.audit import read_scores

    return [s for p in paths or () for s in read_scores(p)]


def _print_board(board) -> None:
    from rich.markup import escape

    from xadv.leaderboard.render import check_lines
    from xadv.leaderboard.terminal import models_table, rows_table

    console = stdout_console()
    console.print(rows_table(board))
    console.print(models_table(board))
    if board.human_validity:
        from rich.table import Table

        from xadv.leaderboard.render import human_validity_rows

        table = Table(title="human validity of the attacks (audit sheets): same meaning and same answer")
        for col in ("attack", "lang", "target", "judged", "valid % [95% CI]", "annotators"):
            table.add_column(col)
        for row in human_validity_rows(board):
            table.add_row(*row)
        console.print(table)
    for line in check_lines(board):
        style = "red" if line.startswith("FLAGGED") else "dim"
        console.print(f"[{style}]{escape(line)}[/]", soft_wrap=True, highlight=False)


def regress_command(
    baseline: BaselineOpt,
    current: CurrentOpt,
    max_asr_increase: MaxAsrIncreaseOpt = 0.02,
    max_f1_drop: MaxF1DropOpt = 1.0,
    per_lang: PerLangOpt = False,
    per_cell: PerCellOpt = False,
    significance: SignificanceOpt = None,
    max_flip_increase: MaxFlipIncreaseOpt = None,
    update: UpdateBaselineOpt = False,
    bootstrap: BootstrapOpt = 1000,
    json_out: JsonOpt = False,
) -> None:
    """CI gate: exit 1 when the model got easier to attack than the accepted baseline, 0 when not.

    Baseline and current cells are matched by model name, language, attack (+ parameters, + search settings for --search cells), target, strength, seed, data hash, scorer mode and criterion, so a retrained model under the same name is compared with the accepted one. A check fails when ASR rose by more than --max-asr-increase or adversarial F1 fell by more than --max-f1-drop (optionally only if significant); a baseline cell the current run lacks fails too. Records that fail their checks (edited, unsealed, summary disagrees) are bad input: exit 2. Settings under which the gate could never fail are refused (e.g. --significance 0.05 with fewer than 20 --bootstrap resamples: p is never below 1/(B+1)).

    Forgery: a plain digest only detects accidental edits; with [bold]XADV_RESULTS_KEY[/] set (a secret the leaderboard owner keeps), records and the baseline must carry a valid keyed seal (docs/security.md).

    Examples:
      [bold]xadv regress --baseline ci/robustness-baseline.json --current xadv-results[/]
      [bold]xadv regress --baseline ci/robustness-baseline.json --current xadv-results --per-lang --significance 0.05[/]
      [bold]xadv regress --baseline ci/robustness-baseline.json --current xadv-results --update-baseline[/]
    """
    from xadv.leaderboard.regress import run_gate

    if per_lang and per_cell:
        raise XadvError("choose one of --per-lang and --per-cell")
    level = "cell" if per_cell else "lang" if per_lang else "model"
    kwargs = dict(max_asr_increase=max_asr_increase, max_f1_drop=max_f1_drop, level=level,
                  significance=significance, n_resamples=bootstrap, max_flip_increase=max_flip_increase)
    if update:
        _update_baseline(baseline, current, kwargs, json_out)
        return
    result = run_gate(baseline, current, **kwargs)
    if json_out:
        print_json(result.to_dict())
    else:
        _print_gate(result)
    if not result.passed:
        raise typer.Exit(1)


def _update_baseline(baseline: Path, current: Path, kwargs: dict, json_out: bool) -> None:
    """--update-baseline: (over)write the baseline from the current results, showing what it replaces."""
    from xadv.leaderboard.regress import gate, update_baseline
    from xadv.leaderboard.terminal import gate_table

    gate([], [], **kwargs)  # validate the tolerances before writing anything
    check_out(baseline)
    cells, old = update_baseline(baseline, current)
    result = gate(old, cells, **kwargs) if old is not None else None
    if json_out:
        print_json({"updated": str(baseline), "cells": len(cells),
                    "previous": result.to_dict() if result else None})
        return
    if result is not None:
        stdout_console().print(gate_table(result))
    typer.echo(f"baseline {baseline} updated from {current}: {len(cells)} cells"
               + (f" (was {len(old)})" if old is not None else " (new)"))


def _print_gate(result) -> None:
    from xadv.leaderboard.terminal import gate_table

    console = stdout_console()
    console.print(gate_table(result, only_regressed=not result.passed))
    n_ok = len(result.checks) - len(result.regressed)
    summary = (f"{n_ok} of {len(result.checks)} checks within tolerance"
               + (f" ({len(result.improved)} improved)" if result.improved else "")
               + (f", {len(result.missing)} baseline cells missing" if result.missing else "")
               + (f", {len(result.new)} new cells without a baseline (not gated)" if result.new else ""))
    typer.echo(summary)
    if not result.passed:
        typer.echo("robustness regressed: fix the model, or accept the change deliberately with "
                   "`xadv regress --update-baseline`", err=True)


def report_command(
    results: RunArg,
    fmt: ReportFormatOpt = None,
    out: OutFileOpt = None,
    model: ReportModelOpt = None,
    lang: ReportLangOpt = None,
    examples: ExamplesOpt = 3,
) -> None:
    """Report one run: per language, the attack table and before/after examples of the attacks that succeeded.

    Shows the question (or the context around the first edit) before and after the attack, the answers before and after, and spells out invisible edits (zero-width characters, homoglyphs) with code points.

    Example: [bold]xadv report xadv-results --format html --out report.html[/]
    """
    from xadv.leaderboard.report import REPORT_FORMATS, render_report

    fmt = format_for(fmt, out, REPORT_FORMATS, "md")
    check_out(out)
    text, sections = render_report(results, fmt, model=model, k=examples, langs=langs_opt(lang))
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text(text, out)
        shown = sum(len(v) for s in sections for v in s.examples.values())
        typer.echo(f"wrote {out} ({fmt}: {len(sections)} model x language sections, {shown} examples)", err=True)
