"""From checked entries to leaderboard rows (model x language x attack) and a per-model ranking.

Every number is recomputed from the per-example outcomes, never read from a record's summary. A row
pools the seeds of one cell: per question, the adversarial outcomes are averaged over seeds (the clean
ones are the same in every seed), so the bootstrap still resamples questions, the unit the data was
sampled in. With one seed a row's numbers equal `xadv.score.compare` on that record exactly.

Models are ranked on the cells they all share (same language, attack, parameters, target, strength,
search settings, data, scorer mode and criterion): a macro mean over different cells would compare unlike with unlike.

Beside robust F1 (which mostly follows clean F1 across models), every row carries the flip rate on the
questions all models of its cell answer right, the effective robustness against the cell's fit across
models, and its model's worst case over the attacks of its language (`xadv.leaderboard.metrics`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from xadv.errors import XadvError
from xadv.leaderboard.entries import DUPLICATE, FAILING, Entry, Flag, keep_langs, load_entries
from xadv.leaderboard.metrics import Fit, JointFlip, WorstCase, effective, fit_line, joint_flips, worst_cases
from xadv.runs.record import search_tag
from xadv.score.bootstrap import DEFAULT_LEVEL, bootstrap_means, check_resamples, percentile_interval
from xadv.score.compare import stats_from_means

STATS: tuple[str, ...] = ("clean_f1", "adv_f1", "f1_drop", "clean_em", "adv_em", "em_drop", "robust_f1", "asr")

# --sort keys: the direction that puts the most robust first (names sort alphabetically)
SORTS: dict[str, tuple[str, bool]] = {
    "model": ("model", False), "lang": ("lang", False), "attack": ("attack", False),
    "asr": ("asr", False), "f1_drop": ("f1_drop", False), "adv_f1": ("adv_f1", True),
    "robust_f1": ("robust_f1", True), "clean_f1": ("clean_f1", True),
    "flip_rate": ("flip_rate", False), "worst_case": ("worst_case_f1", True), "effective": ("effective", True),
}
# --sort keys that also rank the models table (any other sort ranks models by robust F1)
MODEL_SORTS = ("robust_f1", "flip_rate", "worst_case", "effective")


def sort_key(key: str) -> str:
    """`--sort` as given (`robust-f1` and `robust_f1` are one key); XadvError naming the choices."""
    name = str(key).strip().replace("-", "_")
    if name not in SORTS:
        raise XadvError(f"unknown sort key {key!r} (choose one of: {', '.join(SORTS)})")
    return name


def columns_of(entries: list[Entry]) -> np.ndarray:
    """(n, 7) per-question columns, seeds averaged: clean F1, adv F1, clean EM, adv EM, robust F1,
    right on clean, flipped (right on clean, wrong under attack). Ids follow the first entry."""
    first = entries[0]
    cols = np.zeros((first.n, 7))
    for e in entries:
        if set(e.ids) != set(first.ids):
            raise XadvError(f"{e.path}: its example ids differ from {first.path.name} for the same cell and data")
        if e.ids != first.ids:
            position = {i: k for k, i in enumerate(e.ids)}
            order = np.array([position[i] for i in first.ids])
        else:
            order = slice(None)
        right, right_adv = e.right()[order], e.right(adv=True)[order]
        cols += np.column_stack([e.clean_f1[order], e.adv_f1[order], e.clean_em[order], e.adv_em[order],
                                 np.minimum(e.clean_f1, e.adv_f1)[order], right, right & ~right_adv])
    return cols / len(entries)


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


@dataclass
class Row:
    """One leaderboard line: a model on one cell (seeds pooled), with recomputed numbers and flags."""

    model: str              # display label (the name; with a fingerprint prefix where names collide)
    model_name: str
    fingerprint: str
    lang: str
    zero_shot: bool | None  # from the model card in the record; None: no card
    attack: str
    params: dict
    target: str
    strength: float
    mode: str
    criterion: str
    data_name: str
    data_sha256: str
    n: int
    seeds: tuple[int, ...]
    stats: dict[str, float | None]
    ci: dict[str, tuple[float | None, float | None]]
    asr_successes: int
    asr_denominator: int
    flags: list[tuple[str, Flag]] = field(default_factory=list)  # (file name, flag)
    label: str = ""         # the attack as a heat-map column: name, plus target/strength where needed
    search: dict | None = None  # a search cell's settings; None: a static attack
    ids: tuple[str, ...] = field(default=(), repr=False)          # question ids, the order of `columns`
    columns: np.ndarray | None = field(default=None, repr=False)  # (n, 7) per-question columns (`columns_of`)
    joint: JointFlip | None = None       # flip rate on the questions every model of the cell gets right
    fit: Fit | None = None               # adv F1 on clean F1 across the cell's models
    effective: float | None = None       # adv F1 minus the fit's prediction
    worst_case: WorstCase | None = None  # the model's worst case over the attacks of this language

    def metric(self, name: str) -> float | None:
        """A number to sort by: a `stats` entry, `flip_rate`, `worst_case_f1` or `effective`."""
        if name == "flip_rate":
            return self.joint.rate if self.joint else None
        if name == "worst_case_f1":
            return self.worst_case.f1 if self.worst_case else None
        if name == "effective":
            return self.effective
        return self.stats[name]

    @property
    def cell(self) -> tuple:
        """What makes two models' rows comparable."""
        return (self.lang, self.attack, json.dumps(self.params, sort_keys=True), self.target, self.strength,
                self.mode, self.criterion, self.data_sha256, json.dumps(self.search, sort_keys=True))

    @property
    def data_slot(self) -> tuple:
        """`cell` with the dataset's name in place of its hash: two subsets of one dataset share it."""
        return (*self.cell[:7], self.cell[8], self.data_name)

    @property
    def failing(self) -> list[tuple[str, Flag]]:
        return [(f, flag) for f, flag in self.flags if flag.kind in FAILING]

    def to_dict(self) -> dict:
        return {
            "model": self.model, "model_name": self.model_name, "fingerprint": self.fingerprint,
            "lang": self.lang, "zero_shot": self.zero_shot, "attack": self.attack, "label": self.label,
            "params": self.params, "target": self.target, "strength": self.strength, "search": self.search,
            "mode": self.mode,
            "criterion": self.criterion, "data": self.data_name, "data_sha256": self.data_sha256,
            "n": self.n, "seeds": list(self.seeds), **self.stats,
            "asr_successes": self.asr_successes, "asr_denominator": self.asr_denominator,
            "ci": {k: list(v) for k, v in self.ci.items()},
            "flip_rate": self.metric("flip_rate"), "flip_rate_ci": list(self.joint.ci) if self.joint else [None, None],
            "joint": self.joint.to_dict() if self.joint else None,
            "effective": self.effective, "adv_f1_predicted": self.fit.predict(self.stats["clean_f1"])
            if self.fit and self.stats["clean_f1"] is not None else None,
            "fit": self.fit.to_dict() if self.fit else None,
            "worst_case_f1": self.metric("worst_case_f1"),
            "worst_case_accuracy": self.worst_case.accuracy if self.worst_case else None,
            "flags": [{"file": f, **flag.to_dict()} for f, flag in self.flags],
        }


