"""Entries: attack records read from a results directory and checked, not trusted.

Each record is re-checked on its own by `xadv.runs.verify.check_record` (the same checks a resuming
`xadv attack` makes before it reuses a record): the summary is recomputed from the per-example outcomes
(`xadv.score.compare`, same criterion, same bootstrap seed and bounded resamples), the digest must match
(an accidental edit), with `XADV_RESULTS_KEY` set the keyed seal must verify (a forgery: anyone can
recompute a digest, only the key holder can seal), and the cell key must hash from the cell's fields.
Across records this module flags a second file for the same cell, and clean outcomes that disagree with
the other records of the same model on the same data (they come from one clean pass, so they must be
identical).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from attacks.registry import canonical_name
from xadv.errors import XadvError
from xadv.runs.changed import changed_stats
from xadv.runs.record import AttackRecord, CellKey
from xadv.runs.seal import results_key
from xadv.runs.store import ResultsStore, read_records_file
from xadv.runs.verify import (  # noqa: F401  (the flag kinds are this module's public names too)
    CLEAN,
    DUPLICATE,
    EDITED,
    FAILING,
    INVALID,
    SUMMARY,
    TOLERANCE,
    UNSEALED,
    Flag,
    Outcomes,
    check_record,
)
from xadv.score.criterion import Criterion

NOOP = "no-op"  # a note: the attack changed fewer than half of the cell's examples


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
    lang = property(lambda self: self.cell.lang_label)  # `en`, or `en-de` (context-question) for a cross-lingual cell
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


def _entry(path: Path, rec: dict) -> tuple[Entry, Outcomes]:
    """Plain fields and arrays of a record; XadvError naming the file when a field is missing or wrong."""
    try:
        cell, model, data = rec["cell"], rec["model"], rec["data"]
        outcomes = Outcomes.of(rec)
        entry = Entry(
            path=path, record=rec, cell=CellKey.from_dict(cell), model=str(model["name"]),
            fingerprint=str(model["fingerprint"]), data_name=str(data.get("name", "")),
            zero_shot=model.get("zero_shot"), ids=outcomes.ids, clean_em=outcomes.clean_em,
            clean_f1=outcomes.clean_f1, adv_em=outcomes.adv_em, adv_f1=outcomes.adv_f1)
        _ = entry.criterion_spec  # a malformed criterion is an error here, not later
    except XadvError as exc:
        raise XadvError(f"{path}: {exc}" if str(path) not in str(exc) else str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise XadvError(f"{path}: malformed results record ({type(exc).__name__}: {exc})") from None
    return entry, outcomes


def check_entry(entry: Entry, key: bytes | None = None) -> list[Flag]:
    """Everything a single record can be checked against (`xadv.runs.verify.check_record`)."""
    return check_record(entry.record, key=key)


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


def load_entries(results: str | os.PathLike, *, key: bytes | None | Literal["env"] = "env") -> list[Entry]:
    """Every record under `results` (a directory, or a run file from `xadv attack --out`), checked.

    A corrupt or foreign JSON file is an error naming it (never skipped); an empty directory too.
    `key`: the sealing key seals are verified with; "env" (default) reads `XADV_RESULTS_KEY`.
    """
    key = results_key() if key == "env" else key
    root = Path(results)
    if root.is_file():
        pairs = read_records_file(root)
    else:
        pairs = ResultsStore(root).records()
    if not pairs:
        raise XadvError(f"{root}: no attack records here (run `xadv attack --results {root}` first)")
    entries = []
    for p, rec in pairs:
        entry, outcomes = _entry(p, rec)
        entry.flags.extend(check_record(rec, key=key, outcomes=outcomes))
        entry.flags.extend(noop_note(entry))
        entries.append(entry)
    cross_check(entries)
    return entries


def noop_note(entry: Entry) -> list[Flag]:
    """A note (never failing) on a cell whose attack changed fewer than half of its examples
    (`xadv.runs.changed`): its ASR says little about robustness, and the note says so where it is read."""
    try:
        stats = changed_stats(AttackRecord.from_dict(entry.record, str(entry.path)))
    except XadvError:
        return []  # a malformed record is flagged by its checks
    message = stats.warning("")
    return [Flag(NOOP, message.removeprefix(": "))] if message else []


def _matches(entry: Entry, lang: str) -> bool:
    """`de` matches a German cell and every cross-lingual cell with German on either side (`en-de`,
    `de-en`); a pair label (`en-de`) matches that pair only."""
    return entry.lang == lang or (bool(entry.cell.question_lang) and "-" not in lang
                                  and lang in (entry.cell.lang, entry.cell.question_lang))


def keep_langs(entries: list[Entry], langs, results) -> list[Entry]:
    """Only the entries of `langs` (each must occur in the results: a typo is an error, not an empty table)."""
    if not langs:
        return entries
    for lang in langs:
        if not any(_matches(e, lang) for e in entries):
            have = sorted({e.lang for e in entries})
            raise XadvError(f"no results for language {lang!r} in {results} (it has: {' '.join(have)})")
    return [e for e in entries if any(_matches(e, lang) for lang in langs)]
