"""Re-checking one attack record against itself: the checks the leaderboard, the regress gate and a
resuming `xadv attack` share.

Every record carries its per-example outcomes, so nothing in its `summary` has to be believed: the
check re-runs `xadv.score.compare` on the stored outcomes (same criterion, same bootstrap seed and
resamples, the resamples bounded) and flags any number that differs. It also flags a record whose
content no longer matches its digest (an accidental edit), or, with `XADV_RESULTS_KEY` set, whose keyed
seal is missing or does not verify (`xadv.runs.seal`: what stops a forger, who can recompute a digest),
and a cell key that does not hash from the cell's fields. Checks across records (duplicates, clean
outcomes that disagree) live in `xadv.leaderboard.entries`.

A record is assumed to have been read by `AttackRecord.from_dict` (`read_record`, `read_records_file`,
`ResultsStore`), which rejects malformed shapes with one line; values inside a well-formed shape are
checked here.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from xadv.errors import XadvError
from xadv.runs.record import CellKey, record_digest
from xadv.runs.seal import seal_problem
from xadv.score.bootstrap import DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED, MAX_RESAMPLES
from xadv.score.criterion import Criterion

TOLERANCE = 1e-6  # points; recomputation is deterministic, so anything above rounding is a real difference

EDITED, SUMMARY, INVALID, DUPLICATE, CLEAN, UNSEALED = (
    "edited", "summary", "invalid", "duplicate", "clean-outcomes", "unsealed")
# Every kind fails a check: a record without a digest (or, with a key set, without a seal) cannot be told
# apart from a forged one, so it is never only a note.
FAILING = frozenset({EDITED, SUMMARY, INVALID, DUPLICATE, CLEAN, UNSEALED})
SCORE_COLUMNS = ("clean_em", "clean_f1", "adv_em", "adv_f1")


@dataclass(frozen=True)
class Flag:
    kind: str
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Outcomes:
    """A record's per-example outcomes as arrays (scores in [0, 1])."""

    ids: tuple[str, ...]
    clean_em: np.ndarray
    clean_f1: np.ndarray
    adv_em: np.ndarray
    adv_f1: np.ndarray
    strength_applied: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, rec: dict) -> Outcomes:
        """XadvError (one line, without the file's name) when an outcome is missing, not a number, or
        outside [0, 1]; a record without outcomes cannot be checked, so it is an error too."""
        exs = rec.get("examples")
        if not isinstance(exs, list) or not exs:
            raise XadvError("record has no per-example outcomes, so nothing in it can be checked")
        try:
            cols = {k: np.array([float(e[k]) for e in exs]) for k in SCORE_COLUMNS}
            strength = np.array([float(e.get("strength_applied", 0.0)) for e in exs])
            ids = tuple(str(e["id"]) for e in exs)
        except KeyError as exc:
            raise XadvError(f"malformed results record (an example lacks {exc.args[0]!r})") from None
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise XadvError(f"malformed results record ({type(exc).__name__}: {str(exc)[:80]})") from None
        for name, col in cols.items():
            if not np.all((col >= 0) & (col <= 1)):
                raise XadvError(f"per-example {name} outside [0, 1]")
        if not np.all(np.isfinite(strength)):
            raise XadvError("per-example strength_applied is not a finite number")
        return cls(ids=ids, strength_applied=strength, **cols)


def integrity_flags(rec: dict, key: bytes | None) -> list[Flag]:
    """Digest and, with a key, seal. Without a key only accidental edits can be told (anyone can
    recompute a digest); with it, a record is trusted only when its seal verifies."""
    if key is not None:
        problem = seal_problem(rec, key)
        if problem is not None:
            return [Flag(*problem)]
    if "digest" not in rec:
        if key is not None:
            return []  # the seal verified: it covers everything the digest would
        return [Flag(UNSEALED, "written without a digest: an edit cannot be detected (xadv always writes one, "
                               "so it was removed or the record was written by something else)")]
    if rec["digest"] != record_digest(rec):
        return [Flag(EDITED, "file content no longer matches the digest it was written with")]
    return []


def _criterion(text: Any) -> str | None:
    """A stored criterion in its one spelling (None when missing or unreadable: then it differs)."""
    try:
        return Criterion.parse(text).format()
    except XadvError:
        return None


