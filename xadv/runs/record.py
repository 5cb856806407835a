"""The attack record: one typed, versioned, sealed result per cell (schema `xadv.attack-record/2`).

One JSON object per (model, language, attack, target, seed, settings) cell. Its shape is committed as
a JSON Schema (`docs/schema/attack-record-2.schema.json`, checked in tests against records the code
writes); the dataclasses below are the only code that writes or reads it:

- `CellKey`: the inputs that define the cell; their hash names the file, so equal inputs resume.
- `ModelInfo`, `DataInfo`: which model (and which languages its card says it saw), which questions.

`lang` is the context's language (the one answers are scored in); a cross-lingual cell (MLQA `en-de`:
English contexts, German questions) adds `question_lang` to its cell and data, and only then, so every
same-language key and record keeps its bytes. `lang_label` names the pair (`en-de`) in files and tables.
- `Summary`: `xadv.score.compare` (clean/adversarial F1 and EM, drops, robust F1, ASR with its
  denominator, 95% CIs) plus the mean strength applied and, for a search cell, `SearchSummary`.
- `ExampleOutcome`: per question, both predictions and scores (what the leaderboard recomputes from),
  the edit size and before/after material for reports; a search adds its per-example numbers.
- `RunEnv`: how long it took and on what (`xadv.provenance.Provenance` + engine settings).
- `AttackRecord`: all of the above; `to_dict` adds the `digest` (sha256 of every other field) and, for a
  record written with `XADV_RESULTS_KEY` set, its `seal` (HMAC-SHA256 of the same bytes, `xadv.runs.seal`).
  The digest only catches accidental edits (anyone can recompute it); the keyed seal is what stops forgery.

A static cell has `search: null`; a search cell carries `attacks.search.SearchSpec.cell()` there (so it
never shares a key with a static cell), its `strength` is the search's max share of words and its
`criterion` is the goal's (em-flip: `em`, f1-below:T: `f1>=T`, f1-zero: `f1>0`; `xadv.score.criterion`).

Version 1 records (`xadv.attack-record/1`: the same fields, `f1>0` spelt `f1>=1e-09`, no `env.threads`)
still load; any other version is a one-line error naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from xadv.errors import XadvError
from xadv.io import read_json
from xadv.runs.seal import Seal, canonical_json, sealed_content

SCHEMA = "xadv.attack-record/2"
SCHEMA_V1 = "xadv.attack-record/1"
READABLE_SCHEMAS = (SCHEMA, SCHEMA_V1)
RUN_SCHEMA = "xadv.attack-run/1"  # `xadv attack --out`: {"schema", "records": [record, ...]}


def stable_hash(obj: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace): equal inputs, equal hashes, any process."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


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


def _malformed(what: str, exc: Exception) -> XadvError:
    return XadvError(f"malformed {what} ({type(exc).__name__}: {exc})")


def _build(cls, d: Any, what: str, **fixed):
    """`cls(**d)` with the dataclass's own fields only; XadvError (one line) when `d` is not that shape."""
    if not isinstance(d, dict):
        raise XadvError(f"malformed {what}: expected an object, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in d.items() if k in names}, **fixed)
    except (TypeError, ValueError) as exc:
        raise _malformed(what, exc) from None


@dataclass(frozen=True)
class CellKey:
    """The inputs that define a cell; its `key` names the record on disk. Fields are stored as written
    (strings, plain dicts) so that a record's key re-hashes identically in any later version."""

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
    question_lang: str = ""  # "": the question is in `lang`; else a cross-lingual pair (MLQA en-de: "de")

    @property
    def key(self) -> str:
        return stable_hash(self.fields())

    @property
    def lang_label(self) -> str:
        """`en` for a same-language cell, `en-de` (context-question) for a cross-lingual one."""
        return pair_label(self.lang, self.question_lang)

    def fields(self) -> dict:
        """The cell as hashed and written: `question_lang` only where set, so same-language keys are unchanged."""
        d = asdict(self)
        if not d["question_lang"]:
            del d["question_lang"]
        return d

    def filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in self.attack)
        return (f"{self.model_fingerprint[:12]}.{self.lang_label}.{safe}.{self.target}.s{self.seed}."
                f"{self.key[:10]}.json")

    def to_dict(self) -> dict:
        return {"key": self.key, **self.fields()}

    @classmethod
    def from_dict(cls, d: Any) -> CellKey:
        if not isinstance(d, dict):
            raise XadvError(f"malformed cell: expected an object, got {type(d).__name__}")
        return _checked(_build(cls, {k: v for k, v in d.items() if k != "key"}, "cell"), _CELL_TYPES, "cell")


