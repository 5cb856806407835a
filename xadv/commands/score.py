"""`xadv score`: exact match and token F1 of a predictions file (library: xadv.score)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xadv.commands.common import print_json
from xadv.commands.options import DataDirOpt, JsonOpt, LangOpt, ScoreMode, ScoreModeOpt
from xadv.io import one_line

GoldOpt = Annotated[str, typer.Option(
    "--gold", metavar="FILE_OR_NAME", show_default=False,
    help="Gold answers: a dataset name ([bold]tydiqa:bn:dev[/], [bold]tydiqa:all:dev[/], "
         "[bold]xquad:zh:test[/], [bold]mlqa:en-de:test[/], [bold]squad:en:dev[/]) or a SQuAD-format "
         "JSON file (with --lang).")]
PredOpt = Annotated[Path, typer.Option(
    "--pred", metavar="PRED.json", show_default=False,
    help="Predictions in the official format: one JSON object {id: answer_text}.")]
ResamplesOpt = Annotated[int, typer.Option(
    "--bootstrap", help="Bootstrap resamples for the 95% confidence intervals "
                        "(seeded, so repeatable), 0 to 100000; 0 skips them.")]


def score_command(
    gold: GoldOpt,
    pred: PredOpt,
    mode: ScoreModeOpt = ScoreMode.squad,
    resamples: ResamplesOpt = 1000,
    json_out: JsonOpt = False,
    data_dir: DataDirOpt = None,
    lang: LangOpt = None,
) -> None:
    """Score predictions against gold answers: exact match and token F1, overall and per language.

    A gold question without a prediction counts as wrong (EM 0, F1 0), as in the official script; predictions for ids not in the gold data are ignored. Both are reported on stderr.

    Example: [bold]xadv score --gold tydiqa:all:dev --pred preds.json --mode multilingual[/]
    """
    from xadv.score import result_ci
    from xadv.score.bootstrap import check_resamples
    from xadv.score.evaluate import unknown_language_warning
    from xadv.score.files import score_files

    check_resamples(resamples)
    result = score_files(gold, pred, mode=mode.value, data_dir=data_dir, lang=lang)
    unruled = unknown_language_warning(result)
    if unruled:
        typer.echo(f"warning: {unruled}", err=True)
    if result.missing:
        typer.echo(f"warning: {len(result.missing)} of {result.n} gold questions have no prediction "
                   f"in {pred} (first: {one_line(str(result.missing[0]))}); counted as wrong (EM 0, F1 0)", err=True)
    if result.unknown:
        typer.echo(f"warning: {len(result.unknown)} predictions are for ids not in {gold} "
                   f"(first: {one_line(str(result.unknown[0]))}); ignored", err=True)
    ci = result_ci(result, n_resamples=resamples) if resamples and result.n else {}
    if json_out:
        out = {"gold": gold, "pred": str(pred), **result.to_dict()}
        out["ci95"] = {k: list(v) for k, v in ci.items()}
        out["bootstrap"] = {"resamples": resamples, "seed": 0, "level": 0.95}
        print_json(out)
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
