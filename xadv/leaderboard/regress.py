"""The CI gate: did a change make the model easier to attack than the accepted baseline?

A baseline file (schema `xadv.regress-baseline/1`, written by `xadv regress --update-baseline`) keeps,
for every cell of an accepted run, the per-example outcomes themselves, not just the summary, so the
gate can run a paired bootstrap on the same questions. It carries a digest (a hand-edited baseline is
refused: accept changes with --update-baseline instead) and, written with `XADV_RESULTS_KEY` set, a keyed
seal; with the key set, a baseline whose seal is missing or does not verify is refused too.

Cells are matched by their *slot*: model name, language, attack, parameters, target, strength, seed,
data hash, scorer mode and criterion, and for a search cell its search settings (`search`, absent from
the slot of a static cell so that older baselines still match). The model fingerprint is deliberately not part of it:
the point
is to compare a changed model with the accepted one under the same name.

Checks are made per model (everything pooled), per model x language (`per_lang`) or per cell (seeds
pooled, `per_cell`). A check regresses when the attack success rate rose by more than `max_asr_increase`
(a fraction: 0.02 = 2 percentage points) or the adversarial F1 fell by more than `max_f1_drop` (F1
points); with `significance` it also needs the paired bootstrap p-value of that change below it.
The p-value is two-sided, as everywhere in xadv: p = (1 + #{b: |d*_b - d| >= |d|}) / (B + 1), so it is
never below 1 / (B + 1): settings under which no change could ever be significant (or tolerances no
change can exceed) are refused, since a gate that cannot fail is a gate switched off.
A baseline cell missing from the current results fails the gate too: a CI job that stopped running
an attack must not pass silently.

Beside ASR and adversarial F1 every check shows the flip rate on *jointly-correct* questions: those
both the baseline and the current model answer right on clean input, and per side the share the attack
makes wrong, with a paired bootstrap (both sides resampled together) of current minus baseline. ASR
alone moves when the clean-right set moves (a model that learns easy questions gets a lower ASR without
becoming harder to attack); on the jointly-correct questions both sides are judged on the same set. It
is shown, not gated, unless `max_flip_increase` (`--max-flip-increase`, a fraction like
`max_asr_increase`) is given; with `significance` it then also needs its p-value below it.

The same tolerances, mirrored, mark a check **improved**: the ASR fell by more than `max_asr_increase`, the
adversarial F1 rose by more than `max_f1_drop` (or the flip rate fell by more than `max_flip_increase`,
when given), significantly when `significance` is set, and nothing moved the other way beyond tolerance,
significant or not. A lower ASR from a model that got worse under attack (adversarial F1 down) is
therefore never an improvement. Improvements never affect whether the gate passes.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xadv.errors import XadvError
from xadv.leaderboard.entries import Entry, load_entries
from xadv.runs.record import load_versioned_json, stable_hash
from xadv.runs.seal import Seal, results_key, seal_problem, sealed_content
from xadv.score.bootstrap import MAX_RESAMPLES, bootstrap_means, check_resamples, paired_bootstrap_arrays
from xadv.version import __version__

BASELINE_SCHEMA = "xadv.regress-baseline/1"
SLOT_FIELDS = ("model", "lang", "attack", "params", "target", "strength", "seed", "data_sha256", "mode",
               "criterion")
LEVELS = ("model", "lang", "cell")


@dataclass
class Cell:
    """One cell's outcomes, from a results entry or a baseline file."""

    slot: dict
    fingerprint: str
    ids: tuple[str, ...]
    right: np.ndarray       # right on clean input (ASR criterion), per example
    flipped: np.ndarray     # right on clean, wrong under attack
    adv_f1: np.ndarray      # [0, 1]
    clean_f1: np.ndarray

    @property
    def slot_key(self) -> str:
        return stable_hash(self.slot)

    def to_dict(self) -> dict:
        return {"slot": self.slot, "model_fingerprint": self.fingerprint, "n": len(self.ids),
                "summary": summary_of(self.right, self.flipped, self.adv_f1, self.clean_f1),
                "examples": {"ids": list(self.ids), "right": self.right.astype(int).tolist(),
                             "flipped": self.flipped.astype(int).tolist(), "adv_f1": self.adv_f1.tolist(),
                             "clean_f1": self.clean_f1.tolist()}}