@dataclass
class ModelSummary:
    """A model's macro means over the cells every model in the board has (its `common` cells)."""

    model: str
    name: str
    fingerprint: str
    langs: list[str]
    zero_shot: dict[str, bool | None]
    rows: int
    common: int
    clean_f1: float | None
    adv_f1: float | None
    robust_f1: float | None
    asr: float | None
    flagged: int
    rank: int | None = None
    flip_rate: float | None = None      # macro over common cells: flips among jointly-correct questions
    worst_case_f1: float | None = None  # macro over languages: worst case over the common attacks
    worst_case_accuracy: float | None = None
    effective: float | None = None      # macro over common cells with a fit: effective robustness

    def metric(self, name: str) -> float | None:
        return getattr(self, {"worst_case": "worst_case_f1"}.get(name, name))

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Leaderboard:
    source: str
    rows: list[Row]
    models: list[ModelSummary]
    entries: list[Entry]
    bootstrap: dict
    worst_cases: list[WorstCase] = field(default_factory=list)
    fits: list[Fit] = field(default_factory=list)          # per cell (language x attack column)
    overall_fit: Fit | None = None                         # macro adv F1 on macro clean F1 across models
    rank_by: str = "robust_f1"
    human_validity: list = field(default_factory=list)     # attacks.audit.AuditScore, from `--audit FILE`

    @property
    def langs(self) -> list[str]:
        return list(dict.fromkeys(r.lang for r in self.rows))

    @property
    def modes(self) -> list[str]:
        return sorted({r.mode for r in self.rows})

    @property
    def flagged(self) -> list[Entry]:
        return [e for e in self.entries if e.failing]

    def to_pandas(self) -> Any:
        """One row per leaderboard line (model x language x attack cell, seeds pooled), CIs as `ci.*`."""
        from xadv.frames import data_frame

        return data_frame(r.to_dict() for r in self.rows)

    def to_dict(self) -> dict:
        return {
            "schema": "xadv.leaderboard/1", "source": self.source, "bootstrap": self.bootstrap,
            "scorer_modes": self.modes, "languages": self.langs,
            "rank_by": self.rank_by,
            "models": [m.to_dict() for m in self.models],
            "rows": [r.to_dict() for r in self.rows],
            "worst_case": [w.to_dict() for w in self.worst_cases],
            "fits": [f.to_dict() for f in self.fits],
            "overall_fit": self.overall_fit.to_dict() if self.overall_fit else None,
            **({"human_validity": [h.to_dict() for h in self.human_validity]} if self.human_validity else {}),
            "entries": [{"file": str(e.path), "model": e.model, "lang": e.lang, "attack": e.attack,
                         "target": e.target, "seed": e.seed, "flags": [f.to_dict() for f in e.flags]}
                        for e in self.entries],
        }


