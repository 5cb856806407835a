"""Which precision a model runs in here: one decision, shared by training and (next) inference.

bf16 is only fast where the hardware computes it natively: on a CPU with AMX or AVX512-BF16 bf16 GEMMs
run several times faster than fp32 (measured 2,800 vs 418 GFLOP/s on a 2-core Xeon with AMX), but on a
CPU without them (AVX2 only, e.g. many AMD EPYC hosts) torch falls back to a scalar bf16 path that is far
*slower* than fp32 (measured 0-12 vs 62 GFLOP/s, 2048^2 products on 2 threads): a 60-step training test
took 19 minutes instead of about one. So `auto` picks per machine, and what was picked is recorded.

Core layer: torch is imported only when a decision needs it (CUDA queries), never at module import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: What `budget.mixed_precision` accepts: accelerate's names, plus `auto`.
TRAINING_PRECISIONS = ("auto", "no", "bf16", "fp16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bf16 natively (AMX or AVX512-BF16), from /proc/cpuinfo's flags."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"amx_bf16", "avx512_bf16"})


@dataclass(frozen=True)
class Precision:
    """A resolved precision and the reason it was chosen (shown to the user and kept in model cards)."""

    name: str  # no | bf16 | fp16
    why: str


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
