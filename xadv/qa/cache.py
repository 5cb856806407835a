"""Prediction cache: a question/context pair is run through a model once, ever.

Attacks evaluate the clean example and many perturbed copies, often the same ones again; keying
the decoded prediction by (model fingerprint, engine settings, question, context) makes every
repeat free. Gold-span log-probabilities are keyed separately (they also depend on the gold spans).
Entries live in a dict and, optionally, in a sqlite file (default: `<user cache>/predictions.sqlite`),
so a re-run of `xadv eval` or a resumed attack run does no forward pass for what it has seen.

A cache file that is not a sqlite database (garbage, truncated, a crash of another tool) is only a cache:
it is moved aside to `predictions.sqlite.corrupt-<time>` (never deleted) and an empty one is started, with
one warning (`XadvWarning`). Anything at the cache path that is not a regular file (a directory, FIFO,
device) is left alone and is an error, as is a database that is locked or read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import stat
import time
import warnings
from pathlib import Path
from typing import Iterable, Sequence

from xadv.errors import XadvError, XadvWarning
from xadv.io import file_kind
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
            self._db = self._open(self.path)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS preds (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
                       "start INTEGER NOT NULL, score REAL NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS gold (key TEXT PRIMARY KEY, logprob REAL NOT NULL)")
            db.execute("SELECT key FROM preds LIMIT 1").fetchall()
            db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def _open(self, path: Path) -> sqlite3.Connection:
        unusable = f"prediction cache {path} is unusable"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            st = os.stat(path) if os.path.lexists(path) else None
        except OSError as exc:
            raise XadvError(f"{unusable} ({exc.strerror or exc}); run without the on-disk cache") from None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise XadvError(f"{unusable}: it is {file_kind(st.st_mode)}, not a regular file (move it away, or run "
                            f"without the on-disk cache)")
        try:
            return self._connect(path)
        except sqlite3.OperationalError as exc:  # locked, read-only, no room: not the file's content
            raise XadvError(f"{unusable} ({exc}); run without the on-disk cache") from None
        except sqlite3.DatabaseError as exc:  # not a database, malformed: only a cache, so set it aside
            aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):  # another process may have moved it already
                    os.replace(f"{path}{suffix}", f"{aside}{suffix}")
            warnings.warn(f"prediction cache {path} was not a usable sqlite database ({exc}): moved it to "
                          f"{aside.name} and started an empty cache", XadvWarning, stacklevel=3)
        try:
            return self._connect(path)
        except sqlite3.Error as exc:
            raise XadvError(f"{unusable} ({exc}); run without the on-disk cache") from None

    def _query(self, sql: str, args: tuple) -> tuple | None:
        assert self._db is not None
        try:
            return self._db.execute(sql, args).fetchone()
        except sqlite3.Error as exc:
            raise XadvError(f"prediction cache {self.path} failed ({exc}): delete it, or run without the "
                            f"on-disk cache") from None

    def __len__(self) -> int:
        return len(self._preds)

    def get(self, key: str) -> Entry | None:
        hit = self._preds.get(key)
        if hit is None and self._db is not None:
            row = self._query("SELECT text, start, score FROM preds WHERE key = ?", (key,))
            if row is not None:
                hit = self._preds[key] = (row[0], int(row[1]), float(row[2]))
        return hit

    def get_gold(self, key: str) -> float | None:
        hit = self._gold.get(key)
        if hit is None and self._db is not None:
            row = self._query("SELECT logprob FROM gold WHERE key = ?", (key,))
            if row is not None:
                hit = self._gold[key] = float(row[0])
        return hit

    def put_many(self, preds: Iterable[tuple[str, Entry]], gold: Iterable[tuple[str, float]] = ()) -> None:
        preds, gold = list(preds), list(gold)
        self._preds.update(preds)
        self._gold.update(gold)
        if self._db is not None:
            try:
                with self._db:  # one transaction per batch of examples
                    self._db.executemany("INSERT OR REPLACE INTO preds VALUES (?, ?, ?, ?)",
                                         [(k, t, s, sc) for k, (t, s, sc) in preds])
                    self._db.executemany("INSERT OR REPLACE INTO gold VALUES (?, ?)", gold)
            except sqlite3.Error as exc:
                raise XadvError(f"prediction cache {self.path} failed ({exc}): delete it, or run without the "
                                f"on-disk cache") from None

    def clear_memory(self) -> None:
        self._preds.clear()
        self._gold.clear()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