def build_rows(entries: list[Entry], *, n_resamples: int = 1000, seed: int = 0,
               level: float = DEFAULT_LEVEL) -> list[Row]:
    """Group entries by model and cell (seeds pooled) and recompute each group's numbers."""
    labels: dict[str, set[str]] = {}
    for e in entries:
        labels.setdefault(e.model, set()).add(e.fingerprint)
    groups: dict[tuple, list[Entry]] = {}
    for e in entries:
        key = (e.fingerprint, e.model, e.lang, e.attack, json.dumps(e.params, sort_keys=True), e.target,
               e.strength, e.mode, e.criterion, e.data_sha256, json.dumps(e.search, sort_keys=True))
        groups.setdefault(key, []).append(e)
    rows = []
    for members in groups.values():
        used = sorted((e for e in members if not any(f.kind == DUPLICATE for f in e.flags)),
                      key=lambda e: e.seed)
        e0 = used[0]
        cols = columns_of(used)
        point = {k: _num(float(v)) for k, v in stats_from_means(cols.mean(axis=0)).items()}
        ci: dict[str, tuple[float | None, float | None]] = {}
        if n_resamples:
            boot = stats_from_means(bootstrap_means(cols, n_resamples=n_resamples, seed=seed))
            ci = {k: tuple(_num(x) for x in percentile_interval(v, level)) for k, v in boot.items()}
        zs = next((e.zero_shot for e in members if e.zero_shot is not None), None)
        label = e0.model if len(labels[e0.model]) == 1 else f"{e0.model} ({e0.fingerprint[:8]})"
        rows.append(Row(
            model=label, model_name=e0.model, fingerprint=e0.fingerprint, lang=e0.lang, zero_shot=zs,
            attack=e0.attack, params=e0.params, target=e0.target, strength=e0.strength, mode=e0.mode,
            criterion=e0.criterion, data_name=e0.data_name, data_sha256=e0.data_sha256, n=e0.n,
            seeds=tuple(e.seed for e in used), stats=point, ci=ci,
            asr_successes=int(sum(int((e.right() & ~e.right(adv=True)).sum()) for e in used)),
            asr_denominator=int(sum(int(e.right().sum()) for e in used)),
            flags=[(e.path.name, f) for e in members for f in e.flags], search=e0.search,
            ids=e0.ids, columns=cols))
    _label_columns(rows)
    return rows


def _label_columns(rows: list[Row]) -> None:
    """Heat-map column names: the attack, plus the target / strength / parameters / scorer mode /
    criterion where one attack was run in several ways (so two different columns never share a name).
    A search cell always names its search (`keyboard greedy em-flip 200q`), plus the search settings
    that differ between search cells of the same attack and tag."""
    variants: dict[str, set[tuple]] = {}
    searches: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        variants.setdefault(r.attack, set()).add((r.target, r.strength, json.dumps(r.params, sort_keys=True),
                                                  r.mode, r.criterion))
        if r.search:
            searches.setdefault((r.attack, search_tag(r.search)), []).append(r.search)
    for r in rows:
        seen = variants[r.attack]
        parts = [r.attack]
        if r.search:
            tag = search_tag(r.search)
            parts.append(tag)
            others = searches[(r.attack, tag)]
            differ = sorted(k for k in r.search if len({json.dumps(s.get(k)) for s in others}) > 1)
            parts.extend(f"{k}={r.search[k]}" for k in differ)
        if len({v[0] for v in seen}) > 1:
            parts.append(r.target)
        if len({v[1] for v in seen}) > 1:
            parts.append(f"@{r.strength:g}")
        if len({v[2] for v in seen}) > 1:
            parts.append(params_label(r.attack, r.params) or "defaults")
        if len({v[3] for v in seen}) > 1:
            parts.append(r.mode)
        if len({v[4] for v in seen}) > 1:
            parts.append(r.criterion)
        r.label = " ".join(parts)


