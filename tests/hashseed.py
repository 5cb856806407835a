"""Run one script under several PYTHONHASHSEED values at once (the processes are single-threaded Python, so
on two cores two of them take the time of one) and return each one's stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def outputs_per_hash_seed(script: str, args: list[str], seeds: tuple[str, ...], *, cwd: Path,
                          timeout: float = 900, env: dict[str, str] | None = None) -> dict[str, str]:
    procs = {}
    for seed in seeds:
        procs[seed] = subprocess.Popen([sys.executable, "-c", script, *args], cwd=cwd, text=True,
                                       env={**os.environ, **(env or {}), "PYTHONHASHSEED": seed},
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = {}
    for seed, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, stderr[-3000:]
        out[seed] = stdout.strip()
    return out
