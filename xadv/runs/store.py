"""A results directory: one record file per cell, atomic writes, resume by cell key."""

from __future__ import annotations

import json
import os
from pathlib import Path

from xadv.io import atomic_open
from xadv.errors import XadvError
from xadv.runs.record import AttackRecord, CellKey, read_record


class ResultsStore:
    """`<dir>/<fingerprint>.<lang>.<attack>.<target>.s<seed>.<key>.json`, one per cell."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise XadvError(f"{self.root}: results path exists and is not a directory")

    def path_for(self, cell: CellKey) -> Path:
        return self.root / cell.filename()

    def get(self, cell: CellKey) -> dict | None:
        """The stored record of this cell, or None. A corrupt file is an error, never a silent miss."""
        path = self.path_for(cell)
        if not path.exists():
            return None
        rec = read_record(path)
        if rec["cell"].get("key") != cell.key:
            raise XadvError(f"{path}: its cell key does not match its contents; delete it to recompute")
        return rec

    def put(self, record: AttackRecord) -> Path:
        path = self.path_for(record.cell)
        with atomic_open(path) as fh:
            json.dump(record.to_dict(), fh, ensure_ascii=False, indent=1)
        return path

    def records(self) -> list[tuple[Path, dict]]:
        """Every record under the directory; XadvError for a corrupt or foreign JSON file."""
        if not self.root.is_dir():
            raise XadvError(f"{self.root}: no such results directory")
        return [(p, read_record(p)) for p in sorted(self.root.rglob("*.json"))]
