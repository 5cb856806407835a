"""Clean vs adversarial scores on the same examples: drops, robust F1, attack success rate, CIs.

Definitions (all reported in points, x 100; per-example scores are in [0, 1]):

- ``f1_drop = clean_f1 - adv_f1`` and ``em_drop = clean_em - adv_em``: positive means the attack hurt.
- ``robust_f1 = mean_i min(clean_f1_i, adv_f1_i)``: an example only counts as far as the model
  answers it under *both* inputs, so an attack that happens to fix a wrong clean answer earns the
  model nothing. It is at most ``min(clean_f1, adv_f1)``; with several attacks, fold them first
  with `worst_case` (per-example minimum) and compare the clean result with that.
- attack success rate, ``asr``: among the examples the model gets *right on clean input*, the
  share it gets *wrong under attack*, with the same criterion on both sides. The criterion is
  EM = 1 by default, or F1 >= ``f1_threshold`` when one is given. The denominator (examples right
  on clean input) is reported with it; when it is 0 the ASR is undefined (None / NaN).

Every aggregate gets a percentile bootstrap interval from one joint resampling of the examples
(see `xadv.score.bootstrap`), so the intervals of clean, adversarial and their differences are
consistent with each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from xadv.errors import XadvError
from xadv.score.bootstrap import (DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_means,
                                  percentile_interval, require_same_ids)
from xadv.score.evaluate import ScoreResult

STATS: tuple[str, ...] = ("clean_f1", "adv_f1", "f1_drop", "clean_em", "adv_em", "em_drop",
                          "robust_f1", "asr")


def correct(result: ScoreResult, f1_threshold: float | None = None) -> np.ndarray:
    """Boolean per example: EM = 1, or F1 >= `f1_threshold` when a threshold is given."""
    if f1_threshold is None:
        return result.em_scores >= 1.0
    if not 0 < f1_threshold <= 1:
        raise XadvError(f"F1 threshold must be in (0, 1], got {f1_threshold}")
    return result.f1_scores >= f1_threshold


def worst_case(results: Sequence[ScoreResult]) -> ScoreResult:
    """Per-example minimum of EM and of F1 over several results on the same ids (e.g. attacks)."""
    if not results:
        raise XadvError("worst_case needs at least one result")
    first = results[0]
    aligned = [first]
    for k, other in enumerate(results[1:], start=2):
        if other.mode != first.mode:
            raise XadvError(f"result {k} was scored in {other.mode} mode, result 1 in {first.mode}")
        require_same_ids(first.ids, other.ids, "result 1", f"result {k}")
        aligned.append(other.subset(first.ids))
    missing = tuple(dict.fromkeys(i for r in aligned for i in r.missing))
    return ScoreResult(mode=first.mode, ids=first.ids, langs=first.langs,
                       em_scores=np.min([r.em_scores for r in aligned], axis=0),
                       f1_scores=np.min([r.f1_scores for r in aligned], axis=0),
                       missing=missing, unknown=())


@dataclass(frozen=True)
class Comparison:
    """Clean vs adversarial aggregates (points), ASR with its denominator, and bootstrap CIs."""

    mode: str
    n: int
    criterion: str                  # "em" or "f1>=T"
    clean_f1: float
    adv_f1: float
    f1_drop: float
    clean_em: float
    adv_em: float
    em_drop: float
    robust_f1: float
    asr: float                      # NaN when asr_denominator == 0
    asr_successes: int              # right on clean, wrong under attack
    asr_denominator: int            # right on clean
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    level: float = DEFAULT_LEVEL
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED

    def to_dict(self) -> dict:
        """JSON-ready (NaN becomes None)."""
        def clean(x: float) -> float | None:
            return None if isinstance(x, float) and math.isnan(x) else x

        out = {k: clean(getattr(self, k)) for k in ("mode", "n", "criterion", *STATS,
                                                     "asr_successes", "asr_denominator")}
        out["ci"] = {k: [clean(lo), clean(hi)] for k, (lo, hi) in self.ci.items()}
        out["bootstrap"] = {"level": self.level, "resamples": self.n_resamples, "seed": self.seed}
        return out


def stats_from_means(m: np.ndarray) -> dict[str, np.ndarray]:
    """Aggregates in points (x 100) from the means of the 7 per-question columns stacked by
    `compare` (clean F1, adv F1, clean EM, adv EM, robust F1, right on clean, flipped). Works row-wise,
    so bootstrap matrices go through the same formulas as the point estimate; ASR is NaN when 0/0."""
    f1_c, f1_a, em_c, em_a, robust, right, flipped = (m[..., j] for j in range(7))
    with np.errstate(invalid="ignore", divide="ignore"):
        asr = np.where(right > 0, flipped / np.where(right > 0, right, 1), np.nan)
    return {"clean_f1": 100 * f1_c, "adv_f1": 100 * f1_a, "f1_drop": 100 * (f1_c - f1_a),
            "clean_em": 100 * em_c, "adv_em": 100 * em_a, "em_drop": 100 * (em_c - em_a),
            "robust_f1": 100 * robust, "asr": 100 * asr}


def compare(clean: ScoreResult, adv: ScoreResult, *, f1_threshold: float | None = None,
            level: float = DEFAULT_LEVEL, n_resamples: int = DEFAULT_RESAMPLES,
            seed: int = DEFAULT_SEED) -> Comparison:
    """Compare clean and adversarial results on the same ids (aligned by id; order may differ).

    `f1_threshold` None: ASR criterion EM = 1; otherwise F1 >= threshold. `n_resamples` 0 skips CIs.
    """
    if clean.mode != adv.mode:
        raise XadvError(f"clean was scored in {clean.mode} mode, adversarial in {adv.mode}")
    require_same_ids(clean.ids, adv.ids, "clean", "adversarial")
    if clean.n == 0:
        raise XadvError("nothing to compare: the clean result has no examples")
    adv = adv.subset(clean.ids)
    right_clean = correct(clean, f1_threshold)
    flipped = right_clean & ~correct(adv, f1_threshold)
    columns = np.column_stack([clean.f1_scores, adv.f1_scores, clean.em_scores, adv.em_scores,
                               np.minimum(clean.f1_scores, adv.f1_scores), right_clean, flipped])
    point = {k: float(v) for k, v in stats_from_means(columns.mean(axis=0)).items()}
    ci: dict[str, tuple[float, float]] = {}
    if n_resamples:
        resampled = stats_from_means(bootstrap_means(columns, n_resamples=n_resamples, seed=seed))
        ci = {k: percentile_interval(v, level) for k, v in resampled.items()}
    return Comparison(mode=clean.mode, n=clean.n,
                      criterion="em" if f1_threshold is None else f"f1>={f1_threshold:g}",
                      **point, asr_successes=int(flipped.sum()),
                      asr_denominator=int(right_clean.sum()), ci=ci, level=level,
                      n_resamples=n_resamples, seed=seed)
