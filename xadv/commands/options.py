"""The one place for option declarations that more than one command uses (as `Annotated` aliases).

An option that only one command has, or whose help text differs from command to command (--model,
--seed, --n, --batch-size, --quiet), is declared beside that command in its own module.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.errors import XadvError


def out_file(value: str) -> Path:
    """An --out FILE as typed: `Path("x/")` would drop the slash and write a file named x, so a value that
    ends in a slash (a folder) is refused here, before conversion (one line, exit 2)."""
    if value.endswith(("/", os.sep)):
        raise XadvError(f"--out {value}: ends in a slash, so it names a folder, but this option writes one file "
                        f"(give a file path, e.g. {value.rstrip('/' + os.sep) or '.'}/out.json)")
    return Path(value)


DataDirOpt = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Data directory (default: $XADV_DATA_DIR, else the user cache).",
                 show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
LangOpt = Annotated[Optional[str], typer.Option(
    "--lang", metavar="CODE", show_default=False,
    help="Language of a plain SQuAD-format file (ar de en zh ...; a dataset name already fixes it, and a "
         "file name never does). Without it, rows without a TyDi id prefix are und: multilingual scoring "
         "then warns and applies no language rules.")]

# perturbing (perturb)
TargetOpt = Annotated[str, typer.Option(
    "--target", help="What to perturb: question, context (outside the gold answers) or both.")]
StrengthOpt = Annotated[float, typer.Option(
    "--strength", min=0.0, max=1.0, help="Share of words (or sentences) of the target to touch.")]

# running a model (attack, eval, models info)
INT8_HELP = ("Dynamic int8 quantisation of the Linear layers (the feed-forward down-projections stay fp32): "
             "on the default model TyDi dev F1 56.2 -> 55.1 (-1.1, ru/te -2.5; benchmarks/results/int8_f1_cost.json), "
             "and on a 2-core CPU only 4 % faster than fp32 (2,952 vs 2,846 tokens/s, "
             "benchmarks/results/bench_eval_*_idle.json). Cached and recorded separately from fp32.")
Int8Opt = Annotated[bool, typer.Option("--int8", help=INT8_HELP + " The same as --precision int8.")]
PRECISION_HELP = ("auto | fp32 | bf16 | fp16 | int8. auto: bf16 where the device computes it natively (AMX / "
                  "AVX512-BF16 CPUs, GPUs) once its F1 cost is measured within bounds (xadv.device.ACCEPTED), "
                  "else fp32. Part of the cache and cell keys: precisions never mix.")
DEVICE_HELP = "auto | cpu | cuda | cuda:N | mps. auto: the first CUDA GPU, else mps, else the CPU."
AllowPickleOpt = Annotated[bool, typer.Option(
    "--allow-pickle", help="Also load pickled weights (pytorch_model.bin), which can run code: "
                           "only for checkpoints you trust.")]


class ScoreMode(str, Enum):
    """Answer normalisation of the scorer (`xadv.score.normalize.MODES`)."""

    squad = "squad"
    multilingual = "multilingual"
    mlqa = "mlqa"


ScoreModeOpt = Annotated[ScoreMode, typer.Option(
    "--mode", help="[bold]squad[/]: the official SQuAD v1.1 normalisation (ASCII punctuation, "
                   "English articles), comparable with published TyDi numbers. "
                   "[bold]multilingual[/]: Unicode punctuation (। ، « »), NFKC + casefold, "
                   "invisible format characters dropped, per-language rules from the registry "
                   "(articles for en de es vi, the ar prefix, Chinese scored per character, as MLQA). "
                   "[bold]mlqa[/]: exactly the official MLQA evaluation (its articles per language, Unicode "
                   "punctuation, Chinese per character), comparable with published MLQA/XQuAD numbers; "
                   "only for its languages ar de en es hi vi zh.")]
EvalModeOpt = Annotated[ScoreMode, typer.Option(
    "--mode", help="Answer normalisation: [bold]squad[/] (official, comparable with published numbers) "
                   "or [bold]multilingual[/] (Unicode punctuation, NFKC, per-language articles) or [bold]mlqa[/] "
                   "(the official MLQA script; ar de en es hi vi zh only).")]

# reading results (leaderboard, regress, report)
ResultsDirOpt = Annotated[Path, typer.Option(
    "--results", metavar="DIR", help="Results directory written by [bold]xadv attack --results DIR[/] "
                                     "(or one run file from [bold]xadv attack --out[/]).")]
BootstrapOpt = Annotated[int, typer.Option(
    "--bootstrap", help="Bootstrap resamples for the 95% intervals (seeded, repeatable), 0 to 100000; 0 skips "
                        "them.")]
OutFileOpt = Annotated[Optional[Path], typer.Option("--out", metavar="FILE", show_default=False, parser=out_file,
                                                    help="Write to FILE instead of stdout.")]
