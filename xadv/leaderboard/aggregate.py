"""From checked entries to leaderboard rows (model x language x attack) and a per-model ranking.

Every number is recomputed from the per-example outcomes, never read from a record's summary. A row
pools the seeds of one cell: per question, the adversarial outcomes are averaged over seeds (the clean
ones are the same in every seed), so the bootstrap still resamples questions, the unit the data was
sampled in. With one seed a row's numbers equal `xadv.score.compare` on that record exactly.

Models are ranked on the cells they all share (same language, attack, parameters, target, strength,
search settings, data, scorer mode and criterion): a macro mean over different cells would compare unlike with unlike.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xadv.errors import XadvError
from xadv.leaderboard.entries import DUPLICATE, FAILING, Entry, Flag, keep_langs, load_entries
from xadv.runs.record import search_tag
from xadv.score.bootstrap import DEFAULT_LEVEL, bootstrap_means, check_resamples, percentile_interval
from xadv.score.compare import stats_from_means

STATS: tuple[str, ...] = ("clean_f1", "adv_f1", "f1_drop", "clean_em", "adv_em", "em_drop", "robust_f1", "asr")

# --sort keys: the direction that puts the most robust first (names sort alphabetically)
SORTS: dict[str, tuple[str, bool]] = {
    "model": ("model", False), "lang": ("lang", False), "attack": ("attack", False),
    "asr": ("asr", False), "f1_drop": ("f1_drop", False), "adv_f1": ("adv_f1", True),
    "robust_f1": ("robust_f1", True), "clean_f1": ("clean_f1", True),
}


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

    @property
    def cell(self) -> tuple:
        """What makes two models' rows comparable."""
        return (self.lang, self.attack, json.dumps(self.params, sort_keys=True), self.target, self.strength,
                self.mode, self.criterion, self.data_sha256, json.dumps(self.search, sort_keys=True))

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

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Leaderboard:
    source: str
    rows: list[Row]
    models: list[ModelSummary]
    entries: list[Entry]
    bootstrap: dict

    @property
    def langs(self) -> list[str]:
        return list(dict.fromkeys(r.lang for r in self.rows))

    @property
    def modes(self) -> list[str]:
        return sorted({r.mode for r in self.rows})

    @property
    def flagged(self) -> list[Entry]:
        return [e for e in self.entries if e.failing]

    def to_dict(self) -> dict:
        return {
            "schema": "xadv.leaderboard/1", "source": self.source, "bootstrap": self.bootstrap,
            "scorer_modes": self.modes, "languages": self.langs,
            "models": [m.to_dict() for m in self.models],
            "rows": [r.to_dict() for r in self.rows],
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
            flags=[(e.path.name, f) for e in members for f in e.flags], search=e0.search))
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
            parts.append(",".join(f"{k}={v}" for k, v in sorted(r.params.items())) or "defaults")
        if len({v[3] for v in seen}) > 1:
            parts.append(r.mode)
        if len({v[4] for v in seen}) > 1:
            parts.append(r.criterion)
        r.label = " ".join(parts)


def summarise_models(rows: list[Row]) -> list[ModelSummary]:
    """Per model: languages with zero-shot marks, and macro means over the cells all models share;
    ranked by robust F1 (higher first), then ASR (lower first)."""
    by_model: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        by_model.setdefault((r.model, r.fingerprint), []).append(r)
    common = set.intersection(*(set(r.cell for r in rs) for rs in by_model.values())) if by_model else set()
    out = []
    for (label, fp), rs in by_model.items():
        shared = [r for r in rs if r.cell in common]

        def macro(stat: str) -> float | None:
            vals = [r.stats[stat] for r in shared if r.stats[stat] is not None]
            return float(np.mean(vals)) if vals else None

        zs: dict[str, bool | None] = {}
        for r in rs:
            if zs.get(r.lang) is None:
                zs[r.lang] = r.zero_shot
        out.append(ModelSummary(model=label, name=rs[0].model_name, fingerprint=fp, langs=list(zs),
                                zero_shot=zs, rows=len(rs), common=len(shared), clean_f1=macro("clean_f1"),
                                adv_f1=macro("adv_f1"), robust_f1=macro("robust_f1"), asr=macro("asr"),
                                flagged=sum(1 for r in rs if r.failing)))
    ranked = sorted((m for m in out if m.robust_f1 is not None),
                    key=lambda m: (-m.robust_f1, m.asr if m.asr is not None else math.inf, m.model))
    for k, m in enumerate(ranked, start=1):
        m.rank = k
    return sorted(out, key=lambda m: (m.rank is None, m.rank or 0, m.model))


def sort_rows(rows: list[Row], key: str = "model") -> list[Row]:
    """Rows by `key` (see SORTS), then model, language and attack; undefined values last."""
    if key not in SORTS:
        raise XadvError(f"unknown sort key {key!r} (choose one of: {', '.join(SORTS)})")
    name, descending = SORTS[key]
    base = sorted(rows, key=lambda r: (r.model, r.lang, r.label))
    if name in ("model", "lang", "attack"):
        attr = "label" if name == "attack" else name
        return sorted(base, key=lambda r: getattr(r, attr))

    def k(r: Row):
        v = r.stats[name]
        return (v is None, 0.0 if v is None else (-v if descending else v))

    return sorted(base, key=k)


def build_leaderboard(results: str | os.PathLike, *, langs: list[str] | None = None, sort: str = "model",
                      n_resamples: int = 1000, seed: int = 0) -> Leaderboard:
    """Read, check and aggregate a results directory. `langs` keeps only those languages (each must
    occur in the results)."""
    if sort not in SORTS:
        raise XadvError(f"unknown sort key {sort!r} (choose one of: {', '.join(SORTS)})")
    check_resamples(n_resamples)
    entries = load_entries(results)
    entries = keep_langs(entries, langs, results)
    rows = sort_rows(build_rows(entries, n_resamples=n_resamples, seed=seed), sort)
    return Leaderboard(source=str(Path(results)), rows=rows, models=summarise_models(rows), entries=entries,
                       bootstrap={"resamples": n_resamples, "seed": seed, "level": DEFAULT_LEVEL})
