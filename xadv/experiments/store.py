"""The files a run keeps: `records.json.gz` (every attack record, an `xadv attack --out` run file once
gunzipped), `models.json` (the model cards' essentials) and `run.json` (command, machine, timings, reading);
reading and writing them."""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from pathlib import Path
from typing import Any

from xadv.errors import XadvError
from xadv.experiments.spec import ExperimentError, GridCell
from xadv.io import atomic_open, atomic_write_bytes, read_regular_bytes
from xadv.io import read_json as io_read_json
from xadv.langs import TYDI_LANGS
from xadv.leaderboard.entries import Entry, load_entries

RECORDS_FILE, MODELS_FILE, RUN_FILE, TABLE_FILE, PLOTS_DIR = (
    "records.json.gz", "models.json", "run.json", "results.md", "plots")
ANALYSIS_FILE = "analysis.json"
TIMINGS_FILE = "timings.json"  # in the models directory: wall and CPU seconds per cell, summed over resumes
RUN_SCHEMA, MODELS_SCHEMA = "xadv.experiment-run/1", "xadv.experiment-models/1"
RECORDS_SCHEMA = "xadv.attack-run/1"
READING_PLACEHOLDER = ("(to be written from the real run: what the numbers say about mixed vs en vs multi "
                       "and QA vs NLI vs paraphrase, with the caveats of the budget)")


def read_json(path: Path, default: Any) -> Any:
    """The JSON at `path`, or `default` when it is missing or unreadable."""
    try:
        return io_read_json(path, "experiment state")
    except XadvError:
        return default


def write_json(path: Path, obj: Any, compact: bool = False) -> None:
    with atomic_open(path) as fh:
        if compact:
            json.dump(obj, fh, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def write_gz_json(path: Path, obj: Any) -> None:
    """Compact JSON, gzipped reproducibly (no name or timestamp in the gzip header): the same object gives
    the same bytes, so a committed file re-exports byte-identically."""
    blob = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with atomic_open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
        fh.write(blob + b"\n")


def read_gz(path: Path, what: str) -> bytes:
    """The gunzipped bytes of the regular file `path`; one ExperimentError line for a file that is not gzip or
    is damaged (gzip raises OSError, EOFError or zlib.error), FileNotFoundError passed on."""
    blob = read_regular_bytes(path, what)
    try:
        return gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as exc:
        raise ExperimentError(f"{path}: not a gzipped {what} file ({exc})") from None


def write_records(path: Path, records: list[dict]) -> None:
    """The records as one compact, reproducibly gzipped run file."""
    write_gz_json(path, {"schema": RECORDS_SCHEMA, "records": records})


def load_record_entries(source: Path) -> list[Entry]:
    """Checked leaderboard entries (digest, cell key, summary recomputed) of a records file or directory."""
    if source.suffix != ".gz":
        return load_entries(source)
    blob = read_gz(source, "records")
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / source.stem
        atomic_write_bytes(plain, blob)
        entries = load_entries(plain)
    return entries


def model_entry(cell: GridCell, card: dict, checkpoint: str, digest: str) -> dict:
    """What models.json keeps of a card: identity, data, seen languages, steps, time."""
    seen = card["seen_languages"]
    ev = card.get("evaluation")
    return {
        "id": cell.id, "group": cell.group, "mix": cell.mix, "task": cell.task, "seed": cell.seed,
        "created": card.get("created"),
        "intermediate_tasks": card["intermediate_tasks"], "checkpoint": checkpoint, "config_digest": digest,
        "base_model": {k: card["base_model"].get(k) for k in ("name", "fingerprint", "architecture", "n_params")},
        "preset": card.get("preset"),
        "seen_qa_languages": seen["eval_qa"], "seen_any_languages": seen["eval_any"],
        "zero_shot_languages": card["zero_shot_languages"],
        "steps": {p["name"]: p["steps"] for p in card["phases"]},
        "examples": {f"{t['phase']}:{t['task']}": t["examples_per_language"] for t in card["tasks"]},
        "train_seconds": card["wall_seconds"],
        # per phase and task: mean loss over the first and last tenth of that task's steps, and the tasks
        # whose loss did not fall (a collapsed or untrained intermediate phase makes a grid cell meaningless)
        "task_losses": {p["name"]: p.get("task_losses") for p in card["phases"]},
        "not_learning": {p["name"]: p.get("not_learning") for p in card["phases"] if p.get("not_learning")},
        "device": sorted({p.get("device", "cpu") for p in card["phases"]}),
        # the precision it trained in: the card keeps budget.mixed_precision with `auto` resolved
        "precision": ((card.get("config") or {}).get("budget") or {}).get("mixed_precision"),
        "evaluation": ev,
    }


def export(results: Path, records: list[dict], models: list[dict], info: dict) -> None:
    """records.json.gz (an `xadv.attack-run/1` run file of the real records, gzipped: `gunzip -k` gives the
    file `xadv leaderboard --results` reads), models.json, run.json."""
    order = {m["id"]: k for k, m in enumerate(models)}
    lang_order = {lang: k for k, lang in enumerate(TYDI_LANGS)}
    records = sorted(records, key=lambda r: (order.get(r["model"]["name"], 10**6),
                                             lang_order.get(r["cell"]["lang"], 99),
                                             r["cell"]["attack"], r["cell"]["target"], r["cell"]["seed"]))
    results.mkdir(parents=True, exist_ok=True)
    write_records(results / RECORDS_FILE, records)
    write_json(results / MODELS_FILE, {"schema": MODELS_SCHEMA, "models": models})
    write_json(results / RUN_FILE, info)
