"""Prediction cache: a question/context pair is run through a model once, ever.

Attacks evaluate the clean example and many perturbed copies, often the same ones again; keying
the decoded prediction by (model fingerprint, engine settings, question, context) makes every
repeat free. Gold-span log-probabilities are keyed separately (they also depend on the gold spans).
Entries live in a dict and, optionally, in a sqlite file (default: `<user cache>/predictions.sqlite`),
so a re-run of `xadv eval` or a resumed attack run does no forward pass for what it has seen.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

from xadv.errors import XadvError
from xadv.paths import cache_dir

#: (text, start, score) of a decoded prediction.
Entry = tuple[str, int, float]


def default_cache_path() -> Path:
    return cache_dir() / "predictions.sqlite"


def prediction_key(fingerprint: str, settings: str, question: str, context: str) -> str:
    payload = json.dumps([fingerprint, settings, question, context], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def gold_key(pred_key: str, gold: Sequence[tuple[int, str]]) -> str:
    payload = json.dumps([pred_key, sorted(set((int(s), t) for s, t in gold))], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class PredictionCache:
    """In-memory dict in front of an optional sqlite store; `path=None` keeps it in memory only."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self._preds: dict[str, Entry] = {}
        self._gold: dict[str, float] = {}
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS preds (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
                                 "start INTEGER NOT NULL, score REAL NOT NULL)")
                self._db.execute("CREATE TABLE IF NOT EXISTS gold (key TEXT PRIMARY KEY, logprob REAL NOT NULL)")
                self._db.commit()
            except (sqlite3.Error, OSError) as exc:
                raise XadvError(f"prediction cache {self.path} is unusable ({exc}); "
                                f"delete it or run without the on-disk cache") from exc

    def __len__(self) -> int:
        return len(self._preds)

    def get(self, key: str) -> Entry | None:
        hit = self._preds.get(key)
        if hit is None and self._db is not None:
            row = self._db.execute("SELECT text, start, score FROM preds WHERE key = ?", (key,)).fetchone()
            if row is not None:
                hit = self._preds[key] = (row[0], int(row[1]), float(row[2]))
        return hit

    def get_gold(self, key: str) -> float | None:
        hit = self._gold.get(key)
        if hit is None and self._db is not None:
            row = self._db.execute("SELECT logprob FROM gold WHERE key = ?", (key,)).fetchone()
            if row is not None:
                hit = self._gold[key] = float(row[0])
        return hit

    def put_many(self, preds: Iterable[tuple[str, Entry]], gold: Iterable[tuple[str, float]] = ()) -> None:
        preds, gold = list(preds), list(gold)
        self._preds.update(preds)
        self._gold.update(gold)
        if self._db is not None:
            with self._db:  # one transaction per batch of examples
                self._db.executemany("INSERT OR REPLACE INTO preds VALUES (?, ?, ?, ?)",
                                     [(k, t, s, sc) for k, (t, s, sc) in preds])
                self._db.executemany("INSERT OR REPLACE INTO gold VALUES (?, ?)", gold)

    def clear_memory(self) -> None:
        self._preds.clear()
        self._gold.clear()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
