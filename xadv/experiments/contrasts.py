"""Pre-registered contrasts of the v2 experiment (benchmarks/experiment-v2.md, section 7): pure statistics.

v1 averaged seeds before resampling questions, so seed noise never entered its intervals (issue #21). Here
every arm is a stack of per-seed, per-question scores, and the bootstrap resamples both levels: seeds
within each arm (independently: arms do not share seeds' randomness), then questions (one draw of question
indices per language, shared by every arm, so the comparison stays paired). An estimate is the macro mean
over languages (each language weighs the same) of the mean over seeds and questions; a contrast compares
the average of one set of arms with the average of another (`C5`: mean of the QA arms - B+).

p-values are two-sided bootstrap tail shares (never below 1 / (R + 1)), adjusted across the family by Holm;
the minimum detectable effect is read from the bootstrap SE; a contrast whose 90 % interval lies within the
equivalence bounds is "equivalent", one that is neither significant after Holm nor equivalent is
"unresolved".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from xadv.errors import XadvError

N_RESAMPLES = 10_000
ALPHA = 0.05
POWER = 0.8
EQUIVALENCE = 2.0  # F1 points


@dataclass(frozen=True)
class Arm:
    """One arm's scores: per language, a (seeds x questions) array; the question order of a language is the
    same in every arm (the registered sample, sorted)."""

    name: str
    scores: Mapping[str, np.ndarray]

    def seeds(self) -> int:
        return next(iter(self.scores.values())).shape[0]

    def macro(self) -> float:
        return float(np.mean([s.mean() for s in self.scores.values()]))


@dataclass(frozen=True)
class Contrast:
    """`plus` arms averaged minus `minus` arms averaged, under a registered id (C1 ... C6)."""

    id: str
    plus: tuple[str, ...]
    minus: tuple[str, ...]

    @property
    def label(self) -> str:
        def side(names: tuple[str, ...]) -> str:
            return names[0] if len(names) == 1 else f"mean({', '.join(names)})"

        return f"{side(self.plus)} - {side(self.minus)}"


@dataclass(frozen=True)
class ContrastResult:
    id: str
    label: str
    estimate: float
    ci95: tuple[float, float]
    ci90: tuple[float, float]
    se: float
    p: float
    p_holm: float
    mde: float  # 80 % power, two-sided alpha, before multiplicity
    mde_holm: float  # the same at the first Holm step (alpha / family size)
    verdict: str  # significant | equivalent | unresolved

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _check(arms: Mapping[str, Arm]) -> list[str]:
    """The languages, checked to be the same questions (shapes) in every arm."""
    if not arms:
        raise XadvError("no arms to compare")
    first = next(iter(arms.values()))
    langs = sorted(first.scores)
    for arm in arms.values():
        if sorted(arm.scores) != langs:
            raise XadvError(f"arm {arm.name}: languages {sorted(arm.scores)} differ from {langs}")
        for lang in langs:
            if arm.scores[lang].ndim != 2 or arm.scores[lang].shape[1] != first.scores[lang].shape[1]:
                raise XadvError(f"arm {arm.name}/{lang}: {arm.scores[lang].shape} is not seeds x the "
                                f"{first.scores[lang].shape[1]} questions of the other arms")
            if arm.scores[lang].shape[0] != arm.seeds():
                raise XadvError(f"arm {arm.name}: languages have different numbers of seeds")
    return langs


def bootstrap_macros(arms: Mapping[str, Arm], *, n_resamples: int = N_RESAMPLES,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Per arm, `n_resamples` macro estimates under the two-level bootstrap (seeds, then shared questions)."""
    langs = _check(arms)
    rng = np.random.default_rng(seed)
    q_idx = {lang: rng.integers(0, next(iter(arms.values())).scores[lang].shape[1],
                                size=(n_resamples, next(iter(arms.values())).scores[lang].shape[1]))
             for lang in langs}
    out = {}
    for name in sorted(arms):  # a fixed order: the draws do not depend on how the caller ordered the arms
        arm = arms[name]
        k = arm.seeds()
        s_idx = rng.integers(0, k, size=(n_resamples, k))
        per_lang = []
        for lang in langs:
            scores = np.asarray(arm.scores[lang], dtype=np.float64)
            # mean over the resampled questions, per seed: (seeds, resamples)
            per_seed = np.stack([row[q_idx[lang]].mean(axis=1) for row in scores])
            per_lang.append(np.take_along_axis(per_seed.T, s_idx, axis=1).mean(axis=1))
        out[name] = np.mean(per_lang, axis=0)
    return out


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def mde_factor(alpha: float, power: float = POWER) -> float:
    """(z_{1-alpha/2} + z_{power}): the MDE in units of the estimate's standard error."""
    z = NormalDist().inv_cdf
    return z(1 - alpha / 2) + z(power)


