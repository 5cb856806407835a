"""Clean vs adversarial scores on the same examples: drops, robust F1, attack success rate, CIs.

Definitions (all reported in points, x 100; per-example scores are in [0, 1]):

- ``f1_drop = clean_f1 - adv_f1`` and ``em_drop = clean_em - adv_em``: positive means the attack hurt.
- ``robust_f1 = mean_i min(clean_f1_i, adv_f1_i)``: an example only counts as far as the model
  answers it under *both* inputs, so an attack that happens to fix a wrong clean answer earns the
  model nothing. It is at most ``min(clean_f1, adv_f1)``; with several attacks, fold them first
  with `worst_case` (per-example minimum) and compare the clean result with that.
- attack success rate, ``asr``: among the examples the model gets *right on clean input*, the
  share it gets *wrong under attack*, with the same criterion on both sides. The criterion
  (`xadv.score.criterion.Criterion`) is EM = 1 by default, F1 >= T, or F1 > 0. The denominator (examples right
  on clean input) is reported with it; when it is 0 the ASR is undefined (None / NaN).

Every aggregate gets a percentile bootstrap interval from one joint resampling of the examples
(see `xadv.score.bootstrap`), so the intervals of clean, adversarial and their differences are
consistent with each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xadv.errors import XadvError
from xadv.score.bootstrap import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bootstrap_means,
    percentile_interval,
    require_same_ids,
)
from xadv.score.criterion import Criterion
from xadv.score.evaluate import GoldAnswers, ScoreResult, score_predictions

STATS: tuple[str, ...] = ("clean_f1", "adv_f1", "f1_drop", "clean_em", "adv_em", "em_drop",
                          "robust_f1", "asr")


def correct(result: ScoreResult, criterion: Criterion = Criterion()) -> np.ndarray:
    """Boolean per example: right under `criterion` (default EM = 1)."""
    return criterion.right(result.em_scores, result.f1_scores)


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
    criterion: str                  # `Criterion.format()`: "em", "f1>=T" or "f1>0"
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

        out: dict[str, Any] = {k: clean(getattr(self, k)) for k in ("mode", "n", "criterion", *STATS,
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


def compare(clean: ScoreResult, adv: ScoreResult, *, criterion: Criterion = Criterion(),
            level: float = DEFAULT_LEVEL, n_resamples: int = DEFAULT_RESAMPLES,
            seed: int = DEFAULT_SEED) -> Comparison:
    """Compare clean and adversarial results on the same ids (aligned by id; order may differ).

    `criterion`: when an answer counts as right (default EM = 1). `n_resamples` 0 skips CIs.
    """
    if clean.mode != adv.mode:
        raise XadvError(f"clean was scored in {clean.mode} mode, adversarial in {adv.mode}")
    require_same_ids(clean.ids, adv.ids, "clean", "adversarial")
    if clean.n == 0:
        raise XadvError("nothing to compare: the clean result has no examples")
    adv = adv.subset(clean.ids)
    right_clean = correct(clean, criterion)
    flipped = right_clean & ~correct(adv, criterion)
    columns = np.column_stack([clean.f1_scores, adv.f1_scores, clean.em_scores, adv.em_scores,
                               np.minimum(clean.f1_scores, adv.f1_scores), right_clean, flipped])
    point = {k: float(v) for k, v in stats_from_means(columns.mean(axis=0)).items()}
    ci: dict[str, tuple[float, float]] = {}
    if n_resamples:
        resampled = stats_from_means(bootstrap_means(columns, n_resamples=n_resamples, seed=seed))
        ci = {k: percentile_interval(v, level) for k, v in resampled.items()}
    return Comparison(mode=clean.mode, n=clean.n,
                      criterion=criterion.format(),
                      **point, asr_successes=int(flipped.sum()),
                      asr_denominator=int(right_clean.sum()), ci=ci, level=level,
                      n_resamples=n_resamples, seed=seed)


@dataclass(frozen=True)
class CellScores:
    """One attack cell scored: the comparison and both sides per example ({id: (EM, F1)})."""

    comparison: Comparison
    clean: dict[str, tuple[float, float]]
    adv: dict[str, tuple[float, float]]


def score_cell(gold: GoldAnswers, clean: ScoreResult, adv_texts: dict[str, str], *,
               criterion: Criterion = Criterion(), n_resamples: int = DEFAULT_RESAMPLES,
               seed: int = DEFAULT_SEED) -> CellScores:
    """Score adversarial predictions against `gold` (which `clean` was scored on), and compare.

    The one scoring path of every attack cell, static or search: the leaderboard recomputes exactly
    this from the per-example outcomes a record stores."""
    adv = score_predictions(gold, adv_texts, mode=clean.mode)
    cmp = compare(clean, adv, criterion=criterion, n_resamples=n_resamples, seed=seed)
    return CellScores(cmp, clean.per_example(), adv.per_example())
