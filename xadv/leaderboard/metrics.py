"""Robustness beyond accuracy: flip rate on jointly-correct questions, worst case over attacks, effective robustness.

Across models, robust F1 tracks clean F1 closely (on the committed 13-model experiment, robust F1 =
0.69 x clean F1 + 5.8, r = 0.988), so ranking by it mostly ranks by clean accuracy. The three numbers
here separate robustness from accuracy; all are pure functions of the per-question outcomes the
leaderboard already recomputed (`Row.columns`, `Entry` arrays), and every interval comes from
`xadv.score.bootstrap` (seeded, so the same input gives the same numbers).

- **Flip rate on jointly-correct questions** (`joint_flips`). For one cell (language, attack, target,
  strength, parameters, search settings, data sha256, scorer mode, criterion; `Row.cell`), take the
  questions that *every* model with that cell answers right on clean input (the record's criterion), and
  per model the share of those the attack makes wrong (seeds of a cell averaged per question). All models
  are judged on the same questions, so a more accurate model is not charged for questions only it got
  right. The intervals come from one joint resampling of those questions for all models (paired).
  With one model the jointly-correct set is its own clean-right set, and the flip rate equals its ASR.
  Cells over different data never share a `Row.cell`; ids are intersected as well. An empty intersection
  gives no rate, and fewer than `TINY_JOINT` questions a note saying so.
- **Worst case over attacks** (`worst_cases`, HELM's worst-case robustness). For a model and language (on
  one data sha256, scorer mode and criterion), a question counts as right only if it is right on clean
  input and under every perturbation in the set: each seed of each attack cell that every model of the
  board has in that language (the common set, so models are compared over the same attacks).
  Worst-case F1 is the mean over questions of min(clean F1, adversarial F1 of every perturbation);
  with one attack and one seed it equals robust F1.
- **Effective robustness** (`effective_fits`). Per cell (`Row.cell`: the same questions and the same attack
  for every point), a least-squares line of adversarial F1 on clean F1 across the models that have the
  cell; a row's effective robustness is its adversarial F1 minus the line's prediction at its clean F1
  (points; positive = more robust than its accuracy predicts). With fewer than `MIN_FIT_MODELS` models,
  or no spread in clean F1, the fit is not available and no value is given. A model's effective
  robustness is the mean over its common cells; the overall line (`overall_fit`) over the models' macro
  clean / adversarial F1 is shown for context.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from xadv.leaderboard.entries import DUPLICATE, Entry
from xadv.score.bootstrap import DEFAULT_LEVEL, bootstrap_means, percentile_interval

TINY_JOINT = 20       # fewer jointly-correct questions than this: the flip rate is noted as resting on few
MIN_FIT_MODELS = 3    # fewer models than this: no effective-robustness fit

Interval = tuple[float | None, float | None]


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _interval(samples: np.ndarray, level: float) -> Interval:
    lo, hi = percentile_interval(samples, level)
    return _num(lo), _num(hi)


# --- flip rate on jointly-correct questions -------------------------------------------------------


@dataclass(frozen=True)
class JointFlip:
    """One model on one cell: its flips among the questions every compared model answers right on clean input."""

    models: int            # models compared on this cell
    questions: int         # questions all of them were scored on (ids intersected)
    joint: int             # of those, right on clean input for every model
    flips: float           # of those, flipped by the attack (seeds averaged per question)
    rate: float | None     # 100 * flips / joint; None when joint == 0
    ci: Interval
    note: str              # "" or why the number is missing or rests on few questions

    def to_dict(self) -> dict:
        return asdict(self)


def joint_note(models: int, questions: int, joint: int) -> str:
    if questions == 0:
        return f"the {models} models share no question ids"
    if joint == 0:
        return f"no question is answered right on clean input by all {models} models"
    if joint < TINY_JOINT:
        return f"only {joint} questions answered right by all {models} models"
    return ""


def joint_flips(ids: Sequence[tuple[str, ...]], columns: Sequence[np.ndarray], *, n_resamples: int = 1000,
                seed: int = 0, level: float = DEFAULT_LEVEL) -> list[JointFlip]:
    """Flip rates of several models on one cell. `columns[k]` is model k's (n, 7) per-question columns
    (`xadv.leaderboard.aggregate.columns_of`: ..., right on clean, flipped), in the order of `ids[k]`."""
    m = len(ids)
    shared = set(ids[0]).intersection(*map(set, ids[1:])) if m else set()
    order = [i for i in ids[0] if i in shared] if m else []
    right = np.ones(len(order), dtype=bool)
    flipped = np.zeros((len(order), m))
    for k, (kids, cols) in enumerate(zip(ids, columns)):
        pos = {i: j for j, i in enumerate(kids)}
        idx = np.array([pos[i] for i in order], dtype=int)
        right &= cols[idx, 5] >= 1.0 - 1e-12  # right on clean in every seed
        flipped[:, k] = cols[idx, 6]
    joint = flipped[right]
    note = joint_note(m, len(order), len(joint))
    if len(joint) == 0:
        return [JointFlip(m, len(order), 0, 0.0, None, (None, None), note) for _ in range(m)]
    rates = 100 * joint.mean(axis=0)
    cis: list[Interval] = [(None, None)] * m
    if n_resamples:
        boot = 100 * bootstrap_means(joint, n_resamples=n_resamples, seed=seed)
        cis = [_interval(boot[:, k], level) for k in range(m)]
    return [JointFlip(m, len(order), len(joint), float(joint[:, k].sum()), float(rates[k]), cis[k], note)
            for k in range(m)]


# --- worst case over attacks ------------------------------------------------------------------------


@dataclass(frozen=True)
class WorstCase:
    """A model on one language: right only if right on clean input and under every perturbation of the set."""

    model: str
    fingerprint: str
    lang: str
    data_sha256: str
    mode: str
    criterion: str
    attacks: tuple[str, ...]   # the attack cells of the set (labels)
    perturbations: int         # attack cells x seeds
    n: int                     # questions
    clean_f1: float
    accuracy: float | None     # points; None: no attack in the common set
    f1: float | None
    ci_accuracy: Interval
    ci_f1: Interval
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def attack_key(e: Entry) -> tuple:
    """An entry's attack cell within a model x language x data (what two models' attacks share)."""
    return (e.attack, json.dumps(e.params, sort_keys=True), e.target, e.strength, json.dumps(e.search, sort_keys=True))


def worst_case_arrays(clean_right: np.ndarray, clean_f1: np.ndarray, adv_right: Sequence[np.ndarray],
                      adv_f1: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per question (robust under every perturbation, worst F1): clean and every adversarial side together."""
    right = np.logical_and.reduce([np.asarray(clean_right, dtype=bool),
                                   *(np.asarray(a, dtype=bool) for a in adv_right)])
    f1 = np.min([np.asarray(clean_f1, dtype=float), *(np.asarray(a, dtype=float) for a in adv_f1)], axis=0)
    return right, f1