def summary_of(right, flipped, adv_f1, clean_f1) -> dict:
    """Readable numbers for a baseline cell (the gate itself always recomputes from the examples)."""
    den = int(np.sum(right))
    return {"clean_f1": 100 * float(np.mean(clean_f1)), "adv_f1": 100 * float(np.mean(adv_f1)),
            "asr": 100 * float(np.sum(flipped)) / den if den else None,
            "asr_successes": int(np.sum(flipped)), "asr_denominator": den}


def cell_of(e: Entry) -> Cell:
    slot = {"model": e.model, "lang": e.lang, "attack": e.attack, "params": e.params, "target": e.target,
            "strength": e.strength, "seed": e.seed, "data_sha256": e.data_sha256, "mode": e.mode,
            "criterion": e.criterion}
    if e.search:
        slot["search"] = e.search
    right = e.right()
    return Cell(slot, e.fingerprint, e.ids, right, right & ~e.right(adv=True), e.adv_f1, e.clean_f1)


def current_cells(results: str | os.PathLike) -> list[Cell]:
    """The cells of a results directory; its records must pass every check (else exit 2, not a verdict)."""
    entries = load_entries(results)
    bad = [e for e in entries if e.failing]
    if bad:
        e = bad[0]
        more = f" (and {len(bad) - 1} more records)" if len(bad) > 1 else ""
        raise XadvError(f"{e.path}: {e.failing[0].kind}: {e.failing[0].message}{more}; the gate does not "
                        "compare records that fail their checks")
    cells: dict[str, Cell] = {}
    for e in entries:
        c = cell_of(e)
        if c.slot_key in cells and cells[c.slot_key].fingerprint != c.fingerprint:
            raise XadvError(f"{results}: two models named {e.model!r} ({cells[c.slot_key].fingerprint[:12]} and "
                            f"{c.fingerprint[:12]}) ran the same cell ({e.lang}/{e.attack}/{e.target}/seed {e.seed}); "
                            "keep one model per name in a gated results directory")
        cells[c.slot_key] = c
    return list(cells.values())


# --- the baseline file ------------------------------------------------------------------------


def write_baseline(cells: list[Cell], path: str | os.PathLike, source: str = "") -> dict:
    from xadv.io import atomic_open

    obj = {"schema": BASELINE_SCHEMA, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "xadv_version": __version__, "source": source,
           "cells": [c.to_dict() for c in sorted(cells, key=lambda c: json.dumps(c.slot, sort_keys=True))]}
    obj["digest"] = stable_hash(sealed_content(obj))
    key = results_key()
    if key is not None:
        obj["seal"] = Seal.make(obj, key).to_dict()
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)
    return obj


def read_baseline(path: str | os.PathLike) -> list[Cell]:
    """Cells of a baseline file; XadvError (one line naming the file) when it is missing, foreign or edited."""
    path = Path(path)
    obj = load_versioned_json(path, BASELINE_SCHEMA, "baseline",
                              " (create it with `xadv regress --update-baseline`)")
    if obj.get("digest") != stable_hash(sealed_content(obj)):
        raise XadvError(f"{path}: the baseline was edited after it was written; regenerate it with "
                        "`xadv regress --update-baseline` instead of editing it")
    key = results_key()
    if key is not None:
        try:
            problem = seal_problem(obj, key)
        except XadvError as exc:
            problem = ("edited", str(exc))
        if problem is not None:
            raise XadvError(f"{path}: baseline {problem[0]}: {problem[1]}; regenerate it with "
                            "`xadv regress --update-baseline` with XADV_RESULTS_KEY set")
    cells = []
    try:
        if not isinstance(obj["cells"], list) or not obj["cells"]:
            raise ValueError("no cells: a baseline that checks nothing would pass every run")
        for c in obj["cells"]:
            cells.append(_baseline_cell(c))
    except (KeyError, TypeError, ValueError) as exc:
        raise XadvError(f"{path}: malformed baseline cell ({type(exc).__name__}: {exc})") from None
    keys = [c.slot_key for c in cells]
    if len(set(keys)) != len(keys):
        raise XadvError(f"{path}: malformed baseline (the same cell appears twice)")
    return cells