def params_label(attack: str, params: dict) -> str:
    """A cell's parameters for people: `partner=sw`, and the behaviour version (`attack_version`, part of the
    cell key) as `v3` for the attack itself or `distractor v3` for a part of a composite; "" when none."""
    parts = [f"{k}={v}" for k, v in sorted(params.items()) if k != "attack_version"]
    for tag in str(params.get("attack_version") or "").split("+"):
        if tag:
            name, _, version = tag.partition("/")
            parts.append(f"v{version}" if name == attack else f"{name} v{version}")
    return ",".join(parts)


def one_data_per_slot(cells: set[tuple], rows: list[Row]) -> set[tuple]:
    """Of cells that differ only in their data but read the same dataset (a run with `--n 100` and a later
    one with `--n 300` in one results folder), the one with the most questions: a macro over both would
    count the shared questions twice. Ties (same size, changed file) go to the larger data hash, so the
    choice does not depend on file order."""
    row = {r.cell: r for r in rows}
    best: dict[tuple, Row] = {}
    for r in (row[c] for c in cells):
        b = best.get(r.data_slot)
        if b is None or (r.n, r.data_sha256) > (b.n, b.data_sha256):
            best[r.data_slot] = r
    return {r.cell for r in best.values()}


def summarise_models(rows: list[Row], worst: list[WorstCase] | None = None,
                     rank_by: str = "robust_f1") -> list[ModelSummary]:
    """Per model: languages with zero-shot marks, and macro means over the cells all models share;
    ranked by `rank_by` (robust F1, worst-case F1, effective robustness: higher first; flip rate: lower
    first), then ASR (lower first). Worst case: the macro mean of the model's `worst` entries."""
    by_model: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        by_model.setdefault((r.model, r.fingerprint), []).append(r)
    common = one_data_per_slot(set.intersection(*(set(r.cell for r in rs) for rs in by_model.values()))
                               if by_model else set(), rows)
    kept_data = {(r.lang, r.data_sha256) for r in rows if r.cell in common}
    out = []
    for (label, fp), rs in by_model.items():
        shared = [r for r in rs if r.cell in common]

        def macro(stat: str) -> float | None:
            vals = [v for r in shared if (v := r.metric(stat)) is not None]
            return float(np.mean(vals)) if vals else None

        def macro_worst(attr: str) -> float | None:
            vals = [v for w in worst or [] if w.fingerprint == fp and (w.lang, w.data_sha256) in kept_data
                    and (v := getattr(w, attr)) is not None]
            return float(np.mean(vals)) if vals else None

        zs: dict[str, bool | None] = {}
        for r in rs:
            if zs.get(r.lang) is None:
                zs[r.lang] = r.zero_shot
        out.append(ModelSummary(model=label, name=rs[0].model_name, fingerprint=fp, langs=list(zs),
                                zero_shot=zs, rows=len(rs), common=len(shared), clean_f1=macro("clean_f1"),
                                adv_f1=macro("adv_f1"), robust_f1=macro("robust_f1"), asr=macro("asr"),
                                flagged=sum(1 for r in rs if r.failing), flip_rate=macro("flip_rate"),
                                worst_case_f1=macro_worst("f1"), worst_case_accuracy=macro_worst("accuracy"),
                                effective=macro("effective")))
    sign = 1.0 if rank_by == "flip_rate" else -1.0

    def rank_key(m: ModelSummary) -> tuple:
        return (sign * (m.metric(rank_by) or 0.0), m.asr if m.asr is not None else math.inf, m.model)

    ranked = sorted((m for m in out if m.metric(rank_by) is not None), key=rank_key)
    for k, m in enumerate(ranked, start=1):
        m.rank = k
    return sorted(out, key=lambda m: (m.rank is None, m.rank or 0, m.model))


