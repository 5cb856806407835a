"""Where a run happens: the machine, the device (GPU or CPU with its bf16 support), threads, CPU time, clock."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

from xadv.device import cpu_has_native_bf16
from xadv.provenance import cpu_model, usable_cpus

cpus = usable_cpus  # one definition of "CPUs this run may use" and of the CPU's name: xadv.provenance


def device_info() -> dict[str, Any]:
    """Where training and evaluation run: cuda when torch sees a GPU, else the CPU (with its bf16 support)."""
    import torch

    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        return {"type": "cuda", "name": torch.cuda.get_device_name(0), "count": n,
                "torch": torch.__version__, "cuda": torch.version.cuda}
    return {"type": "cpu", "name": cpu_model(), "count": cpus(), "bf16_native": cpu_has_native_bf16(),
            "torch": torch.__version__}


def describe_device(dev: dict) -> str:
    if dev["type"] == "cuda":
        return f"cuda: {dev['count']} x {dev['name']} (training and evaluation on the GPU)"
    bf16 = "native bf16 (AMX/AVX512-BF16)" if dev.get("bf16_native") else "no native bf16"
    return f"cpu: {dev['count']} cores, {dev['name'] or 'unknown CPU'}, {bf16} (no GPU found)"


def machine_info() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": cpu_model(), "cpus": cpus(),
            "python": platform.python_version()}


def cpu_seconds() -> float:
    """CPU time (user + system) of this process so far: with the wall time it shows how busy the machine was."""
    import resource  # POSIX only

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def threads() -> dict[str, Any]:
    """Torch's intra-op threads (they change the trained weights slightly) and the variables that set them."""
    import torch

    return {"torch": torch.get_num_threads(),
            **{v: os.environ[v] for v in ("XADV_NUM_THREADS", "OMP_NUM_THREADS") if os.environ.get(v)}}


def load_average() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def is_main_process() -> bool:
    """Process 0 of `accelerate launch` / `torchrun` (RANK), or the only process."""
    return int(os.environ.get("RANK", "0") or 0) == 0
