"""Entries: attack records read from a results directory and checked, not trusted.

Every record carries its per-example outcomes, so nothing in its `summary` has to be believed: the
check re-runs `xadv.score.compare` on the stored outcomes (same criterion, same bootstrap seed and
resamples) and flags any number that differs. It also flags a file whose content no longer matches
the digest it was written with (edited after the run), a cell key that does not hash from the cell's
fields, a second file for the same cell, and clean outcomes that disagree with the other records of
the same model on the same data (they come from one clean pass, so they must be identical).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from attacks.registry import canonical_name
from xadv.errors import XadvError
from xadv.runs.record import CellKey, record_digest
from xadv.runs.store import ResultsStore, read_records_file
from xadv.score.criterion import Criterion

TOLERANCE = 1e-6  # points; recomputation is deterministic, so anything above rounding is a real difference

# Flag kinds. "unsealed" is a note (a record written before records carried a digest), never a failure.
EDITED, SUMMARY, INVALID, DUPLICATE, CLEAN, UNSEALED = (
    "edited", "summary", "invalid", "duplicate", "clean-outcomes", "unsealed")
FAILING = frozenset({EDITED, SUMMARY, INVALID, DUPLICATE, CLEAN})


@dataclass(frozen=True)
class Flag:
    kind: str
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message}


@dataclass
class Entry:
    """One record: its typed cell (`xadv.runs.record.CellKey`), the model and data it names, and its
    per-example outcomes as arrays."""

    path: Path
    record: dict
    cell: CellKey
    model: str
    fingerprint: str
    data_name: str
    zero_shot: bool | None
    ids: tuple[str, ...]
    clean_em: np.ndarray = field(repr=False)
    clean_f1: np.ndarray = field(repr=False)
    adv_em: np.ndarray = field(repr=False)
    adv_f1: np.ndarray = field(repr=False)
    flags: list[Flag] = field(default_factory=list)

    # the cell's fields, as the tables and the gate read them
    lang = property(lambda self: self.cell.lang)
    attack = property(lambda self: canonical_name(self.cell.attack))  # `typo` and `keyboard` are one attack
    params = property(lambda self: dict(self.cell.params or {}))
    target = property(lambda self: self.cell.target)
    strength = property(lambda self: float(self.cell.strength))
    seed = property(lambda self: int(self.cell.seed))
    mode = property(lambda self: self.cell.mode)
    data_sha256 = property(lambda self: self.cell.data_sha256)
    search = property(lambda self: self.cell.search or None)  # a search cell's settings; None: static

    @cached_property
    def criterion(self) -> str:
        """The ASR criterion in its one spelling (a version 1 `f1>=1e-09` reads as `f1>0`)."""
        return self.criterion_spec.format()

    @property
    def n(self) -> int:
        return len(self.ids)

    @cached_property
    def criterion_spec(self) -> Criterion:
        return Criterion.parse(self.cell.criterion)

    @property
    def failing(self) -> list[Flag]:
        return [f for f in self.flags if f.kind in FAILING]

    def right(self, adv: bool = False) -> np.ndarray:
        """Correct per example under the record's ASR criterion (clean side, or adversarial)."""
        em, f1 = (self.adv_em, self.adv_f1) if adv else (self.clean_em, self.clean_f1)
        return self.criterion_spec.right(em, f1)

    def examples(self) -> list[dict]:
        return self.record["examples"]