def worst_cases(entries: list[Entry], labels: dict[tuple, str], *, n_resamples: int = 1000, seed: int = 0,
                level: float = DEFAULT_LEVEL) -> list[WorstCase]:
    """Per model x language (x data, scorer mode, criterion) over the attack cells every model has there.

    `labels` maps (fingerprint, lang, attack key) to the row's display label (and the model's display name
    under `(fingerprint, "")`)."""
    used = [e for e in entries if not any(f.kind == DUPLICATE for f in e.flags)]
    groups: dict[tuple, list[Entry]] = {}
    for e in used:
        groups.setdefault((e.lang, e.data_sha256, e.mode, e.criterion), []).append(e)
    out = []
    for (lang, sha, mode, crit), members in groups.items():
        by_model: dict[str, list[Entry]] = {}
        for e in members:
            by_model.setdefault(e.fingerprint, []).append(e)
        common = set.intersection(*({attack_key(e) for e in es} for es in by_model.values()))
        for fp, es in by_model.items():
            chosen = sorted((e for e in es if attack_key(e) in common), key=lambda e: (attack_key(e), e.seed))
            base = es[0]
            ids = [i for i in base.ids if all(i in set(e.ids) for e in chosen)] if chosen else list(base.ids)
            pos0 = {i: j for j, i in enumerate(base.ids)}
            idx0 = np.array([pos0[i] for i in ids], dtype=int)
            clean_f1 = 100 * float(base.clean_f1[idx0].mean()) if len(ids) else math.nan
            attacks = tuple(sorted({labels.get((fp, lang, attack_key(e)), e.attack) for e in chosen}))
            name = labels.get((fp, ""), base.model)
            if not chosen or not ids:
                note = ("no attack cell that every model has in this language" if not chosen
                        else "the attack cells share no question ids")
                out.append(WorstCase(name, fp, lang, sha, mode, crit, attacks, len(chosen), len(ids), clean_f1,
                                     None, None, (None, None), (None, None), note))
                continue
            adv_right, adv_f1 = [], []
            for e in chosen:
                pos = {i: j for j, i in enumerate(e.ids)}
                idx = np.array([pos[i] for i in ids], dtype=int)
                adv_right.append(e.right(adv=True)[idx])
                adv_f1.append(e.adv_f1[idx])
            right, f1 = worst_case_arrays(base.right()[idx0], base.clean_f1[idx0], adv_right, adv_f1)
            cols = np.column_stack([right, f1]).astype(float)
            ci_acc: Interval = (None, None)
            ci_f1: Interval = (None, None)
            if n_resamples:
                boot = 100 * bootstrap_means(cols, n_resamples=n_resamples, seed=seed)
                ci_acc, ci_f1 = _interval(boot[:, 0], level), _interval(boot[:, 1], level)
            out.append(WorstCase(name, fp, lang, sha, mode, crit, attacks, len(chosen), len(ids), clean_f1,
                                 100 * float(right.mean()), 100 * float(f1.mean()), ci_acc, ci_f1, ""))
    return sorted(out, key=lambda w: (w.model, w.lang, w.mode, w.criterion, w.data_sha256))