def _baseline_cell(c: dict) -> Cell:
    """One baseline cell, its example columns checked as `update_baseline` writes them: unique ids, 0/1
    flags with `flipped` only where `right`, F1 in [0, 1]. Without a keyed seal the digest is all that
    stands between an edit and the gate, so impossible numbers (an ASR of 200 %, NaN) are refused here."""
    ex = c["examples"]
    ids = ex["ids"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValueError("ids must be a non-empty list of strings")
    if len(set(ids)) != len(ids):
        raise ValueError("an example id appears twice")
    n = len(ids)
    arrays = [np.asarray(ex[k], dtype=float) for k in ("right", "flipped", "adv_f1", "clean_f1")]
    if any(a.shape != (n,) for a in arrays):
        raise ValueError("example columns of different lengths")
    right, flipped, adv_f1, clean_f1 = arrays
    if not all(np.isin(a, (0.0, 1.0)).all() for a in (right, flipped)):
        raise ValueError("right and flipped must be 0 or 1")
    if (flipped > right).any():
        raise ValueError("an example flipped that was not right on clean input")
    if not all(np.isfinite(a).all() and ((a >= 0) & (a <= 1)).all() for a in (adv_f1, clean_f1)):
        raise ValueError("F1 scores must be finite and in [0, 1]")
    slot = {k: c["slot"][k] for k in SLOT_FIELDS}
    if c["slot"].get("search"):
        slot["search"] = c["slot"]["search"]
    return Cell(slot, str(c["model_fingerprint"]), tuple(ids), right > 0, flipped > 0, adv_f1, clean_f1)


# --- the gate ---------------------------------------------------------------------------------


@dataclass
class Check:
    """One compared group (a model, a model x language, or a cell) and its verdict."""

    group: dict
    cells: int
    n: int
    base_asr: float | None
    cur_asr: float | None
    base_adv_f1: float
    cur_adv_f1: float
    base_clean_f1: float
    cur_clean_f1: float
    asr_p: float | None = None
    f1_p: float | None = None
    joint: int = 0                        # questions right on clean input for both baseline and current
    base_flip: float | None = None        # flip rate on those, points; None when joint == 0
    cur_flip: float | None = None
    flip_ci: tuple[float | None, float | None] = (None, None)  # paired bootstrap CI of cur - base
    flip_p: float | None = None           # its two-sided p-value
    reasons: list[str] = field(default_factory=list)   # what regressed beyond tolerance (and significantly)
    notes: list[str] = field(default_factory=list)     # beyond tolerance but not significant, etc.
    improvements: list[str] = field(default_factory=list)  # what got better beyond tolerance (and significantly)

    @property
    def asr_change(self) -> float | None:
        if self.base_asr is None or self.cur_asr is None:
            return None
        return self.cur_asr - self.base_asr

    @property
    def flip_change(self) -> float | None:
        if self.base_flip is None or self.cur_flip is None:
            return None
        return self.cur_flip - self.base_flip

    @property
    def f1_drop(self) -> float:
        return self.base_adv_f1 - self.cur_adv_f1

    @property
    def status(self) -> str:
        if self.reasons:
            return "regressed"
        if self.notes:
            return "within tolerance (not significant)"
        return "improved" if self.improvements else "ok"

    def to_dict(self) -> dict:
        return {**self.group, "cells": self.cells, "n": self.n, "base_asr": self.base_asr, "cur_asr": self.cur_asr,
                "asr_change": self.asr_change, "base_adv_f1": self.base_adv_f1, "cur_adv_f1": self.cur_adv_f1,
                "adv_f1_drop": self.f1_drop, "base_clean_f1": self.base_clean_f1, "cur_clean_f1": self.cur_clean_f1,
                "asr_p": self.asr_p, "f1_p": self.f1_p, "joint": self.joint, "base_flip": self.base_flip,
                "cur_flip": self.cur_flip, "flip_change": self.flip_change, "flip_ci": list(self.flip_ci),
                "flip_p": self.flip_p, "status": self.status, "reasons": self.reasons,
                "notes": self.notes, "improvements": self.improvements}


@dataclass
class GateResult:
    level: str
    checks: list[Check]
    missing: list[dict]          # baseline slots without a current cell
    new: list[dict]              # current slots without a baseline cell
    tolerances: dict

    @property
    def regressed(self) -> list[Check]:
        return [c for c in self.checks if c.reasons]

    @property
    def improved(self) -> list[Check]:
        return [c for c in self.checks if c.status == "improved"]

    @property
    def passed(self) -> bool:
        return not self.regressed and not self.missing

    def to_dict(self) -> dict:
        return {"passed": self.passed, "level": self.level, "tolerances": self.tolerances,
                "checks": [c.to_dict() for c in self.checks], "regressed": len(self.regressed),
                "improved": len(self.improved),
                "missing": self.missing, "new": self.new}


def _group_of(slot: dict, level: str) -> dict:
    keep = {"model": ("model", "mode", "criterion"), "lang": ("model", "lang", "mode", "criterion"),
            "cell": ("model", "lang", "attack", "params", "target", "strength", "data_sha256", "mode", "criterion")}
    group = {k: slot[k] for k in keep[level]}
    if level == "cell" and slot.get("search"):
        group["search"] = slot["search"]
    return group


def check_settings(*, level: str, max_asr_increase: float, max_f1_drop: float, significance: float | None,
                   n_resamples: int, max_flip_increase: float | None = None) -> None:
    """XadvError (one line) unless every setting is a finite number in its range and the gate can fail."""
    if max_flip_increase is not None and (not _real(max_flip_increase) or not 0 <= max_flip_increase < 1):
        raise XadvError(f"--max-flip-increase is a fraction of the jointly-correct questions from 0 to below 1 "
                        f"(0.02 = 2 percentage points), got {max_flip_increase}")
    if level not in LEVELS:
        raise XadvError(f"unknown gate level {level!r} (choose one of: {', '.join(LEVELS)})")
    if not _real(max_asr_increase) or not 0 <= max_asr_increase <= 1:
        raise XadvError(f"--max-asr-increase is a fraction of questions from 0 to 1 (0.02 = 2 percentage points), "
                        f"got {max_asr_increase}")
    if not _real(max_f1_drop) or not 0 <= max_f1_drop <= 100:
        raise XadvError(f"--max-f1-drop is in F1 points, a number from 0 to 100, got {max_f1_drop}")
    if max_asr_increase >= 1 and max_f1_drop >= 100:
        raise XadvError(f"--max-asr-increase {max_asr_increase:g} and --max-f1-drop {max_f1_drop:g} allow every "
                        "change, so the gate could never fail: lower one of them")
    check_resamples(n_resamples)
    if significance is None:
        return
    if not _real(significance) or not 0 < significance < 1:
        raise XadvError(f"--significance is a p-value threshold between 0 and 1, got {significance}")
    if 1 / (n_resamples + 1) >= significance:
        needed = resamples_for(significance)
        fix = (f"use --bootstrap {needed} or more (1000 or more for a stable p-value)" if needed <= MAX_RESAMPLES
               else f"that needs more than {MAX_RESAMPLES} resamples: choose a larger --significance")
        raise XadvError(f"--significance {significance:g} with --bootstrap {n_resamples} can never fail the gate: "
                        f"the smallest p-value {n_resamples} resamples can give is 1/{n_resamples + 1} = "
                        f"{1 / (n_resamples + 1):.3g}, not below {significance:g}; {fix}")


def resamples_for(significance: float) -> int:
    """The fewest bootstrap resamples B whose smallest attainable p-value, 1/(B+1), is below `significance`."""
    needed = max(1, math.floor(1 / significance - 1) + 1)
    while 1 / (needed + 1) >= significance:
        needed += 1
    while needed > 1 and 1 / needed < significance:
        needed -= 1
    return needed


def _real(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _p_value(observed: float, resampled: np.ndarray) -> float | None:
    resampled = resampled[~np.isnan(resampled)]
    if math.isnan(observed) or resampled.size == 0:
        return None
    extreme = int(np.count_nonzero(np.abs(resampled - observed) >= abs(observed)))
    return (1 + extreme) / (resampled.size + 1)


def gate(baseline: list[Cell], current: list[Cell], *, max_asr_increase: float = 0.02, max_f1_drop: float = 1.0,
         level: str = "model", significance: float | None = None, n_resamples: int = 1000,
         seed: int = 0, max_flip_increase: float | None = None) -> GateResult:
    """Compare current cells with the baseline, group by `level`, and judge every group. `max_flip_increase`
    (opt-in, a fraction): also fail when the flip rate on jointly-correct questions rose by more."""
    check_settings(level=level, max_asr_increase=max_asr_increase, max_f1_drop=max_f1_drop,
                   significance=significance, n_resamples=n_resamples, max_flip_increase=max_flip_increase)
    cur = {c.slot_key: c for c in current}
    base = {c.slot_key: c for c in baseline}
    missing = [b.slot for k, b in base.items() if k not in cur]
    new = [c.slot for k, c in cur.items() if k not in base]
    groups: dict[str, tuple[dict, list[np.ndarray]]] = {}
    for k, b in base.items():
        c = cur.get(k)
        if c is None:
            continue
        if set(c.ids) != set(b.ids):
            raise XadvError(f"cell {b.slot['lang']}/{b.slot['attack']}/{b.slot['target']}/seed {b.slot['seed']}: "
                            "baseline and current hold different example ids despite the same data hash")
        index = {i: j for j, i in enumerate(c.ids)}
        order = np.array([index[i] for i in b.ids])
        cols = np.column_stack([b.right, b.flipped, b.adv_f1, b.clean_f1,
                                c.right[order], c.flipped[order], c.adv_f1[order], c.clean_f1[order]]).astype(float)
        g = _group_of(b.slot, level)
        gk = json.dumps(g, sort_keys=True)
        groups.setdefault(gk, (g, []))[1].append(cols)
    checks = []
    for g, parts in groups.values():
        cols = np.concatenate(parts)
        checks.append(_judge(g, len(parts), cols, max_asr_increase, max_f1_drop, significance, n_resamples, seed,
                             max_flip_increase))
    checks.sort(key=lambda c: (not c.reasons, json.dumps(c.group, sort_keys=True)))
    return GateResult(level=level, checks=checks, missing=missing, new=new,
                      tolerances={"max_asr_increase": max_asr_increase, "max_f1_drop": max_f1_drop,
                                  "max_flip_increase": max_flip_increase,
                                  "significance": significance, "resamples": n_resamples, "seed": seed})


def _rates(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ASR change in points, adversarial F1 drop in points) from column means, row-wise."""
    b_right, b_flip, b_f1, _, c_right, c_flip, c_f1, _ = (m[..., j] for j in range(8))
    with np.errstate(invalid="ignore", divide="ignore"):
        asr_b = np.where(b_right > 0, b_flip / np.where(b_right > 0, b_right, 1), np.nan)
        asr_c = np.where(c_right > 0, c_flip / np.where(c_right > 0, c_right, 1), np.nan)
    return 100 * (asr_c - asr_b), 100 * (b_f1 - c_f1)


def joint_flip_columns(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(baseline flipped, current flipped) on the questions right on clean input on both sides, from the
    gate's 8 columns (baseline right, flipped, adv F1, clean F1, then the same for current)."""
    joint = (cols[:, 0] > 0) & (cols[:, 4] > 0)
    return cols[joint, 1], cols[joint, 5]


def _judge(group: dict, n_cells: int, cols: np.ndarray, max_asr: float, max_f1: float,
           significance: float | None, n_resamples: int, seed: int,
           max_flip: float | None = None) -> Check:
    means = cols.mean(axis=0)
    b_right, b_flip, b_f1, b_clean, c_right, c_flip, c_f1, c_clean = means
    check = Check(group=group, cells=n_cells, n=len(cols),
                  base_asr=100 * b_flip / b_right if b_right > 0 else None,
                  cur_asr=100 * c_flip / c_right if c_right > 0 else None,
                  base_adv_f1=100 * b_f1, cur_adv_f1=100 * c_f1, base_clean_f1=100 * b_clean,
                  cur_clean_f1=100 * c_clean)
    base_j, cur_j = joint_flip_columns(cols)
    check.joint = len(base_j)
    if len(base_j):
        check.base_flip, check.cur_flip = 100 * float(base_j.mean()), 100 * float(cur_j.mean())
        if n_resamples:
            test = paired_bootstrap_arrays(cur_j, base_j, metric="flip_rate", scale=100.0,
                                           n_resamples=n_resamples, seed=seed)
            check.flip_ci, check.flip_p = (test.ci_low, test.ci_high), test.p_value
    flip_up = (max_flip is not None and check.flip_change is not None
               and check.flip_change > 100 * max_flip + 1e-9)
    asr_up = check.asr_change is not None and check.asr_change > 100 * max_asr + 1e-9
    f1_down = check.f1_drop > max_f1 + 1e-9
    flip_down = (max_flip is not None and check.flip_change is not None
                 and check.flip_change < -100 * max_flip - 1e-9)
    asr_down = check.asr_change is not None and check.asr_change < -100 * max_asr - 1e-9
    f1_up = check.f1_drop < -max_f1 - 1e-9
    if significance is not None and (asr_up or f1_down or asr_down or f1_up):
        d_asr, d_f1 = _rates(means)
        r_asr, r_f1 = _rates(bootstrap_means(cols, n_resamples=n_resamples, seed=seed))
        check.asr_p = _p_value(float(d_asr), r_asr)
        check.f1_p = _p_value(float(d_f1), r_f1)
    mx_asr, mx_flip = 100 * max_asr, 100 * (max_flip or 0)
    for hit, what, p in ((asr_up, f"ASR +{_num(check.asr_change, mx_asr)} pp > +{mx_asr:.1f}", check.asr_p),
                         (f1_down, f"adv F1 -{_num(check.f1_drop, max_f1)} > -{max_f1:.1f}", check.f1_p),
                         (flip_up, f"flip rate (jointly correct) +{_num(check.flip_change, mx_flip)} pp > "
                                   f"+{mx_flip:.1f}", check.flip_p)):
        if not hit:
            continue
        if significance is None:
            check.reasons.append(what)
        elif p is not None and p < significance:
            check.reasons.append(f"{what} (p={p:.3f})")
        else:
            check.notes.append(f"{what} but p={'n/a' if p is None else f'{p:.3f}'} >= {significance:g}")
    if asr_up or f1_down or flip_up:
        return check  # a change the other way, significant or not, rules out "improved"
    for hit, what, p in ((asr_down, f"ASR -{_num(check.asr_change, mx_asr)} pp < -{mx_asr:.1f}", check.asr_p),
                         (f1_up, f"adv F1 +{_num(check.f1_drop, max_f1)} > +{max_f1:.1f}", check.f1_p),
                         (flip_down, f"flip rate (jointly correct) -{_num(check.flip_change, mx_flip)} pp < "
                                     f"-{mx_flip:.1f}", check.flip_p)):
        if hit and (significance is None or (p is not None and p < significance)):
            check.improvements.append(what if significance is None else f"{what} (p={p:.3f})")
    return check


def _num(change: float | None, bound: float) -> str:
    """|change| with one decimal, or more where one decimal would print it equal to the bound it exceeds
    (an adversarial F1 drop of 1.04 against a tolerance of 1.0 reads "1.04 > 1.0", not "1.0 > 1.0")."""
    value = abs(change or 0.0)
    for digits in (1, 2, 3):
        if f"{value:.{digits}f}" != f"{abs(bound):.{digits}f}":
            return f"{value:.{digits}f}"
    return f"{value:.4f}"


def run_gate(baseline: str | os.PathLike, current: str | os.PathLike, **kwargs) -> GateResult:
    """`xadv regress`: read both sides (bad input raises XadvError) and gate them."""
    base = read_baseline(baseline)
    return gate(base, current_cells(current), **kwargs)


def update_baseline(baseline: str | os.PathLike, current: str | os.PathLike) -> tuple[list[Cell], list[Cell] | None]:
    """Accept the current results as the new baseline; returns (new cells, old cells or None)."""
    if Path(baseline).is_dir():
        raise XadvError(f"{baseline}: is a directory, not a baseline file (give a file path, e.g. "
                        "ci/robustness-baseline.json)")
    cells = current_cells(current)
    old = None
    if Path(baseline).exists():
        try:
            old = read_baseline(baseline)
        except XadvError:
            old = None  # replacing a broken baseline is exactly what --update-baseline is for
    write_baseline(cells, baseline, source=str(current))
    return cells, old
