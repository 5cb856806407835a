"""One progress bar for every long loop (clean predictions, searches, training, perturbing a dataset).

A rich bar on stderr, transient, with elapsed and remaining time; extra `fields` show as text columns
(the training loss, tokens/s). Disabled (or stderr not a terminal when `tty_only`) it is a no-op, so
callers never branch on it. Core layer: imports rich only when a bar is actually shown.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class Bar:
    """`with Bar("predicting windows", total) as bar: bar.advance(n)`; `set_total` refines an estimate."""

    def __init__(self, label: str, total: int | None, *, enabled: bool = True, done: int = 0,
                 fields: tuple[str, ...] = (), transient: bool = True, tty_only: bool = False):
        self.enabled = enabled and (total is None or total > 0) and (not tty_only or sys.stderr.isatty())
        self._label, self._total, self._done, self._fields, self._transient = label, total, done, fields, transient
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Bar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            columns = [TextColumn(f"[bold]{self._label}[/]"), BarColumn(), MofNCompleteColumn(),
                       *(TextColumn(f"{{task.fields[{f}]}}") for f in self._fields),
                       TimeElapsedColumn(), TimeRemainingColumn()]
            self._progress = Progress(*columns, console=Console(stderr=True), transient=self._transient)
            self._progress.__enter__()
            self._task = self._progress.add_task(self._label, total=self._total, completed=self._done,
                                                 **{f: "" for f in self._fields})
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    def advance(self, n: int = 1, **fields: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=n, **fields)

    def set_total(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


def track(items: Iterable[T], total: int, label: str, *, enabled: bool = True) -> Iterator[T]:
    """Iterate with a bar (shown only on a terminal)."""
    with Bar(label, total, enabled=enabled, tty_only=True) as bar:
        for item in items:
            yield item
            bar.advance()