def pair_label(lang: str, question_lang: str | None = None) -> str:
    """A row's languages as one label: `en` when the question is in the context's language, else `en-de`
    (context-question, as MLQA names its files)."""
    return f"{lang}-{question_lang}" if question_lang and question_lang != lang else lang


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_str_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(v, str) for v in x)


def _checked(obj: Any, types: tuple, what: str) -> Any:
    """`obj` when each (field, predicate, wanted) holds; XadvError naming the first field that does not."""
    for name, ok, want in types:
        if not ok(getattr(obj, name)):
            raise XadvError(f"malformed {what}: {name} must be {want}, got {getattr(obj, name)!r:.60}")
    return obj


def _optional(pred: Any) -> Any:
    return lambda v: v is None or pred(v)


_MODEL_TYPES = (
    ("name", lambda v: isinstance(v, str), "a string"),
    ("fingerprint", lambda v: isinstance(v, str), "a string"),
    ("seen_qa_languages", _optional(_is_str_list), "a list of language codes or null"),
    ("zero_shot", _optional(lambda v: isinstance(v, bool)), "true, false or null"),
    ("mix", _optional(lambda v: isinstance(v, str)), "a string or null"),
    ("intermediate_tasks", _optional(_is_str_list), "a list of strings or null"),
)
_DATA_TYPES = (
    ("name", lambda v: isinstance(v, str), "a string"),
    ("lang", lambda v: isinstance(v, str), "a string"),
    ("n", lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    ("sha256", lambda v: isinstance(v, str), "a string"),
    ("question_lang", _optional(lambda v: isinstance(v, str)), "a string or absent"),
)
_CELL_TYPES = (
    *((name, lambda v: isinstance(v, str), "a string") for name in
      ("model_fingerprint", "lang", "attack", "target", "data_sha256", "mode", "criterion", "engine",
       "question_lang")),
    ("params", lambda v: isinstance(v, dict), "an object"),
    ("strength", _is_number, "a number"),
    ("seed", lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    ("search", lambda v: v is None or isinstance(v, dict), "an object or null"),
)


def search_tag(search: dict | None) -> str:
    """A short name for a cell's search settings: `greedy em-flip 200q` ("" for a static cell)."""
    if not search:
        return ""
    return f"{search.get('search')} {search.get('goal')} {search.get('budget')}q"


@dataclass(frozen=True)
class ModelInfo:
    """The model of a record, and the zero-shot mark of the record's languages from its card (None: no card):
    zero-shot when the card's QA languages lack the context's or the question's language."""

    name: str
    fingerprint: str
    seen_qa_languages: list[str] | None = None
    zero_shot: bool | None = None
    mix: str | None = None
    intermediate_tasks: list[str] | None = None

    @classmethod
    def of(cls, loaded: Any, lang: str | None = None, question_lang: str | None = None) -> ModelInfo:
        """From a `LoadedModel` (its `zero_shot` holds the card's seen languages, when it has a card)."""
        zs = getattr(loaded, "zero_shot", None) or {}
        seen = zs.get("seen_qa_languages")
        langs = [x for x in (lang, question_lang) if x]
        return cls(name=loaded.name, fingerprint=loaded.fingerprint, seen_qa_languages=seen,
                   zero_shot=any(x not in seen for x in langs) if (seen is not None and lang) else None,
                   mix=zs.get("mix"), intermediate_tasks=zs.get("intermediate_tasks"))


@dataclass(frozen=True)
class DataInfo:
    """The questions of a cell: dataset name, context language, count, `rows_sha256`, and the question
    language of a cross-lingual cell (None otherwise, and then not written)."""

    name: str
    lang: str
    n: int
    sha256: str
    question_lang: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["question_lang"] is None:
            del d["question_lang"]
        return d


SEARCH_SUMMARY_KEYS = ("goal", "skipped", "succeeded", "failed", "mean_queries", "mean_queries_to_success",
                       "mean_share_changed", "mean_share_changed_successful", "seconds_per_example",
                       "examples_per_second", "forward_passes", "cache_hits")


@dataclass(frozen=True)
class SearchSummary:
    """What a search cell adds to its summary: per attacked example (right on clean input) queries and
    share of words changed; `skipped` are questions already wrong on clean input."""

    goal: str
    skipped: int
    succeeded: int
    failed: int
    mean_queries: float | None  # None: no example to attack (all skipped)
    mean_queries_to_success: float | None
    mean_share_changed: float | None
    mean_share_changed_successful: float | None
    seconds_per_example: float | None
    examples_per_second: float | None
    forward_passes: int | None  # None: the engine keeps no counters (a constructed model)
    cache_hits: int | None


@dataclass(frozen=True)
class Summary:
    """`xadv.score.Comparison.to_dict()` (kept as written: the leaderboard re-checks every number of it),
    the mean share of the target edited, and a search's own numbers."""

    comparison: dict
    strength_applied_mean: float
    search: SearchSummary | None = None

    def __getitem__(self, key: str) -> Any:  # summary["asr"]: the flat view reports and tables read
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def to_dict(self) -> dict:
        out = {**self.comparison, "strength_applied_mean": self.strength_applied_mean}
        if self.search is not None:
            out.update(asdict(self.search))
        return out

    @classmethod
    def from_dict(cls, d: dict, searched: bool) -> Summary:
        if not isinstance(d, dict):
            raise XadvError(f"malformed summary: expected an object, got {type(d).__name__}")
        extra = {"strength_applied_mean", *SEARCH_SUMMARY_KEYS} if searched else {"strength_applied_mean"}
        comparison = {k: v for k, v in d.items() if k not in extra}
        search = _build(SearchSummary, d, "search summary") if searched else None
        try:
            strength = float(d.get("strength_applied_mean", 0.0))
        except (TypeError, ValueError) as exc:
            raise _malformed("summary strength_applied_mean", exc) from None
        return cls(comparison, strength, search)


@dataclass(frozen=True)
class ExampleSearch:
    """What a search adds per example (written flat, `status` as `search_status`): the outcome, queries
    spent, the first query that met the goal, words changed of the target's words, seconds."""

    status: str  # succeeded | failed | skipped (already wrong on clean input)
    queries: int
    success_query: int | None
    words_changed: int
    words_total: int
    seconds: float

    def to_dict(self) -> dict:
        d = asdict(self)
        return {"search_status": d.pop("status"), **d}

    @classmethod
    def from_dict(cls, d: dict) -> ExampleSearch:
        return _build(cls, {**d, "status": d.get("search_status")}, "example search outcome")


@dataclass(frozen=True)
class ExampleOutcome:
    """One question: clean and adversarial prediction and scores (in [0, 1]), the edit, report material.

    `question`/`adv_question` are set only where the attack changed the question; `context_snippet` is
    a window of both contexts around the first context edit (`snippet`); `search` only in a search cell."""

    id: str
    clean_pred: str
    adv_pred: str
    clean_em: float
    clean_f1: float
    adv_em: float
    adv_f1: float
    strength_applied: float
    n_edits: int
    adv_question: str | None
    question: str | None
    context_changed: bool
    context_snippet: dict | None
    search: ExampleSearch | None = None
    similarity: float | None = None  # question similarity (xadv.models.similarity), where measured
    reverted: bool | None = None  # True: every draw fell below --min-similarity, so left unchanged

    @classmethod
    def of(cls, row: Any, adv_row: Any, clean_pred: str, adv_pred: str, clean_s: tuple, adv_s: tuple,
           strength_applied: float, n_edits: int, search: ExampleSearch | None = None,
           similarity: float | None = None, reverted: bool | None = None) -> ExampleOutcome:
        changed_q = adv_row["question"] != row["question"]
        return cls(id=row["id"], clean_pred=clean_pred, adv_pred=adv_pred,
                   clean_em=clean_s[0], clean_f1=clean_s[1], adv_em=adv_s[0], adv_f1=adv_s[1],
                   strength_applied=round(strength_applied, 6), n_edits=n_edits,
                   adv_question=adv_row["question"] if changed_q else None,
                   question=row["question"] if changed_q else None,
                   context_changed=adv_row["context"] != row["context"],
                   context_snippet=snippet(row["context"], adv_row["context"]), search=search,
                   similarity=similarity, reverted=reverted)

    def to_dict(self) -> dict:
        """Optional measures are written only when present: older records keep their bytes and digests."""
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name != "search" and not (f.name in _OPTIONAL_OUTCOME and getattr(self, f.name) is None)}
        return {**d, **self.search.to_dict()} if self.search is not None else d

    @classmethod
    def from_dict(cls, d: Any) -> ExampleOutcome:
        if not isinstance(d, dict):
            raise XadvError(f"malformed example outcome: expected an object, got {type(d).__name__}")
        search = ExampleSearch.from_dict(d) if "search_status" in d else None
        base = {k: v for k, v in d.items() if k not in ("search_status", *(f.name for f in fields(ExampleSearch)))}
        return _checked(_build(cls, base, "example outcome", search=search), _OUTCOME_TYPES, "example outcome")


_OPTIONAL_OUTCOME = ("similarity", "reverted")
_OUTCOME_TYPES = (
    ("similarity", _optional(lambda v: _is_number(v) and -1.0 <= v <= 1.0), "a number in [-1, 1] or absent"),
    ("reverted", _optional(lambda v: isinstance(v, bool)), "true, false or absent"),
)


def snippet(clean: str, adv: str, pad: int = 80) -> dict | None:
    """{"clean", "adv", "offset"}: both contexts around the first edit ("…" marks a cut), or None when equal.

    From `pad` characters before the first difference to `pad` after the last one when the changed
    region is short (then the two windows align exactly), else to `2 * pad` after the first one.
    Enough to show an edit in a report, not the page."""
    if clean == adv:
        return None
    first = next((k for k, (a, b) in enumerate(zip(clean, adv)) if a != b), min(len(clean), len(adv)))
    same_tail = 0
    limit = min(len(clean), len(adv)) - first
    while same_tail < limit and clean[-1 - same_tail] == adv[-1 - same_tail]:
        same_tail += 1
    end_c, end_a = len(clean) - same_tail, len(adv) - same_tail
    lo = max(0, first - pad)
    short = max(end_c, end_a) - first <= 2 * pad

    def cut(text: str, end: int) -> str:
        hi = min(len(text), end + pad if short else first + 2 * pad)
        return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")

    return {"clean": cut(clean, end_c), "adv": cut(adv, end_a), "offset": first}


@dataclass(frozen=True)
class RunEnv:
    """How the cell was computed: `xadv.provenance.Provenance` fields, seconds, engine settings, device,
    threads. Version 1 records wrote xadv_version, git_commit, created, seconds, engine and device."""

    xadv_version: str
    git_commit: str | None
    created: str
    seconds: float
    engine: str
    device: str = "cpu"
    threads: int | None = None
    python: str | None = None
    packages: dict | None = None
    # static cells: adversarial examples answered from the clean pass (input unchanged) vs run through the model
    reused: int | None = None
    computed: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("git_commit",)}

    @classmethod
    def from_dict(cls, d: dict) -> RunEnv:
        return _build(cls, d, "env")