def sort_rows(rows: list[Row], key: str = "model") -> list[Row]:
    """Rows by `key` (see SORTS), then model, language and attack; undefined values last."""
    name, descending = SORTS[sort_key(key)]
    base = sorted(rows, key=lambda r: (r.model, r.lang, r.label))
    if name in ("model", "lang", "attack"):
        attr = "label" if name == "attack" else name
        return sorted(base, key=lambda r: getattr(r, attr))

    def k(r: Row):
        v = r.metric(name)
        return (v is None, 0.0 if v is None else (-v if descending else v))

    return sorted(base, key=k)


def build_leaderboard(results: str | os.PathLike, *, langs: list[str] | None = None, sort: str = "model",
                      n_resamples: int = 1000, seed: int = 0) -> Leaderboard:
    """Read, check and aggregate a results directory. `langs` keeps only those languages (each must
    occur in the results)."""
    sort = sort_key(sort)
    check_resamples(n_resamples)
    entries = load_entries(results)
    entries = keep_langs(entries, langs, results)
    rows, worst, fits = with_metrics(build_rows(entries, n_resamples=n_resamples, seed=seed), entries,
                                     n_resamples=n_resamples, seed=seed)
    rows = sort_rows(rows, sort)
    rank_by = sort if sort in MODEL_SORTS else "robust_f1"
    models = summarise_models(rows, worst, rank_by)
    overall = fit_line([m.clean_f1 for m in models if m.clean_f1 is not None and m.adv_f1 is not None],
                       [m.adv_f1 for m in models if m.clean_f1 is not None and m.adv_f1 is not None],
                       "models (macro over common cells)")
    return Leaderboard(source=str(Path(results)), rows=rows, models=models, entries=entries,
                       bootstrap={"resamples": n_resamples, "seed": seed, "level": DEFAULT_LEVEL},
                       worst_cases=worst, fits=fits, overall_fit=overall, rank_by=rank_by)


def _attack_key(r: Row) -> tuple:
    return (r.attack, json.dumps(r.params, sort_keys=True), r.target, r.strength, json.dumps(r.search, sort_keys=True))


def with_metrics(rows: list[Row], entries: list[Entry], *, n_resamples: int = 1000,
                 seed: int = 0) -> tuple[list[Row], list[WorstCase], list[Fit]]:
    """The rows with their joint flip rate, effective robustness and worst case filled in (new `Row`s),
    the worst cases per model x language and the per-cell fits (`xadv.leaderboard.metrics`)."""
    labels: dict[tuple, str] = {}
    for r in rows:
        labels[(r.fingerprint, r.lang, _attack_key(r))] = r.label
        labels[(r.fingerprint, "")] = r.model
    worst = worst_cases(entries, labels, n_resamples=n_resamples, seed=seed)
    worst_of = {(w.fingerprint, w.lang, w.data_sha256, w.mode, w.criterion): w for w in worst}
    by_cell: dict[tuple, list[int]] = {}
    for k, r in enumerate(rows):
        by_cell.setdefault(r.cell, []).append(k)
    joint: dict[int, JointFlip] = {}
    fit_of: dict[int, Fit] = {}
    fits = []
    for members in by_cell.values():
        cell_rows = [rows[k] for k in members]
        flips = joint_flips([r.ids for r in cell_rows],
                            [r.columns if r.columns is not None else np.zeros((0, 7)) for r in cell_rows],
                            n_resamples=n_resamples, seed=seed)
        joint.update(zip(members, flips))
        points = [(c, a) for r in cell_rows if (c := r.stats["clean_f1"]) is not None
                  and (a := r.stats["adv_f1"]) is not None]
        r0 = cell_rows[0]
        fit = fit_line([c for c, _ in points], [a for _, a in points], f"{r0.lang} / {r0.label}")
        fits.append(fit)
        fit_of.update((k, fit) for k in members)
    out = []
    for k, r in enumerate(rows):
        fit = fit_of[k]
        out.append(replace(r, joint=joint[k], fit=fit,
                           effective=effective(r.stats["adv_f1"], r.stats["clean_f1"], fit),
                           worst_case=worst_of.get((r.fingerprint, r.lang, r.data_sha256, r.mode, r.criterion))))
    return out, worst, sorted(fits, key=lambda f: f.scope)
