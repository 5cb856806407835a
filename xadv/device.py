"""Which precision a model runs in here: one decision, shared by training and (next) inference.

bf16 is only fast where the hardware computes it natively: on a CPU with AMX or AVX512-BF16 bf16 GEMMs
run several times faster than fp32 (measured 2,800 vs 418 GFLOP/s on a 2-core Xeon with AMX), but on a
CPU without them (AVX2 only, e.g. many AMD EPYC hosts) torch falls back to a scalar bf16 path that is far
*slower* than fp32 (measured 0-12 vs 62 GFLOP/s, 2048^2 products on 2 threads): a 60-step training test
took 19 minutes instead of about one. So `auto` picks per machine, and what was picked is recorded.

Core layer: torch is imported only when a decision needs it (CUDA queries), never at module import.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from xadv.errors import XadvError

#: What `budget.mixed_precision` accepts: accelerate's names, plus `auto`.
TRAINING_PRECISIONS = ("auto", "no", "bf16", "fp16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bf16 natively (AMX or AVX512-BF16), from /proc/cpuinfo's flags."""
    if cpuinfo is None:
        return _this_cpu_has_native_bf16()
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"amx_bf16", "avx512_bf16"})


@functools.cache
def _this_cpu_has_native_bf16() -> bool:
    """This machine's answer, read once (config digests ask for it per training cell)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return cpu_has_native_bf16(cpuinfo)


@dataclass(frozen=True)
class Precision:
    """A resolved precision and the reason it was chosen (shown to the user and kept in model cards)."""

    name: str  # no | bf16 | fp16
    why: str


def precision_label(name: str) -> str:
    """A training precision as people read it: accelerate's `no` is fp32."""
    return "fp32" if name == "no" else name