@dataclass(frozen=True)
class AttackRecord:
    cell: CellKey
    model: ModelInfo
    data: DataInfo
    summary: Summary
    examples: tuple[ExampleOutcome, ...]
    env: RunEnv
    schema: str = SCHEMA
    seal: Seal | None = None  # as written (a record read back keeps its seal, verified or not)

    def sealed(self, key: bytes | None) -> AttackRecord:
        """This record with a fresh seal under `key` (the `XADV_RESULTS_KEY`); unchanged when None."""
        if key is None:
            return self
        return replace(self, seal=Seal.make(replace(self, seal=None).to_dict(), key))

    def to_dict(self) -> dict:
        c = self.cell
        out = {
            "schema": self.schema,
            "cell": c.to_dict(),
            "model": asdict(self.model),
            "data": self.data.to_dict(),
            "attack": {"name": c.attack, "params": c.params, "target": c.target, "strength": c.strength,
                       "search": c.search},
            "seed": c.seed,
            "mode": c.mode,
            "criterion": c.criterion,
            "summary": self.summary.to_dict(),
            "examples": [e.to_dict() for e in self.examples],
            "env": self.env.to_dict(),
        }
        out["digest"] = record_digest(out)
        if self.seal is not None:
            out["seal"] = self.seal.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: dict, where: str = "record") -> AttackRecord:
        """A record as written by this or an earlier version; XadvError naming `where` when malformed.
        Reading does not re-seal: `to_dict` of a version 1 record is a version 1 dict again, and a sealed
        record keeps the seal it was read with (verifying it is `xadv.runs.verify`'s job)."""
        check_schema(d, where)
        try:
            seal = Seal.from_dict(d["seal"]) if "seal" in d else None
            cell = CellKey.from_dict(d["cell"])
            examples = d["examples"]
            if not isinstance(examples, list):
                raise XadvError("malformed examples: expected a list")
            return cls(cell=cell, model=_checked(_build(ModelInfo, d["model"], "model"), _MODEL_TYPES, "model"),
                       data=_checked(_build(DataInfo, d["data"], "data"), _DATA_TYPES, "data"),
                       summary=Summary.from_dict(d["summary"], bool(cell.search)),
                       examples=tuple(ExampleOutcome.from_dict(e) for e in examples),
                       env=RunEnv.from_dict(d.get("env") or {}), schema=d["schema"], seal=seal)
        except KeyError as exc:
            raise XadvError(f"{where}: results record lacks {exc.args[0]!r}") from None
        except XadvError as exc:
            raise XadvError(f"{where}: {exc}") from None