def _entry(path: Path, rec: dict) -> Entry:
    """Plain fields and arrays of a record; XadvError naming the file when a field is missing or wrong."""
    try:
        cell, model, data, exs = rec["cell"], rec["model"], rec["data"], rec["examples"]
        if not isinstance(exs, list) or not exs:
            raise XadvError(f"{path}: record has no per-example outcomes, so nothing in it can be checked")
        cols = {k: np.array([float(e[k]) for e in exs]) for k in ("clean_em", "clean_f1", "adv_em", "adv_f1")}
        entry = Entry(
            path=path, record=rec, cell=CellKey.from_dict(cell), model=str(model["name"]),
            fingerprint=str(model["fingerprint"]), data_name=str(data.get("name", "")),
            zero_shot=model.get("zero_shot"), ids=tuple(str(e["id"]) for e in exs), **cols)
        _ = entry.criterion_spec  # a malformed criterion is an error here, not later
    except XadvError as exc:
        raise XadvError(f"{path}: {exc}" if str(path) not in str(exc) else str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise XadvError(f"{path}: malformed results record ({type(exc).__name__}: {exc})") from None
    for name, col in cols.items():
        if not np.all((col >= 0) & (col <= 1)):
            raise XadvError(f"{path}: per-example {name} outside [0, 1]")
    return entry


def _criterion(text) -> str | None:
    """A stored criterion in its one spelling (None when missing or unreadable: then it differs)."""
    try:
        return Criterion.parse(text).format()
    except XadvError:
        return None


def check_entry(entry: Entry) -> list[Flag]:
    """Everything a single record can be checked against: its digest, its cell key, its own outcomes."""
    rec, flags = entry.record, []
    if "digest" not in rec:
        flags.append(Flag(UNSEALED, "written without a digest (older xadv): edits cannot be detected"))
    elif rec["digest"] != record_digest(rec):
        flags.append(Flag(EDITED, "file content no longer matches the digest it was written with"))
    cell = {k: v for k, v in rec["cell"].items() if k != "key"}
    try:
        if CellKey(**cell).key != rec["cell"].get("key"):
            flags.append(Flag(INVALID, "cell key does not hash from the cell's fields"))
    except TypeError as exc:
        flags.append(Flag(INVALID, f"cell fields are not a cell key ({exc})"))
    model, data, summary = rec["model"], rec["data"], rec["summary"]
    for what, a, b in (("model fingerprint", model.get("fingerprint"), rec["cell"].get("model_fingerprint")),
                       ("data lang", data.get("lang"), entry.lang),
                       ("data n", data.get("n"), entry.n),
                       ("summary n", summary.get("n"), entry.n),
                       ("summary mode", summary.get("mode"), entry.mode),
                       ("summary criterion", _criterion(summary.get("criterion")), entry.criterion)):
        if a != b:
            flags.append(Flag(INVALID, f"{what} is {a!r} but the cell says {b!r}"))
    dupes = [i for i, c in Counter(entry.ids).items() if c > 1]
    if dupes:
        flags.append(Flag(INVALID, f"example id {dupes[0]!r} appears {Counter(entry.ids)[dupes[0]]} times"))
    elif not any(f.kind == INVALID for f in flags):
        flags.extend(_check_summary(entry))
    return flags


def _check_summary(entry: Entry) -> list[Flag]:
    """Re-run the comparison on the stored outcomes and name every number that differs."""
    from xadv.score.compare import compare
    from xadv.score.evaluate import ScoreResult

    summary = entry.record["summary"]
    boot = summary.get("bootstrap") or {}
    ids, langs = entry.ids, (entry.lang,) * entry.n
    clean = ScoreResult(entry.mode, ids, langs, entry.clean_em, entry.clean_f1)
    adv = ScoreResult(entry.mode, ids, langs, entry.adv_em, entry.adv_f1)
    redo = compare(clean, adv, criterion=entry.criterion_spec, level=float(boot.get("level", 0.95)),
                   n_resamples=int(boot.get("resamples", 1000)), seed=int(boot.get("seed", 0))).to_dict()
    wrong = []
    for key, value in redo.items():
        if key in ("mode", "criterion", "bootstrap"):
            continue
        stored = summary.get(key)
        if key == "ci":
            stored = stored or {}
            for stat, pair in value.items():
                if not _same(stored.get(stat), pair):
                    wrong.append(f"{stat} CI {_show(stored.get(stat))} vs {_show(pair)}")
        elif not _same(stored, value):
            wrong.append(f"{key} {_show(stored)} vs {_show(value)}")
    if "strength_applied_mean" in summary:
        mean = float(np.mean([float(e.get("strength_applied", 0.0)) for e in entry.examples()]))
        if not _same(summary["strength_applied_mean"], mean, tol=1e-5):
            wrong.append(f"strength_applied_mean {_show(summary['strength_applied_mean'])} vs {_show(mean)}")
    if not wrong:
        return []
    more = f" (+{len(wrong) - 3} more)" if len(wrong) > 3 else ""
    return [Flag(SUMMARY, "summary disagrees with the per-example outcomes (stored vs recomputed): "
                 + "; ".join(wrong[:3]) + more)]


def _same(a, b, tol: float = TOLERANCE) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_same(x, y, tol) for x, y in zip(a, b)))
    if a is None or b is None:
        return a is None and b is None
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    return abs(fa - fb) <= tol


