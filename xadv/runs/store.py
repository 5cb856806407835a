"""Where records live: a results directory (one file per cell, atomic writes, resume by cell key) and the
run file (`xadv attack --out`: every record of one run in one JSON object, `xadv.attack-run/1`)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from xadv.errors import XadvError
from xadv.io import atomic_open, file_kind, read_json
from xadv.runs.record import RUN_SCHEMA, AttackRecord, CellKey, check_schema, read_record
from xadv.runs.verify import FAILING, check_record


class ResultsStore:
    """`<dir>/<fingerprint>.<lang>.<attack>.<target>.s<seed>.<key>.json`, one per cell."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise XadvError(f"{self.root}: results path exists and is not a directory")

    def path_for(self, cell: CellKey) -> Path:
        return self.root / cell.filename()

    def get(self, cell: CellKey, key: bytes | None = None) -> AttackRecord | None:
        """The stored record of this cell, or None; re-checked before it is reused (resume), as the
        leaderboard checks it (`xadv.runs.verify`: digest, the seal under `key`, cell key, summary
        recomputed from the outcomes). A corrupt, edited or unsealed file is an error naming it, never a
        silent miss and never reused."""
        path = self.path_for(cell)
        if not path.exists():
            return None
        try:
            raw = read_record(path)
        except XadvError as exc:
            raise XadvError(f"{exc}; delete it to recompute the cell") from None
        if raw["cell"].get("key") != cell.key:
            raise XadvError(f"{path}: its cell key does not match its contents; delete it to recompute the cell")
        try:
            bad = [f for f in check_record(raw, key=key) if f.kind in FAILING]
        except XadvError as exc:
            raise XadvError(f"{path}: {exc}; delete it to recompute the cell") from None
        if bad:
            raise XadvError(f"{path}: not reused, {bad[0].kind}: {bad[0].message}; delete it to recompute the cell")
        return AttackRecord.from_dict(raw, str(path))

    def put(self, record: AttackRecord) -> Path:
        path = self.path_for(record.cell)
        with atomic_open(path) as fh:
            json.dump(record.to_dict(), fh, ensure_ascii=False, indent=1)
        return path

    def records(self) -> list[tuple[Path, dict]]:
        """Every record under the directory; XadvError for a corrupt or foreign JSON file, and for a `*.json`
        that is not a regular file (a FIFO would hang the reader, a device flood it): named, never read."""
        if not self.root.is_dir():
            raise XadvError(f"{self.root}: no such results directory")
        paths = sorted(self.root.rglob("*.json"))
        for p in paths:
            try:
                mode = os.stat(p).st_mode
            except OSError as exc:
                raise XadvError(f"{p}: cannot read it ({exc.strerror or exc}; a dangling link?): remove it from "
                                f"the results directory") from None
            if not stat.S_ISREG(mode):
                raise XadvError(f"{p} is {file_kind(mode)}, not a record file: a results directory holds regular "
                                f"files only (remove it)")
        return [(p, read_record(p)) for p in paths]


def write_run_file(records: Iterable[AttackRecord | dict], path: str | os.PathLike) -> Path:
    """Every record of a run in one file (what `xadv attack --out` writes and `xadv leaderboard` reads)."""
    path = Path(path)
    with atomic_open(path) as fh:
        json.dump({"schema": RUN_SCHEMA, "records": [r if isinstance(r, dict) else r.to_dict() for r in records]},
                  fh, ensure_ascii=False, indent=1)
    return path


def read_records_file(path: str | os.PathLike) -> list[tuple[Path, dict]]:
    """The records of a run file, or of a single record file, each checked as `read_record` checks a file;
    `(path#k, record)` pairs so messages name the record. XadvError for anything else."""
    path = Path(path)
    obj = read_json(path, "run file", unicode_only=True)
    if isinstance(obj, dict) and str(obj.get("schema", "")).startswith("xadv.attack-record/"):
        AttackRecord.from_dict(obj, str(path))
        return [(path, obj)]
    if not (isinstance(obj, dict) and obj.get("schema") == RUN_SCHEMA and isinstance(obj.get("records"), list)):
        raise XadvError(f"{path}: neither a results directory, an attack record nor an `xadv attack --out` run file")
    out = []
    for k, rec in enumerate(obj["records"]):
        where = Path(f"{path}#{k}")
        check_schema(rec, str(where))
        AttackRecord.from_dict(rec, str(where))
        out.append((where, rec))
    return out
