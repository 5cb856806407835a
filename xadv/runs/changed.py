"""How much of a cell the attack actually changed, and its success rate over the changed examples only.

An attack that changes nothing cannot succeed: `diacritics` on Russian text without ё or stress marks
changes 0 of 200 questions and reported ASR 0.0 [0, 0], which reads as "robust". Every figure here is
derived from the record's per-example outcomes (an example is changed when its question or context
differs), so it needs no trust beyond the record's own checks and holds for records of every version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xadv.runs.record import AttackRecord
from xadv.score.criterion import Criterion

#: A cell where fewer than this share of the examples changed is a no-op cell: warned about and marked.
NOOP_SHARE = 0.5


@dataclass(frozen=True)
class ChangedStats:
    """`changed` of `n` examples differ from the clean input; ASR over those only (right on clean input
    and changed: `denominator`; of them wrong under attack: `successes`)."""

    n: int
    changed: int
    successes: int
    denominator: int
    reverted: int = 0  # left unchanged because every draw fell below --min-similarity
    similarity_mean: float | None = None  # mean question similarity where it was measured

    @property
    def share(self) -> float:
        return self.changed / self.n if self.n else 0.0

    @property
    def asr(self) -> float | None:
        """Percent; None when no changed example was right on clean input."""
        return 100.0 * self.successes / self.denominator if self.denominator else None

    @property
    def noop(self) -> bool:
        return self.share < NOOP_SHARE

    def to_dict(self) -> dict:
        return {"n": self.n, "changed": self.changed, "share": round(self.share, 4), "noop": self.noop,
                "asr_changed": None if self.asr is None else round(self.asr, 4),
                "asr_changed_successes": self.successes, "asr_changed_denominator": self.denominator,
                "reverted": self.reverted, "similarity_mean": self.similarity_mean}

    def warning(self, label: str) -> str | None:
        """The one-line warning for a no-op cell (None otherwise)."""
        if not self.noop:
            return None
        return (f"{label}: the attack changed only {self.changed} of {self.n} examples ({100 * self.share:.0f} %), "
                f"so its ASR says little about robustness (ASR over the changed ones: "
                f"{'n/a' if self.asr is None else f'{self.asr:.1f}'})"
                + (f"; {self.reverted} left unchanged by --min-similarity" if self.reverted else ""))


def changed_stats(record: AttackRecord) -> ChangedStats:
    """The changed share and ASR over changed examples of one record, from its outcomes; for a search,
    over the examples it attacked (those right on clean input; the rest are skipped by design)."""
    ex = record.examples
    if record.cell.search is not None:  # a search leaves questions wrong on clean input alone (skipped)
        ex = tuple(e for e in ex if e.search is None or e.search.status != "skipped")
    changed = np.array([e.adv_question is not None or e.context_changed for e in ex], dtype=bool)
    criterion = Criterion.parse(record.cell.criterion)
    right_clean = criterion.right(np.array([e.clean_em for e in ex], dtype=float),
                                  np.array([e.clean_f1 for e in ex], dtype=float))
    right_adv = criterion.right(np.array([e.adv_em for e in ex], dtype=float),
                                np.array([e.adv_f1 for e in ex], dtype=float))
    base = right_clean & changed
    sims = [e.similarity for e in ex if e.similarity is not None]
    return ChangedStats(n=len(ex), changed=int(changed.sum()), successes=int((base & ~right_adv).sum()),
                        denominator=int(base.sum()), reverted=sum(1 for e in ex if e.reverted),
                        similarity_mean=round(float(np.mean(sims)), 4) if sims else None)
