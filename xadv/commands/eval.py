"""`xadv eval`: clean F1/EM of a QA model per language, with confidence intervals (library: xadv.qa)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import check_out, print_json
from xadv.commands.options import (
    DEVICE_HELP,
    PRECISION_HELP,
    AllowPickleOpt,
    DataDirOpt,
    EvalModeOpt,
    Int8Opt,
    JsonOpt,
    LangOpt,
    ScoreMode,
    out_file,
)
from xadv.device import resolve_device

ModelOpt = Annotated[str, typer.Option(
    "--model", metavar="CKPT", show_default=False,
    help="A checkpoint directory, [bold]me5-small[/] (the imported encoder: its QA head is untrained, "
         "so add --allow-untrained-head and expect F1 near 0), or a Hugging Face hub id.")]
DataOpt = Annotated[str, typer.Option(
    "--data", metavar="NAME_OR_FILE",
    help="A dataset name ([bold]tydiqa:all:dev[/], [bold]tydiqa:sw,fi:dev[/], [bold]xquad:de:test[/], "
         "[bold]mlqa:en-de:test[/], [bold]squad:en:dev[/]) or a SQuAD-format JSON file (with --lang).")]
NOpt = Annotated[Optional[int], typer.Option(
    "--n", min=1, show_default=False,
    help="Only the first N questions of each language (a quick look; intervals get wide).")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Windows per forward pass.")]
MaxSeqLengthOpt = Annotated[int, typer.Option(
    "--max-seq-length", min=16, help="Tokens per window (question + context + special tokens).")]
DocStrideOpt = Annotated[int, typer.Option(
    "--doc-stride", min=0, help="Tokens shared by consecutive windows of a long context.")]
ThreadsOpt = Annotated[Optional[int], typer.Option(
    "--threads", min=1, show_default=False,
    help="CPU threads for torch (default: $OMP_NUM_THREADS if set, else all usable cores).")]
PredOutOpt = Annotated[Optional[Path], typer.Option(
    "--out", metavar="PRED.json", show_default=False, parser=out_file,
    help="Write the predictions in the official format {id: answer_text} (input to [bold]xadv score[/]).")]
NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="Do not read or write the on-disk prediction cache (<cache>/predictions.sqlite).")]
AllowUntrainedHeadOpt = Annotated[bool, typer.Option(
    "--allow-untrained-head", help="Accept a checkpoint without a trained QA head (a seeded random one "
                                   "is attached): for smoke tests and speed checks only.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def eval_command(
    model: ModelOpt,
    data: DataOpt = "tydiqa:all:dev",
    data_dir: DataDirOpt = None,
    lang: LangOpt = None,
    mode: EvalModeOpt = ScoreMode.squad,
    n: NOpt = None,
    int8: Int8Opt = False,
    precision: Annotated[str, typer.Option("--precision", help=PRECISION_HELP)] = "auto",
    device: Annotated[str, typer.Option("--device", help=DEVICE_HELP)] = "auto",
    batch_size: BatchSizeOpt = 8,
    max_seq_length: MaxSeqLengthOpt = 384,
    doc_stride: DocStrideOpt = 128,
    threads: ThreadsOpt = None,
    out: PredOutOpt = None,
    no_cache: NoCacheOpt = False,
    allow_untrained_head: AllowUntrainedHeadOpt = False,
    allow_pickle: AllowPickleOpt = False,
    quiet: QuietOpt = False,
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

    check_out(out)
    device = resolve_device(device)
    config = EngineConfig(max_seq_length=max_seq_length, doc_stride=doc_stride, int8=int8, precision=precision,
                          batch_size=batch_size,
                          num_threads=threads, cache_path=None if no_cache else default_cache_path(),
                          progress=not quiet)
    dataset = load_qa(data, data_dir=data_dir, lang=lang)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)  # said below, in the output itself
        loaded = load_qa_model(model, allow_pickle=allow_pickle, allow_untrained_head=allow_untrained_head,
                               device=device)
    report = evaluate(loaded, dataset, data_name=data, mode=mode.value, config=config, n_per_lang=n)
    if out is not None:
        write_predictions(report.predictions, out)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    if json_out:
        print_json({**report.to_dict(), "predictions_file": str(out) if out else None})
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
                  f"batch {eng['batch_size']}, {eng['precision']} on {eng['device']}, {eng['threads']} threads{speed}  ·  "
                  f"model {report.fingerprint[:12]}", style="dim")
    if out is not None:
        console.print(f"predictions written to {out}", style="dim")
