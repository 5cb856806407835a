"""The results record of one attack cell (schema `xadv.attack-record/1`).

One JSON object per (model, language, attack, target, seed) cell:

```
{
  "schema": "xadv.attack-record/1",
  "cell": {"key": "<sha256 of the cell fields>", "model_fingerprint", "lang", "attack", "params", "target",
           "strength", "seed", "data_sha256", "mode", "criterion", "search": null | {...}, "engine"},
  "model": {"name", "fingerprint", "seen_qa_languages": [...] | null, "zero_shot": true|false|null,
            "mix", "intermediate_tasks"},
  "data":  {"name", "lang", "n", "sha256"},            # sha256 over the ids/questions/contexts/answers used
  "attack": {"name", "params", "target", "strength", "search": null | {...}},
  "seed": 0, "mode": "squad" | "multilingual", "criterion": "em" | "f1>=0.5",
  "summary": Comparison.to_dict() (clean/adv F1 & EM, drops, robust F1, ASR + denominator, 95% CIs)
             + "strength_applied_mean"
             + for a search: "goal", "skipped", "succeeded", "failed", "mean_queries" (per attacked
               example), "mean_queries_to_success", "mean_share_changed", "mean_share_changed_successful",
               "seconds_per_example", "examples_per_second", "forward_passes", "cache_hits",
  "examples": [{"id", "clean_pred", "adv_pred", "clean_em", "clean_f1", "adv_em", "adv_f1",
                "strength_applied", "n_edits", "adv_question", "question" (clean, where changed),
                "context_changed", "context_snippet": null | {"clean", "adv", "offset"}
                + for a search: "search_status", "queries", "success_query", "words_changed",
                  "words_total", "seconds"}...],
  "env": {"xadv_version", "git_commit", "created", "seconds", "device", "threads", "engine"},
  "digest": "<stable_hash of every other field>"   # seals the file: any later edit shows (`record_digest`)
}
```

A static cell has `search: null`; a search cell (`xadv attack --search`) carries its settings there
(`attacks.search.SearchSpec.cell`: search, goal, budget, max_share, max_words, candidates, beam_width,
wir, guided, max_edit_distance, context_window), so it never shares a key with a static cell, its
`strength` is the search's max share of words, and its `criterion` is the goal's (em-flip: em,
f1-below:T: f1>=T, f1-zero: f1>=1e-09, i.e. F1 > 0).

Per-example outcomes are stored so a leaderboard can recompute every aggregate instead of trusting
the summary (as RobustBench re-checks submissions).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xadv.errors import XadvError

SCHEMA = "xadv.attack-record/1"


def stable_hash(obj: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace): equal inputs, equal hashes, any process."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def rows_sha256(rows) -> str:
    """Hash of exactly what an evaluation sees: ids, questions, contexts and gold answers, in order."""
    digest = hashlib.sha256()
    for r in rows:
        ans = r["answers"]
        digest.update(json.dumps([r["id"], r["question"], r["context"], list(ans["text"]),
                                  [int(s) for s in ans["answer_start"]]],
                                 ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class CellKey:
    """The inputs that define a cell; its `key` names the record on disk."""

    model_fingerprint: str
    lang: str
    attack: str
    params: dict
    target: str
    strength: float
    seed: int
    data_sha256: str
    mode: str
    criterion: str
    search: dict | None = None
    engine: str = ""  # the engine settings that change predictions (window, stride, int8): `EngineConfig.settings_key`

    @property
    def key(self) -> str:
        return stable_hash(asdict(self))

    def filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in self.attack)
        return (f"{self.model_fingerprint[:12]}.{self.lang}.{safe}.{self.target}.s{self.seed}."
                f"{self.key[:10]}.json")

    def to_dict(self) -> dict:
        return {"key": self.key, **asdict(self)}


@dataclass
class AttackRecord:
    cell: CellKey
    model: dict
    data: dict
    summary: dict
    examples: list[dict]
    env: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        c = self.cell
        out = {
            "schema": SCHEMA,
            "cell": c.to_dict(),
            "model": self.model,
            "data": self.data,
            "attack": {"name": c.attack, "params": c.params, "target": c.target, "strength": c.strength,
                       "search": c.search},
            "seed": c.seed,
            "mode": c.mode,
            "criterion": c.criterion,
            "summary": self.summary,
            "examples": self.examples,
            "env": self.env,
        }
        out["digest"] = record_digest(out)
        return out


def search_tag(search: dict | None) -> str:
    """A short name for a cell's search settings: `greedy em-flip 200q` ("" for a static cell)."""
    if not search:
        return ""
    return f"{search.get('search')} {search.get('goal')} {search.get('budget')}q"


def record_digest(obj: dict) -> str:
    """The seal of a record: `stable_hash` of all its fields but `digest`. A file edited after it was
    written (by hand or by another tool) no longer matches it; the leaderboard marks such entries."""
    return stable_hash({k: v for k, v in obj.items() if k != "digest"})


def load_versioned_json(path: str | os.PathLike, schema: str, what: str, missing_hint: str = "") -> dict:
    """Read a JSON object whose "schema" must be `schema`; XadvError naming the file otherwise.

    `what` names the kind of file in messages ("results record", "regress baseline")."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XadvError(f"{path}: no such {what} file{missing_hint}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XadvError(f"{path}: not a JSON {what} ({exc})") from None
    if not isinstance(obj, dict) or obj.get("schema") != schema:
        found = obj.get("schema") if isinstance(obj, dict) else type(obj).__name__
        raise XadvError(f"{path}: not an xadv {what} (schema {found!r}, expected {schema!r})")
    return obj


def read_record(path: str | os.PathLike) -> dict:
    """Load and check one record; XadvError naming the file when it is not a valid xadv record."""
    path = Path(path)
    obj = load_versioned_json(path, SCHEMA, "attack record")
    for key in ("cell", "model", "data", "summary", "examples"):
        if key not in obj:
            raise XadvError(f"{path}: results record lacks {key!r}")
    return obj