def training_device() -> str:
    """`cuda` when torch sees a GPU, else `cpu` (training runs where accelerate puts it)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def native_bf16(device: str) -> bool:
    """Whether `device` (cpu | cuda) computes bf16 natively."""
    if device == "cpu":
        return cpu_has_native_bf16()
    import torch

    return bool(torch.cuda.is_bf16_supported())


def training_precision(requested: str, *, device: str | None = None, bf16: bool | None = None) -> Precision:
    """The mixed precision to train in for `requested` (`auto`, or a concrete one kept as given).

    auto: bf16 where the device computes it natively (CUDA with bf16, a CPU with AMX / AVX512-BF16), fp16 on
    CUDA without bf16, fp32 (`no`) on other CPUs. `device` / `bf16` replace the probes (tests, plans)."""
    if requested not in TRAINING_PRECISIONS:
        raise ValueError(f"mixed precision must be one of {', '.join(TRAINING_PRECISIONS)}, got {requested!r}")
    if requested != "auto":
        return Precision(requested, "as configured")
    device = device or training_device()
    has_bf16 = native_bf16(device) if bf16 is None else bf16
    if device != "cpu":
        return Precision("bf16", f"auto: {device} with bf16") if has_bf16 else \
            Precision("fp16", f"auto: {device} without bf16")
    if has_bf16:
        return Precision("bf16", "auto: CPU with native bf16 (AMX / AVX512-BF16)")
    return Precision("no", "auto: CPU without native bf16, where bf16 would be slower than fp32")


# --- inference ------------------------------------------------------------------------------------------------

#: What `--precision` accepts for inference (the QA engine).
INFERENCE_PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")

#: Precisions whose F1 cost on all of TyDi QA GoldP dev (5,077 questions, default model) was measured and
#: found within the bounds below, so that `auto` may pick them: {precision: benchmark result file}. Empty:
#: `benchmarks/precision_cost.py` on all of dev (native-bf16 CPU, `benchmarks/results/precision_cost.json`)
#: found bf16 0.06 F1 off overall but 1.77 off on bn. `tests/test_device.py` re-checks both against the file.
ACCEPTED: dict[str, str] = {}
MAX_OVERALL_F1_COST = 0.3  # F1 points, all questions
MAX_LANGUAGE_F1_COST = 1.0  # F1 points, any one language

TYDI_DEV_QUESTIONS = 5077
_DEVICE_KINDS = ("cpu", "cuda", "mps")


def cost_violations(result: dict) -> list[str]:
    """Why a measured precision may not be picked by `auto` ([] when it may): `result` is one precision's
    entry of `benchmarks/results/precision_cost.json` (n, overall_f1_cost, language_f1_cost: fp32 F1
    minus this precision's F1, in points; negative = better than fp32)."""
    out = []
    if result.get("n") != TYDI_DEV_QUESTIONS:
        out.append(f"measured on {result.get('n')} questions, not all {TYDI_DEV_QUESTIONS} of TyDi dev")
    overall = result.get("overall_f1_cost")
    if not isinstance(overall, (int, float)) or not overall <= MAX_OVERALL_F1_COST:
        out.append(f"overall F1 cost {overall} > {MAX_OVERALL_F1_COST}")
    worse = {lang: c for lang, c in (result.get("language_f1_cost") or {}).items()
             if not (isinstance(c, (int, float)) and c <= MAX_LANGUAGE_F1_COST)}
    if worse or not result.get("language_f1_cost"):
        out.append(f"language F1 cost over {MAX_LANGUAGE_F1_COST} (or missing): {worse}")
    return out


def check_device(requested: str) -> str:
    """`requested` if it names a device xadv can run on (auto, cpu, cuda, cuda:N, mps), else XadvError."""
    kind, colon, index = requested.partition(":")
    if requested == "auto" or (kind in _DEVICE_KINDS and not colon) or (kind == "cuda" and index.isdigit()):
        return requested
    raise XadvError(f"unknown device {requested!r} (use auto, cpu, cuda, cuda:N or mps)")


def resolve_device(requested: str = "auto") -> str:
    """The device to run on: `auto` is the first CUDA GPU, else Apple's mps, else the CPU. A device that is
    asked for but absent is an error (one line), never a silent fall-back to the CPU."""
    requested = check_device(requested)
    if requested == "cpu":
        return "cpu"
    import torch

    has_cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if requested == "auto":
        return "cuda" if has_cuda else "mps" if has_mps else "cpu"
    if requested.startswith("cuda"):
        if not has_cuda:
            raise XadvError(f"--device {requested}: torch sees no CUDA GPU here (use --device cpu or auto)")
        index = int(requested.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise XadvError(f"--device {requested}: only {torch.cuda.device_count()} CUDA device(s) here")
        return requested
    if not has_mps:
        raise XadvError("--device mps: torch sees no Apple GPU here (use --device cpu or auto)")
    return "mps"


def inference_precision(requested: str, device_kind: str, *, bf16: bool | None = None,
                        accepted: dict[str, str] | None = None) -> Precision:
    """The precision the QA engine runs in (`auto` resolved) on a device of `device_kind` (cpu | cuda | mps).

    auto picks bf16 (or fp16 on a GPU without bf16) only where the device computes it natively AND its
    F1 cost was measured within bounds (`ACCEPTED`); otherwise fp32, and the reason says why."""
    if requested not in INFERENCE_PRECISIONS:
            raise XadvError(f"unknown precision {requested!r} (use {', '.join(INFERENCE_PRECISIONS)})")
    if requested != "auto":
        return Precision(requested, "as asked")
    accepted = ACCEPTED if accepted is None else accepted
    has_bf16 = (native_bf16(device_kind) if device_kind in ("cpu", "cuda") else False) if bf16 is None else bf16
    wanted = "bf16" if has_bf16 else ("fp16" if device_kind != "cpu" else None)
    if wanted is None:
        return Precision("fp32", "auto: this CPU has no native bf16 (AMX / AVX512-BF16)")
    if wanted not in accepted:
        return Precision("fp32", f"auto: {wanted}'s F1 cost is not yet measured on all of TyDi dev "
                                 f"(benchmarks/precision_cost.py)")
    return Precision(wanted, f"auto: {wanted} on {device_kind}, F1 cost measured within bounds "
                             f"({accepted[wanted]})")