def run_contrasts(arms: Mapping[str, Arm], contrasts: Sequence[Contrast], *, n_resamples: int = N_RESAMPLES,
                  seed: int = 0, alpha: float = ALPHA, bound: float = EQUIVALENCE) -> list[ContrastResult]:
    """Every contrast's estimate, intervals, p (raw and Holm over `contrasts`), MDE and verdict."""
    for c in contrasts:
        for name in (*c.plus, *c.minus):
            if name not in arms:
                raise XadvError(f"contrast {c.id}: no arm {name!r} (arms: {', '.join(sorted(arms))})")
    boots = bootstrap_macros(arms, n_resamples=n_resamples, seed=seed)
    rows = []
    for c in contrasts:
        diff = (np.mean([boots[n] for n in c.plus], axis=0) - np.mean([boots[n] for n in c.minus], axis=0))
        estimate = float(np.mean([arms[n].macro() for n in c.plus]) - np.mean([arms[n].macro() for n in c.minus]))
        tail = min(float(np.mean(diff <= 0)), float(np.mean(diff >= 0)))
        p = max(min(1.0, 2 * tail), 1 / (n_resamples + 1))
        rows.append((c, estimate, diff, p))
    adjusted = holm([p for *_, p in rows])
    se_factor, holm_factor = mde_factor(alpha), mde_factor(alpha / max(1, len(contrasts)))
    out = []
    for (c, estimate, diff, p), p_adj in zip(rows, adjusted):
        lo95, hi95, lo90, hi90 = (float(x) for x in np.percentile(diff, [2.5, 97.5, 5, 95]))
        ci95, ci90 = (lo95, hi95), (lo90, hi90)
        se = float(np.std(diff, ddof=1))
        verdict = ("significant" if p_adj < alpha else
                   "equivalent" if -bound < ci90[0] and ci90[1] < bound else "unresolved")
        out.append(ContrastResult(c.id, c.label, estimate, ci95, ci90, se, p, p_adj, se_factor * se,
                                  holm_factor * se, verdict))
    return out


def residualised(arms: Mapping[str, Arm], covariate: Mapping[str, Arm]) -> dict[str, Arm]:
    """Effective robustness: each arm's scores minus the linear prediction from its covariate (clean F1),
    the line fitted once over every arm, seed and question (per language: languages differ in level)."""
    langs = _check(arms)
    _check(covariate)
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in arms}
    for lang in langs:
        y = np.concatenate([np.ravel(arms[n].scores[lang]) for n in sorted(arms)])
        x = np.concatenate([np.ravel(covariate[n].scores[lang]) for n in sorted(arms)])
        slope, intercept = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
        for name in arms:
            out[name][lang] = arms[name].scores[lang] - (slope * covariate[name].scores[lang] + intercept)
    return {name: Arm(name, scores) for name, scores in out.items()}


def jointly_correct(flipped: Mapping[str, Arm], right: Mapping[str, Arm], contrast: Contrast
                    ) -> tuple[dict[str, Arm], dict[str, int]]:
    """Endpoint 3 (plan amendment 4): the contrast's arms restricted, per language, to the questions that
    every seed of every arm in the contrast answers right on clean input; returns (those arms, the number
    of such questions per language). Languages with none are left out of the arms (and the macro) and
    counted as 0. The set is fixed from the observed seeds: the bootstrap then resamples seeds' flip scores
    on it, so intervals are conditional on the set."""
    names = (*contrast.plus, *contrast.minus)
    for name in names:
        if name not in flipped or name not in right:
            raise XadvError(f"contrast {contrast.id}: no arm {name!r}")
    langs = _check({n: flipped[n] for n in names})
    _check({n: right[n] for n in names})
    keep = {lang: np.all([np.all(np.asarray(right[n].scores[lang], dtype=bool), axis=0) for n in names], axis=0)
            for lang in langs}
    sizes = {lang: int(k.sum()) for lang, k in keep.items()}
    arms = {n: Arm(n, {lang: np.asarray(flipped[n].scores[lang])[:, keep[lang]] for lang in langs if sizes[lang]})
            for n in names}
    return arms, sizes


def run_flip_contrasts(flipped: Mapping[str, Arm], right: Mapping[str, Arm], contrasts: Sequence[Contrast], *,
                       n_resamples: int = N_RESAMPLES, seed: int = 0
                       ) -> list[tuple[ContrastResult | None, dict[str, int]]]:
    """Per contrast, on its own jointly-correct questions: the flip-rate difference (a family of one: the
    plan reports it uncorrected, as a secondary endpoint) and the set's size per language; None when no
    language has a jointly-correct question."""
    out = []
    for c in contrasts:
        arms, sizes = jointly_correct(flipped, right, c)
        if not any(sizes.values()):
            out.append((None, sizes))
            continue
        [result] = run_contrasts(arms, [c], n_resamples=n_resamples, seed=seed)
        out.append((result, sizes))
    return out


#: The registered family (benchmarks/experiment-v2.md, section 7), in the grid's group names (`mix-task`).
REGISTERED = (
    Contrast("C1", ("mixed-qa",), ("en-qa",)),
    Contrast("C2", ("mixed-qa",), ("multi-qa",)),
    Contrast("C3", ("mixed-nli",), ("en-nli",)),
    Contrast("C4", ("mixed-nli",), ("multi-nli",)),
    Contrast("C5", ("en-qa", "multi-qa", "mixed-qa"), ("baseline-plus",)),
    Contrast("C6", ("en-nli", "multi-nli", "mixed-nli"), ("baseline",)),
)
