"""Bootstrap confidence intervals and the paired bootstrap test, vectorised in numpy.

Every aggregate xadv reports (F1, EM, drops, robust F1, attack success rate) is a function of
means of per-example columns, so one resampling serves them all: each resample is a vector of
example counts (drawn with a seeded `numpy.random.Generator`), and the resampled means of all
columns are one matrix product. Resampling the examples jointly keeps paired quantities
(clean vs adversarial, system A vs system B on the same ids) paired.

Intervals are percentile intervals. The paired test's p-value is two-sided and comes from the
bootstrap distribution shifted to the null (Efron & Tibshirani 1993, sec. 16.4; the usual
NLP practice, Koehn 2004 / Berg-Kirkpatrick et al. 2012):
``p = (1 + #{b : |d*_b - d| >= |d|}) / (B + 1)``, where d is the observed mean difference and d*_b
the resampled ones. Identical systems give d = 0 and p = 1; the +1 keeps p above 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from xadv.errors import XadvError

if TYPE_CHECKING:
    from xadv.score.evaluate import ScoreResult

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
# More resamples than this add nothing a report can show (the Monte Carlo error of a 95% interval's end is
# already ~0.1% of its width at 1e5) and cost memory and minutes; a p-value's resolution is 1/(B+1).
MAX_RESAMPLES = 100_000
_CHUNK = 128  # resamples per matrix product: bounds memory at ~chunk x n counts


def check_resamples(n_resamples: object, what: str = "--bootstrap") -> int:
    """`n_resamples` when it is a whole number in 0..MAX_RESAMPLES (0: no intervals); XadvError otherwise."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or not 0 <= n_resamples <= MAX_RESAMPLES:
        raise XadvError(f"{what} is the number of bootstrap resamples, a whole number from 0 to {MAX_RESAMPLES}, "
                        f"got {n_resamples!r:.40}")
    return n_resamples


def bootstrap_means(columns: np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED) -> np.ndarray:
    """Resampled column means: `columns` (n, k) or (n,) -> array (n_resamples, k) or (n_resamples,).
    At most MAX_RESAMPLES (an XadvError beyond: the output alone is n_resamples x k floats)."""
    x = np.asarray(columns, dtype=np.float64)
    flat = x.ndim == 1
    x = x[:, None] if flat else x
    n = x.shape[0]
    if n == 0:
        raise XadvError("cannot bootstrap an empty set of examples")
    if n_resamples < 1:
        raise XadvError(f"bootstrap needs at least one resample, got {n_resamples}")
    check_resamples(n_resamples, "bootstrap resamples")
    rng = np.random.default_rng(seed)
    out = np.empty((n_resamples, x.shape[1]))
    for start in range(0, n_resamples, _CHUNK):
        rows = min(_CHUNK, n_resamples - start)
        draws = rng.integers(0, n, size=(rows, n))
        flat_index = (draws + (np.arange(rows) * n)[:, None]).ravel()
        counts = np.bincount(flat_index, minlength=rows * n).reshape(rows, n)
        out[start:start + rows] = counts @ x / n
    return out[:, 0] if flat else out


def percentile_interval(samples: np.ndarray, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Central `level` percentile interval of `samples`, ignoring NaN (NaN, NaN if all are NaN)."""
    if not 0 < level < 1:
        raise XadvError(f"confidence level must be between 0 and 1, got {level}")
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def mean_ci(values: np.ndarray, *, level: float = DEFAULT_LEVEL,
            n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (same units as `values`)."""
    return percentile_interval(bootstrap_means(values, n_resamples=n_resamples, seed=seed), level)


@dataclass(frozen=True)
class PairedTest:
    """Paired bootstrap comparison of A and B on the same examples (diff = A - B)."""

    metric: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    level: float
    n_resamples: int
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)


def paired_bootstrap_arrays(a: np.ndarray, b: np.ndarray, *, metric: str = "score",
                            scale: float = 1.0, level: float = DEFAULT_LEVEL,
                            n_resamples: int = DEFAULT_RESAMPLES,
                            seed: int = DEFAULT_SEED) -> PairedTest:
    """Paired bootstrap on aligned per-example scores; means and diff are multiplied by `scale`."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise XadvError(f"paired bootstrap needs two aligned 1-d arrays, got shapes {a.shape} and {b.shape}")
    d = (a - b) * scale
    observed = float(d.mean())
    resampled = bootstrap_means(d, n_resamples=n_resamples, seed=seed)
    extreme = int(np.count_nonzero(np.abs(resampled - observed) >= abs(observed)))
    low, high = percentile_interval(resampled, level)
    return PairedTest(metric=metric, n=int(a.size), mean_a=float(a.mean() * scale),
                      mean_b=float(b.mean() * scale), diff=observed, ci_low=low, ci_high=high,
                      p_value=(1 + extreme) / (n_resamples + 1), level=level,
                      n_resamples=n_resamples, seed=seed)


def paired_bootstrap(a: ScoreResult, b: ScoreResult, *, metric: str = "f1", level: float = DEFAULT_LEVEL,
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> PairedTest:
    """Is system A better than system B? Two `ScoreResult`s on the same ids, metric "f1" or "em".

    Results are aligned by id (their order may differ); the difference is in points (x 100).
    """
    if metric not in ("f1", "em"):
        raise XadvError(f"unknown metric {metric!r} for the paired test (choose f1 or em)")
    if a.mode != b.mode:
        raise XadvError(f"cannot compare results scored in different modes ({a.mode} vs {b.mode})")
    require_same_ids(a.ids, b.ids, "system A", "system B")
    b = b.subset(a.ids)
    column = "f1_scores" if metric == "f1" else "em_scores"
    return paired_bootstrap_arrays(getattr(a, column), getattr(b, column), metric=metric,
                                   scale=100.0, level=level, n_resamples=n_resamples, seed=seed)


def require_same_ids(ids_a, ids_b, name_a: str, name_b: str) -> None:
    """Raise XadvError unless the two id collections hold exactly the same ids."""
    set_a, set_b = set(ids_a), set(ids_b)
    if set_a != set_b:
        only_a = sorted(set_a - set_b)
        only_b = sorted(set_b - set_a)
        detail = (f"{len(only_a)} only in {name_a}" + (f" (first: {only_a[0]!r})" if only_a else "")
                  + f", {len(only_b)} only in {name_b}" + (f" (first: {only_b[0]!r})" if only_b else ""))
        raise XadvError(f"{name_a} and {name_b} are not scored on the same ids: {detail}")


def result_ci(result: ScoreResult, *, level: float = DEFAULT_LEVEL,
              n_resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED) -> dict[str, tuple[float, float]]:
    """Bootstrap intervals (points) of one result's aggregates: {"exact_match": .., "f1": ..}."""
    means = bootstrap_means(np.column_stack([result.em_scores, result.f1_scores]),
                            n_resamples=n_resamples, seed=seed) * 100.0
    return {"exact_match": percentile_interval(means[:, 0], level),
            "f1": percentile_interval(means[:, 1], level)}
