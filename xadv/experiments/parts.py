"""The parts a resumed run was made in: one entry per invocation of the grid, written as it goes.

A grid of 30 CPU-hours runs in many sittings, some stopped by a session's end. run.json must still say how
each number was made (issue #21: "wall time of each resumed part"), so every invocation appends a part to
`parts.json` in the run's ledger (`<results>/ledger/`, committed, so a lost machine keeps it) and rewrites it
after each cell: a part that was killed keeps its
start, its last progress and the cells it finished; one that ran to the end is marked finished."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xadv.experiments.machine import load_average, now
from xadv.experiments.store import read_json, write_json

PARTS_FILE = "parts.json"  # in the ledger directory, beside the finished models' entries


@dataclass
class RunPart:
    """One invocation: when, from which code, on what, and which cells it trained and evaluated."""

    started: str
    last: str  # the time of its last progress (its end, when finished)
    wall_seconds: float
    command: str
    git_commit: str | None
    cpu: str | None
    device: str
    threads: int | None
    trained: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    finished: bool = False
    load_average: list[float] | None = None  # 1/5/15-minute load at its last progress: was the CPU its own?

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunPart:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class PartsLog:
    """`parts.json`: the earlier parts (read once) and the current one, saved after every change."""

    def __init__(self, path: Path, part: RunPart):
        self.path = path
        raw = read_json(path, [])
        self.parts = [RunPart.from_dict(d) for d in raw if isinstance(d, dict) and "started" in d] \
            if isinstance(raw, list) else []
        self.current = part
        self._t0 = time.perf_counter()
        self.parts.append(part)
        self.save()

    def save(self, *, trained: str | None = None, evaluated: str | None = None, finished: bool = False) -> None:
        if trained:
            self.current.trained.append(trained)
        if evaluated:
            self.current.evaluated.append(evaluated)
        self.current.finished = self.current.finished or finished
        self.current.last = now()
        load = load_average()
        self.current.load_average = [round(x, 2) for x in load] if load else None
        self.current.wall_seconds = round(time.perf_counter() - self._t0, 1)
        write_json(self.path, self.to_list())

    def to_list(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.parts]

    @contextmanager
    def recording(self) -> Iterator[PartsLog]:
        """Inside the block a SIGTERM (a session's end, `kill`) ends the process through SystemExit, so that on
        every way out, killed, interrupted or failed, the part is saved with its last moment and wall time."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            yield self
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if not self.current.finished:
                self.save()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
