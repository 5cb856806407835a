"""The ASR criterion: when an answer counts as *right*, so that an attack has something to flip.

Three criteria, one spelling each (what records, cell keys, the leaderboard and `--f1-threshold`
share; `Criterion.parse(c.format()) == c` and `Criterion.parse(s).format() == s` for every canonical
`s`):

| text      | right when  | used by                                                  |
|-----------|-------------|----------------------------------------------------------|
| `em`      | EM = 1      | static attacks (default), search goal `em-flip`          |
| `f1>=T`   | F1 >= T     | `--f1-threshold T`, search goal `f1-below:T`, T in (0, 1] |
| `f1>0`    | F1 > 0      | search goal `f1-zero` (success: no answer token left)    |

Records written before this module spelled `f1>0` as `f1>=1e-09`; `parse` reads that as `f1>0`
(F1 values are 0 or at least 1/(answer tokens), so the two never differ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xadv.errors import XadvError

EM, F1_AT_LEAST, F1_POSITIVE = "em", "f1>=", "f1>0"
_LEGACY_POSITIVE = 1e-9  # how `f1>0` was written before (f1>=1e-09)


@dataclass(frozen=True)
class Criterion:
    """`kind` is "em", "f1>=" (with `threshold` in (0, 1]) or "f1>0"; build with the class methods."""

    kind: str = EM
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.kind == F1_AT_LEAST:
            t = self.threshold
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 < t <= 1:
                raise XadvError(f"F1 threshold must be a number in (0, 1], got {t!r}")
            object.__setattr__(self, "threshold", float(t))
        elif self.kind in (EM, F1_POSITIVE):
            if self.threshold is not None:
                raise XadvError(f"criterion {self.kind!r} takes no threshold")
        else:
            raise XadvError(f"unknown ASR criterion kind {self.kind!r} (em, f1>= or f1>0)")

    @classmethod
    def exact_match(cls) -> Criterion:
        return cls(EM)

    @classmethod
    def f1_at_least(cls, threshold: float) -> Criterion:
        return cls(F1_AT_LEAST, threshold)

    @classmethod
    def f1_positive(cls) -> Criterion:
        return cls(F1_POSITIVE)

    @classmethod
    def from_threshold(cls, threshold: float | None) -> Criterion:
        """`--f1-threshold`: None is exact match, T is F1 >= T."""
        return cls.exact_match() if threshold is None else cls.f1_at_least(threshold)

    @classmethod
    def parse(cls, text: str | Criterion) -> Criterion:
        """`em`, `f1>=T` or `f1>0` (and the legacy `f1>=1e-09`); XadvError naming the text otherwise."""
        if isinstance(text, Criterion):
            return text
        s = str(text).strip()
        if s == EM:
            return cls.exact_match()
        if s == F1_POSITIVE:
            return cls.f1_positive()
        if s.startswith(F1_AT_LEAST):
            try:
                t = float(s[len(F1_AT_LEAST):])
            except ValueError:
                t = math.nan
            if t == _LEGACY_POSITIVE:
                return cls.f1_positive()
            if math.isfinite(t) and 0 < t <= 1:
                return cls.f1_at_least(t)
        raise XadvError(f"unknown ASR criterion {s!r} (expected 'em', 'f1>=T' with T in (0, 1], or 'f1>0')")

    def format(self) -> str:
        """The one spelling records and cell keys use (`f1>=0.5`; exact for any threshold)."""
        if self.kind != F1_AT_LEAST:
            return self.kind
        t = float(self.threshold)  # type: ignore[arg-type]
        short = f"{t:g}"
        return F1_AT_LEAST + (short if float(short) == t else repr(t))

    def __str__(self) -> str:
        return self.format()

    def right(self, em: np.ndarray, f1: np.ndarray) -> np.ndarray:
        """Boolean per example: does this (EM, F1) count as answered right?"""
        if self.kind == EM:
            return np.asarray(em) >= 1.0
        if self.kind == F1_POSITIVE:
            return np.asarray(f1) > 0.0
        return np.asarray(f1) >= self.threshold

    def describe(self) -> str:
        """Human words for reports: "EM = 1", "F1 >= 0.5", "F1 > 0"."""
        return {EM: "EM = 1", F1_POSITIVE: "F1 > 0"}.get(self.kind) or f"F1 >= {self.format()[4:]}"
