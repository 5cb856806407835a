"""The v2 experiment's evaluation sample (benchmarks/experiment-v2.md, section 5): pure functions of the rows.

The first `tuning` questions of every language (in file order) are the *tuning questions*: v1 chose its
target lr on them, so they never enter the evaluation. From the rest of each language a seeded random
sample is drawn: rows ordered by SHA-256 of `seed:id` (not by Python's `random`, so the sample is the same
on every machine and for any input order), the first `per_lang` taken, all of them where fewer remain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xadv.errors import XadvError

PER_LANG = 150
TUNING_PER_LANG = 30
SAMPLE_SEED = 2026


@dataclass(frozen=True)
class EvalSample:
    """Evaluation and tuning question ids, per language, in the sample's order."""

    evaluation: dict[str, tuple[str, ...]]
    tuning: dict[str, tuple[str, ...]]

    def ids(self) -> set[str]:
        return {i for ids in self.evaluation.values() for i in ids}

    def tuning_ids(self) -> set[str]:
        return {i for ids in self.tuning.values() for i in ids}

    def rows(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """`rows` restricted to the evaluation sample, in language then sample order."""
        by_id = {r["id"]: r for r in rows}
        return [by_id[i] for lang in sorted(self.evaluation) for i in self.evaluation[lang]]


def _rank(seed: int, qid: str) -> str:
    return hashlib.sha256(f"{seed}:{qid}".encode("utf-8")).hexdigest()


def evaluation_sample(rows: Sequence[Mapping[str, Any]], *, per_lang: int = PER_LANG,
                      tuning: int = TUNING_PER_LANG, seed: int = SAMPLE_SEED) -> EvalSample:
    """The tuning questions (first `tuning` per language in `rows`' order, which must be file order) and the
    evaluation sample (`per_lang` per language from the rest, ordered by `_rank`)."""
    if per_lang < 1 or tuning < 0:
        raise XadvError(f"per_lang must be >= 1 and tuning >= 0 (got {per_lang}, {tuning})")
    by_lang: dict[str, list[str]] = {}
    for row in rows:
        by_lang.setdefault(str(row["lang"]), []).append(str(row["id"]))
    evaluation, tuned = {}, {}
    for lang, ids in sorted(by_lang.items()):
        if len(set(ids)) != len(ids):
            raise XadvError(f"duplicate question ids in {lang}: a sample by id would be ambiguous")
        tuned[lang] = tuple(ids[:tuning])
        rest = sorted(ids[tuning:], key=lambda qid: _rank(seed, qid))
        evaluation[lang] = tuple(rest[:per_lang])
    return EvalSample(evaluation=evaluation, tuning=tuned)
