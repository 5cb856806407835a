"""The ledger of a grid run: one gzipped file per finished model (its card, config digest, time, skipped cells
and every record), beside `parts.json`, in `<results>/ledger/`, which is committed with the results.

Why: the models directory (`runs/`) is not in git, and a machine can lose it between sittings (one did: the v2
grid's first 11 trained models went with a session's machine). A model whose training and evaluation are done
needs neither its checkpoint nor its store files again, so its ledger entry is all a fresh clone needs to
resume at the first unfinished model, and the final export reads every record from the ledger. Commit the
ledger after each part; an entry is written once, when its model's evaluation ends, and never rewritten."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xadv.experiments.spec import ExperimentError
from xadv.experiments.store import read_gz, write_gz_json
from xadv.io import parse_json

LEDGER_DIR = "ledger"
CELL_SCHEMA = "xadv.experiment-cell/1"


@dataclass(frozen=True)
class FinishedCell:
    """A trained and evaluated grid model: what the run still needs of it once its checkpoint is gone."""

    id: str
    config_digest: str
    card: dict[str, Any]
    timing: dict[str, float]  # train/eval wall and CPU seconds, summed over the parts that made it
    records: list[dict[str, Any]]  # sealed attack records (`xadv.attack-record/2`), model name = id
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (lang, attack cell, reason)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": CELL_SCHEMA, "id": self.id, "config_digest": self.config_digest, "card": self.card,
                "timing": self.timing, "skipped": [list(s) for s in self.skipped], "records": self.records}


class Ledger:
    """`<root>/<cell id>.json.gz`, one per finished model."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, cell_id: str) -> Path:
        return self.root / f"{cell_id}.json.gz"

    def get(self, cell_id: str, digest: str) -> FinishedCell | None:
        """The finished model `cell_id` trained with config `digest`, or None if the ledger has no entry.

        An entry that is unreadable, names another model, holds another model's records or was made with
        another config is an error naming it, never skipped: skipping would retrain a finished model, and
        reusing it would mix recipes."""
        path = self.path(cell_id)
        try:
            raw = parse_json(read_gz(path, "ledger entry"), str(path), "ledger entry", ExperimentError)
        except FileNotFoundError:
            return None
        fields = ("id", "config_digest", "card", "timing", "skipped", "records")
        if not isinstance(raw, dict) or raw.get("schema") != CELL_SCHEMA or any(k not in raw for k in fields):
            raise ExperimentError(f"{path}: not an {CELL_SCHEMA} ledger entry")
        if raw["id"] != cell_id:
            raise ExperimentError(f"{path}: the entry of {raw['id']!r}, not of {cell_id!r}")
        if raw["config_digest"] != digest:
            raise ExperimentError(f"{path}: made with a different config (digest {str(raw['config_digest'])[:12]}, "
                                  f"now {digest[:12]}): delete it to train and evaluate {cell_id} again")
        records = raw["records"]
        if not isinstance(records, list) or not records or any(
                not isinstance(r, dict) or (r.get("model") or {}).get("name") != cell_id for r in records):
            raise ExperimentError(f"{path}: its records are missing or not all of model {cell_id}")
        try:
            return FinishedCell(cell_id, digest, dict(raw["card"]), dict(raw["timing"]), records,
                                [(str(a), str(b), str(c)) for a, b, c in raw["skipped"]])
        except (TypeError, ValueError):
            raise ExperimentError(f"{path}: malformed card, timing or skipped cells") from None

    def put(self, cell: FinishedCell) -> Path:
        path = self.path(cell.id)
        write_gz_json(path, cell.to_dict())
        return path