def check_record(rec: dict, *, key: bytes | None, outcomes: Outcomes | None = None) -> list[Flag]:
    """Everything one record can be checked against: its digest (and seal, with a key), its cell key, its
    own outcomes. XadvError when its outcomes are malformed (`Outcomes.of`)."""
    outcomes = outcomes if outcomes is not None else Outcomes.of(rec)
    flags = integrity_flags(rec, key)
    cell = {k: v for k, v in rec["cell"].items() if k != "key"}
    try:
        parsed = CellKey(**cell)
        if parsed.key != rec["cell"].get("key"):
            flags.append(Flag(INVALID, "cell key does not hash from the cell's fields"))
    except TypeError as exc:
        flags.append(Flag(INVALID, f"cell fields are not a cell key ({exc})"))
        return flags
    criterion = _criterion(parsed.criterion)
    if criterion is None:
        return [*flags, Flag(INVALID, f"cell criterion {parsed.criterion!r:.40} is not a criterion")]
    model, data, summary = rec["model"], rec["data"], rec["summary"]
    for what, a, b in (("model fingerprint", model.get("fingerprint"), parsed.model_fingerprint),
                       ("data lang", data.get("lang"), parsed.lang),
                       ("data question_lang", data.get("question_lang") or "", parsed.question_lang),
                       ("data n", data.get("n"), outcomes.n),
                       ("summary n", summary.get("n"), outcomes.n),
                       ("summary mode", summary.get("mode"), parsed.mode),
                       ("summary criterion", _criterion(summary.get("criterion")), criterion)):
        if a != b:
            flags.append(Flag(INVALID, f"{what} is {_show(a)} but the cell says {_show(b)}"))
    counts = Counter(outcomes.ids)
    dupes = [i for i, c in counts.items() if c > 1]
    if dupes:
        flags.append(Flag(INVALID, f"example id {dupes[0]!r:.60} appears {counts[dupes[0]]} times"))
    boot = bootstrap_settings(summary)
    if isinstance(boot, Flag):
        flags.append(boot)
    elif not any(f.kind == INVALID for f in flags):
        flags.extend(check_summary(summary, outcomes, parsed.lang, parsed.mode, Criterion.parse(criterion), boot))
    return flags


def bootstrap_settings(summary: dict) -> tuple[float, int, int] | Flag:
    """(level, resamples, seed) a record says its intervals used, or an INVALID flag when they are not
    settings the check may honour (resamples outside 0..MAX_RESAMPLES: a stored 1e9 would exhaust memory)."""
    boot = summary.get("bootstrap")
    if boot is None:
        boot = {}
    if not isinstance(boot, dict):
        return Flag(INVALID, f"summary bootstrap is not an object ({_show(boot)}); the summary was not recomputed")
    level, resamples, seed = (boot.get("level", DEFAULT_LEVEL), boot.get("resamples", DEFAULT_RESAMPLES),
                              boot.get("seed", DEFAULT_SEED))
    if not (isinstance(resamples, int) and not isinstance(resamples, bool) and 0 <= resamples <= MAX_RESAMPLES):
        return Flag(INVALID, f"summary bootstrap resamples {_show(resamples)} is outside 0..{MAX_RESAMPLES}; the "
                             "summary was not recomputed")
    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**63):
        return Flag(INVALID, f"summary bootstrap seed {_show(seed)} is not a whole number >= 0; the summary was "
                             "not recomputed")
    if not (isinstance(level, (int, float)) and not isinstance(level, bool) and 0 < level < 1):
        return Flag(INVALID, f"summary bootstrap level {_show(level)} is not in (0, 1); the summary was not "
                             "recomputed")
    return float(level), resamples, seed


def check_summary(summary: dict, outcomes: Outcomes, lang: str, mode: str, criterion: Criterion,
                  boot: tuple[float, int, int]) -> list[Flag]:
    """Re-run the comparison on the stored outcomes and name every number that differs."""
    from xadv.score.compare import compare
    from xadv.score.evaluate import ScoreResult

    level, resamples, seed = boot
    ids, langs = outcomes.ids, (lang,) * outcomes.n
    clean = ScoreResult(mode, ids, langs, outcomes.clean_em, outcomes.clean_f1)
    adv = ScoreResult(mode, ids, langs, outcomes.adv_em, outcomes.adv_f1)
    redo = compare(clean, adv, criterion=criterion, level=level, n_resamples=resamples, seed=seed).to_dict()
    wrong = []
    for key, value in redo.items():
        if key in ("mode", "criterion", "bootstrap"):
            continue
        stored = summary.get(key)
        if key == "ci":
            stored = stored if isinstance(stored, dict) else {}
            for stat, pair in value.items():
                if not _same(stored.get(stat), pair):
                    wrong.append(f"{stat} CI {_show(stored.get(stat))} vs {_show(pair)}")
        elif not _same(stored, value):
            wrong.append(f"{key} {_show(stored)} vs {_show(value)}")
    if "strength_applied_mean" in summary:
        mean = float(np.mean(outcomes.strength_applied))
        if not _same(summary["strength_applied_mean"], mean, tol=1e-5):
            wrong.append(f"strength_applied_mean {_show(summary['strength_applied_mean'])} vs {_show(mean)}")
    if not wrong:
        return []
    more = f" (+{len(wrong) - 3} more)" if len(wrong) > 3 else ""
    return [Flag(SUMMARY, "summary disagrees with the per-example outcomes (stored vs recomputed): "
                 + "; ".join(wrong[:3]) + more)]


def _same(a: Any, b: Any, tol: float = TOLERANCE) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(_same(x, y, tol) for x, y in zip(a, b)))
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError, OverflowError):
        return bool(a == b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    return abs(fa - fb) <= tol


def _show(x: Any) -> str:
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in x[:4]) + (", …" if len(x) > 4 else "") + "]"
    if x is None:
        return "none"
    if isinstance(x, float):
        return f"{x:.2f}"
    text = repr(x) if isinstance(x, str) else str(x)
    return text if len(text) <= 40 else text[:39] + "…"

