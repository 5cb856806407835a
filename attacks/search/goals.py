"""QA goals for adversarial search: when an attack has succeeded, and how close a candidate is.

Three goals, named as on the command line:

- ``em-flip``: the model answered exactly right (EM = 1) and no longer does;
- ``f1-below:T``: clean F1 >= T, adversarial F1 < T (``f1-below:0.5``);
- ``f1-zero``: clean F1 > 0, adversarial F1 = 0 (no answer token left: the strict success of
  Bumblebee-style attacks).

An example the model already gets wrong on clean input is *skipped* (it cannot be flipped) and stays
out of the ASR denominator, exactly as `xadv.score.compare` counts it.

The score a search maximises is ``3·met + (1 − F1)``, plus, when *loss-guided*, a squashed drop in the
gold-span log-probability ``d/(1+|d|)`` with ``d = log p_clean(gold) − log p_adv(gold)`` (nats). The
drop is what TextAttack issue #261 proposes for QA: F1 and EM are flat until the answer moves, while
the gold span's probability falls with every useful edit, so a greedy search can tell a useful first
edit from a useless one. The 3·met term keeps every successful candidate above every unsuccessful one
(the other two terms stay within (−1, 2)). Pure Python; no TextAttack needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xadv.errors import XadvError
from xadv.score.criterion import Criterion

GOAL_KINDS = ("em-flip", "f1-below", "f1-zero")


@dataclass(frozen=True)
class Goal:
    kind: str
    threshold: float | None = None  # f1-below only

    @property
    def name(self) -> str:
        return f"f1-below:{self.threshold:g}" if self.kind == "f1-below" else self.kind

    def right(self, em: float, f1: float) -> bool:
        """Does this (EM, F1) count as answered right (so that the attack has something to flip)?"""
        if self.kind == "em-flip":
            return em >= 1.0
        if self.kind == "f1-below":
            return f1 >= self.threshold  # type: ignore[operator]
        return f1 > 0.0

    def met(self, em: float, f1: float) -> bool:
        """Has the attack succeeded on this adversarial (EM, F1)?"""
        return not self.right(em, f1)

    def score(self, em: float, f1: float, logprob_drop: float | None = None, guided: bool = False) -> float:
        """Higher is closer to the goal; every met candidate scores above every unmet one."""
        s = 3.0 * self.met(em, f1) + (1.0 - f1)
        if guided and logprob_drop is not None and not math.isnan(logprob_drop):
            s += squash(logprob_drop)
        return s

    @property
    def criterion(self) -> Criterion:
        """The ASR criterion equivalent to `right`: em, f1>=T or f1>0 (records and `compare` use it)."""
        if self.kind == "em-flip":
            return Criterion.exact_match()
        if self.kind == "f1-below":
            return Criterion.f1_at_least(self.threshold)  # type: ignore[arg-type]
        return Criterion.f1_positive()


def squash(d: float) -> float:
    """Map a log-probability drop to (−1, 1), monotonically (+inf -> 1)."""
    if math.isinf(d):
        return 1.0 if d > 0 else -1.0
    return d / (1.0 + abs(d))


def parse_goal(spec: str | Goal) -> Goal:
    """`em-flip`, `f1-below:0.5` or `f1-zero` -> Goal; XadvError naming the spec otherwise."""
    if isinstance(spec, Goal):
        return spec
    text = str(spec).strip().lower()
    kind, sep, arg = text.partition(":")
    if kind not in GOAL_KINDS:
        raise XadvError(f"unknown search goal {spec!r} (use em-flip, f1-below:T such as f1-below:0.5, or f1-zero)")
    if kind == "f1-below":
        if not sep:
            raise XadvError(f"goal {spec!r} needs a threshold: f1-below:0.5")
        try:
            t = float(arg)
        except ValueError:
            raise XadvError(f"goal {spec!r}: threshold {arg!r} is not a number") from None
        if not 0.0 < t <= 1.0:
            raise XadvError(f"goal {spec!r}: the F1 threshold must be in (0, 1]")
        return Goal("f1-below", t)
    if sep:
        raise XadvError(f"goal {kind!r} takes no argument (got {spec!r})")
    return Goal(kind)