def _show(x) -> str:
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in x) + "]"
    return "none" if x is None else (f"{x:.2f}" if isinstance(x, float) else str(x))


def cross_check(entries: list[Entry]) -> None:
    """Flags across records: duplicate cells, and clean outcomes that differ between the records of
    one model on one data set and scorer (one clean pass feeds them all, so they must agree)."""
    by_key: dict[str, list[Entry]] = {}
    for e in entries:  # keyed on the canonical cell: a record under an alias (typo) is the keyboard cell
        by_key.setdefault(replace(e.cell, attack=e.attack).key, []).append(e)
    for group in by_key.values():
        for e in group[1:]:
            alias = f" (attack {e.cell.attack!r} is {e.attack!r})" if e.cell.attack != e.attack else ""
            e.flags.append(Flag(DUPLICATE, f"same cell as {group[0].path.name}{alias}; counted once"))
    by_data: dict[tuple, list[Entry]] = {}
    for e in entries:
        engine = str((e.record.get("env") or {}).get("engine"))  # int8 etc. change predictions
        by_data.setdefault((e.fingerprint, e.data_sha256, e.mode, engine), []).append(e)
    for group in by_data.values():
        if len(group) < 2:
            continue
        sigs = [(e.ids, e.clean_em.tobytes(), e.clean_f1.tobytes(),
                 tuple(str(x.get("clean_pred")) for x in e.examples())) for e in group]
        common, count = Counter(sigs).most_common(1)[0]
        for e, sig in zip(group, sigs):
            if sig != common:
                other = group[sigs.index(common)].path.name
                tie = " (no majority: either may be the edited one)" if count * 2 <= len(group) else ""
                e.flags.append(Flag(CLEAN, f"clean outcomes differ from {other}, the same model on the same "
                                           f"data{tie}"))


def load_entries(results: str | os.PathLike) -> list[Entry]:
    """Every record under `results` (a directory, or a run file from `xadv attack --out`), checked.

    A corrupt or foreign JSON file is an error naming it (never skipped); an empty directory too.
    """
    root = Path(results)
    if root.is_file():
        pairs = read_records_file(root)
    else:
        pairs = ResultsStore(root).records()
    if not pairs:
        raise XadvError(f"{root}: no attack records here (run `xadv attack --results {root}` first)")
    entries = [_entry(p, rec) for p, rec in pairs]
    for e in entries:
        e.flags.extend(check_entry(e))
    cross_check(entries)
    return entries


def keep_langs(entries: list[Entry], langs, results) -> list[Entry]:
    """Only the entries of `langs` (each must occur in the results: a typo is an error, not an empty table)."""
    if not langs:
        return entries
    have = sorted({e.lang for e in entries})
    for lang in langs:
        if lang not in have:
            raise XadvError(f"no results for language {lang!r} in {results} (it has: {' '.join(have)})")
    return [e for e in entries if e.lang in langs]