def check_schema(obj: Any, where: str) -> None:
    """XadvError naming `where` unless `obj` is a record of a version this xadv reads."""
    found = obj.get("schema") if isinstance(obj, dict) else type(obj).__name__
    if found in READABLE_SCHEMAS:
        return
    if isinstance(found, str) and found.startswith("xadv.attack-record/"):
        raise XadvError(f"{where}: attack record version {found!r} is not readable by this xadv "
                        f"(it reads {', '.join(READABLE_SCHEMAS)})")
    raise XadvError(f"{where}: not an xadv attack record (schema {found!r}, expected {SCHEMA!r})")


def record_digest(obj: dict) -> str:
    """The digest of a record: `stable_hash` of all its fields but `digest` (and `seal`). A file edited
    after it was written (by hand or by another tool) no longer matches it; the leaderboard marks such
    entries. Anyone can recompute it, so it catches accidental edits only: forgery needs the keyed seal."""
    return stable_hash(sealed_content(obj))


def _read_json(path: Path, what: str, missing_hint: str = "") -> Any:
    return read_json(path, what, missing=f"{path}: no such {what} file{missing_hint}", unicode_only=True)


def load_versioned_json(path: str | os.PathLike, schema: str, what: str, missing_hint: str = "") -> dict:
    """Read a JSON object whose "schema" must be `schema`; XadvError naming the file otherwise.

    `what` names the kind of file in messages ("results record", "regress baseline")."""
    path = Path(path)
    obj = _read_json(path, what, missing_hint)
    if not isinstance(obj, dict) or obj.get("schema") != schema:
        found = obj.get("schema") if isinstance(obj, dict) else type(obj).__name__
        raise XadvError(f"{path}: not an xadv {what} (schema {found!r}, expected {schema!r})")
    return obj


def read_record(path: str | os.PathLike) -> dict:
    """Load one record file as written (the dict its digest seals), checked by `AttackRecord.from_dict`."""
    path = Path(path)
    obj = _read_json(path, "attack record")
    AttackRecord.from_dict(obj, str(path))
    return obj


def load_record(path: str | os.PathLike) -> AttackRecord:
    """One record file, typed."""
    return AttackRecord.from_dict(_read_json(Path(path), "attack record"), str(path))
