"""Where a number came from: one `Provenance.capture()` for records, model cards and experiment runs.

A result is only comparable with another when both say which code (xadv version, git commit), which
software (Python, torch, transformers, ...), which machine and how many threads produced it. Captured
in one place so the five writers of provenance cannot drift apart. Core layer: standard library only
(torch's version is read from package metadata, never by importing torch).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from xadv.io import git_commit
from xadv.version import __version__

#: The packages whose versions change results (training and inference stacks).
PACKAGES = ("torch", "transformers", "accelerate", "peft", "datasets", "tokenizers")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when absent), from metadata: nothing is imported."""
    out: dict[str, str | None] = {}
    for dist in names:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def usable_cpus() -> int | None:
    """CPUs this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count()


def cpu_model() -> str | None:
    """The processor's marketing name (Linux /proc/cpuinfo), else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def now_utc() -> str:
    """The current time as records write it: ISO 8601, UTC, whole seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def software_versions() -> dict[str, Any]:
    """xadv, git commit, Python and `PACKAGES` in one flat dict (the model card's `software`)."""
    return {"xadv": __version__, "git_commit": git_commit(), "python": platform.python_version(),
            **package_versions()}


@dataclass(frozen=True)
class Provenance:
    """Code, software, machine and time of one result; `device` and `threads` are what the caller ran on."""

    xadv_version: str
    git_commit: str | None
    python: str
    packages: dict[str, str | None]
    machine: str
    cpu: str | None
    cpus: int | None
    created: str
    device: str = "cpu"
    threads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def capture(cls, *, device: str = "cpu", threads: int | None = None, **extra: Any) -> Provenance:
        return cls(xadv_version=__version__, git_commit=git_commit(), python=platform.python_version(),
                   packages=package_versions(), machine=platform.machine(), cpu=cpu_model(), cpus=usable_cpus(),
                   created=now_utc(), device=str(device), threads=threads, extra=dict(extra))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        return {**d, **extra}
