"""`merge_results`: many results directories (shards, Ray nodes, colleagues' machines) into one.

A cell is its key (`CellKey`); two records of one cell are the *same* when their outcomes are: the
per-example predictions and scores (what the leaderboard recomputes from), timing aside. Provenance
(`env`: when, how long, on which machine) naturally differs between machines, so it never makes a conflict.

- same key, same outcomes: a duplicate; the copy already in the target (else the first source) is kept.
- same key, different outcomes: a conflict. Neither copy is merged (a copy already in the target stays as
  it was); every conflict is reported with both files, and the merge fails.
- a file that is not a record, is corrupt, fails its check (digest, seal with `XADV_RESULTS_KEY`, cell
  key, summary) or is not a regular file: rejected, reported, never copied.
- `.*.part` files (left by a writer killed mid-write; never read as records): counted, not copied.

Records are copied byte for byte (`atomic_copy`), named by their cell as `ResultsStore` names them, so the
target is an ordinary results directory for `xadv leaderboard`, `regress` and resume.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from xadv.errors import XadvError
from xadv.io import atomic_copy, check_output_dir, file_kind
from xadv.runs.record import AttackRecord, read_record, stable_hash
from xadv.runs.verify import FAILING, check_record

#: Per-example fields that measure time, not behaviour (a search's seconds per example).
TIMING_FIELDS = ("seconds",)


@dataclass(frozen=True)
class Conflict:
    """One cell with two different outcomes: its key, a label, and the two files."""

    key: str
    label: str
    first: Path
    second: Path

    def line(self) -> str:
        return (f"conflict: cell {self.label} (key {self.key[:12]}) has different outcomes in {self.first} "
                f"and {self.second}")


@dataclass
class MergeReport:
    """What `merge_results` did; `ok` when nothing was rejected and nothing conflicted."""

    into: Path
    added: list[Path] = field(default_factory=list)
    duplicates: int = 0
    already: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    partial: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.rejected

    def to_dict(self) -> dict:
        return {"into": str(self.into), "added": len(self.added), "duplicates": self.duplicates,
                "already_there": self.already,
                "conflicts": [{"key": c.key, "cell": c.label, "files": [str(c.first), str(c.second)]}
                              for c in self.conflicts],
                "rejected": [{"file": str(p), "reason": r} for p, r in self.rejected],
                "partial_files": [str(p) for p in self.partial], "ok": self.ok}


def outcome_digest(rec: dict) -> str:
    """What makes two records of one cell the same: the cell and the per-example outcomes, timing removed."""
    examples = [{k: v for k, v in e.items() if k not in TIMING_FIELDS} if isinstance(e, dict) else e
                for e in rec.get("examples", [])]
    return stable_hash({"cell": rec.get("cell"), "examples": examples})


@dataclass(frozen=True)
class _Found:
    path: Path
    key: str
    outcomes: str
    label: str
    filename: str


def _label(rec: AttackRecord) -> str:
    c = rec.cell
    return f"{rec.model.name}/{c.lang}/{c.attack}/{c.target}/s{c.seed}"


def _scan(root: Path, key: bytes | None, report: MergeReport) -> list[_Found]:
    """Every record under `root`, checked; rejects and partial files go to `report`."""
    if not root.is_dir():
        raise XadvError(f"{root}: no such results directory")
    report.partial += sorted(p for p in root.rglob(".*.part"))
    found = []
    for p in sorted(root.rglob("*.json")):
        try:
            mode = os.lstat(p).st_mode
        except OSError as exc:
            report.rejected.append((p, f"cannot read it ({exc.strerror or exc})"))
            continue
        if not stat.S_ISREG(mode):
            report.rejected.append((p, f"{file_kind(mode)}, not a record file"))
            continue
        try:
            raw = read_record(p)
            bad = [f for f in check_record(raw, key=key) if f.kind in FAILING]
            rec = AttackRecord.from_dict(raw, str(p))
        except XadvError as exc:
            report.rejected.append((p, str(exc).removeprefix(f"{p}: ")))
            continue
        if bad:
            report.rejected.append((p, f"{bad[0].kind}: {bad[0].message}"))
            continue
        found.append(_Found(p, rec.cell.key, outcome_digest(raw), _label(rec), rec.cell.filename()))
    return found


def merge_results(sources: list[str | os.PathLike], into: str | os.PathLike, *, key: bytes | None) -> MergeReport:
    """Merge the records of `sources` into the results directory `into` (created if missing)."""
    if not sources:
        raise XadvError("give at least one results directory to merge")
    target = Path(into)
    if target.exists() and not target.is_dir():
        raise XadvError(f"{target}: exists and is not a directory")
    resolved = {Path(s).resolve() for s in sources}
    if target.resolve() in resolved:
        raise XadvError(f"{target}: --into is also a source; merge into another directory")
    for s in sources:
        if not Path(s).is_dir():
            raise XadvError(f"{s}: no such results directory")
    check_output_dir(target)
    report = MergeReport(target)
    existing = {f.key: f for f in _scan(target, key, report)} if target.is_dir() else {}
    report.partial = []  # leftovers in the target are its own business; sources' are reported
    candidates: dict[str, _Found] = {}
    conflicted: set[str] = set()
    for s in sources:
        for f in _scan(Path(s), key, report):
            first = existing.get(f.key) or candidates.get(f.key)
            if first is None:
                candidates[f.key] = f
            elif first.outcomes == f.outcomes:
                report.duplicates += 1
            else:
                report.conflicts.append(Conflict(f.key, f.label, first.path, f.path))
                conflicted.add(f.key)
    for k, f in candidates.items():
        if k in conflicted:
            continue
        report.added.append(atomic_copy(f.path, target / f.filename))
    report.already = sum(1 for k in existing if k not in conflicted)
    return report