# --- effective robustness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """Least-squares line adv F1 = slope x clean F1 + intercept across models (points), or why there is none."""

    scope: str                 # which points: a cell's label and language, or "models (macro)"
    models: int
    slope: float | None
    intercept: float | None
    r: float | None            # Pearson r; None when either side has no spread
    note: str                  # "" or why the fit is not available

    @property
    def available(self) -> bool:
        return self.slope is not None

    def predict(self, clean: float) -> float | None:
        if self.slope is None or self.intercept is None:
            return None
        return self.slope * clean + self.intercept

    def describe(self) -> str:
        if not self.available:
            return f"{self.scope}: fit not available ({self.note})"
        r = "n/a" if self.r is None else f"{self.r:.3f}"
        return (f"{self.scope}: adv F1 = {self.slope:.3f} x clean F1 {'+' if (self.intercept or 0) >= 0 else '-'} "
                f"{abs(self.intercept or 0):.1f} (r = {r}, {self.models} models)")

    def to_dict(self) -> dict:
        return asdict(self)


def fit_line(x: Sequence[float], y: Sequence[float], scope: str = "") -> Fit:
    """Ordinary least squares of y on x (one point per model); not available below MIN_FIT_MODELS points
    or when x has no spread."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(xs)
    if n < MIN_FIT_MODELS:
        return Fit(scope, n, None, None, None,
                   f"{n} model{'' if n == 1 else 's'}, a fit needs at least {MIN_FIT_MODELS}")
    dx, dy = xs - xs.mean(), ys - ys.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 1e-12 * max(1.0, float(xs @ xs)):
        return Fit(scope, n, None, None, None, "every model has the same clean F1")
    slope = float(dx @ dy) / sxx
    intercept = float(ys.mean() - slope * xs.mean())
    r = float(dx @ dy) / math.sqrt(sxx * syy) if syy > 0 else None
    return Fit(scope, n, slope, intercept, r, "")


def effective(adv: float | None, clean: float | None, fit: Fit) -> float | None:
    """Adversarial F1 minus the fit's prediction at `clean` (None without a fit or a value)."""
    if adv is None or clean is None:
        return None
    pred = fit.predict(clean)
    return None if pred is None else adv - pred
