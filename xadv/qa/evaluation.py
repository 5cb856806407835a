"""Clean evaluation: one model on one QA dataset -> per-language F1/EM with bootstrap intervals.

The glue behind `xadv eval`: the engine predicts, `xadv.score` scores, and this module only chooses
the examples, aggregates per language and times the run. Intervals are 95% percentile bootstraps
over questions (per language, and for "all"); the macro average (the XTREME convention: the mean of
the per-language scores) resamples each language separately, so its interval stays stratified.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xadv.errors import XadvError
from xadv.io import atomic_open
from xadv.qa.engine import EngineConfig, QAEngine

N_RESAMPLES = 1000
SEED = 0


@dataclass(frozen=True)
class Row:
    """One line of the results table: F1/EM (x100) and their 95% intervals."""

    name: str  # a language code, "all" (micro) or "macro"
    n: int
    f1: float
    f1_ci: tuple[float, float]
    exact_match: float
    exact_match_ci: tuple[float, float]


@dataclass
class EvalReport:
    """Everything `xadv eval` shows or writes; `to_dict()` is its JSON form."""

    model: str
    fingerprint: str
    has_qa_head: bool
    data: str
    mode: str
    languages: list[Row]
    overall: Row
    macro: Row | None  # None with a single language
    engine: dict[str, Any]
    seconds: float
    predictions: dict[str, str] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def examples_per_second(self) -> float:
        return self.overall.n / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "fingerprint": self.fingerprint, "has_qa_head": self.has_qa_head,
            "data": self.data, "mode": self.mode, "n": self.overall.n,
            "languages": {r.name: _row_dict(r) for r in self.languages},
            "overall": _row_dict(self.overall),
            "macro": _row_dict(self.macro) if self.macro else None,
            "seconds": round(self.seconds, 3), "examples_per_second": round(self.examples_per_second, 3),
            "engine": self.engine, "notes": self.notes,
        }

    def to_pandas(self) -> Any:
        """One row per language, then `all` (micro) and, with 2+ languages, `macro`: n, F1, EM, their CIs."""
        from xadv.frames import data_frame

        rows = [*self.languages, self.overall, *([self.macro] if self.macro else [])]
        return data_frame({"model": self.model, "data": self.data, "mode": self.mode, **asdict(r)} for r in rows)


def _row_dict(row: Row) -> dict[str, Any]:
    d = asdict(row)
    d.pop("name")
    return d


def first_n_per_language(rows: Sequence[Mapping[str, Any]], n: int | None) -> list[Mapping[str, Any]]:
    """The first `n` examples of each language, in file order (all of them when n is None)."""
    if n is None:
        return list(rows)
    if n < 1:
        raise XadvError(f"--n must be >= 1, got {n}")
    rows = list(rows)
    return [rows[i] for i in first_n_indices([row.get("lang") for row in rows], n)]


def first_n_indices(langs: Sequence[str | None], n: int) -> list[int]:
    """Indices of the first `n` rows of each language, in order (a missing language counts as one, "?")."""
    seen: dict[str, int] = {}
    keep = []
    for i, lang in enumerate(langs):
        key = lang or "?"
        if seen.get(key, 0) < n:
            seen[key] = seen.get(key, 0) + 1
            keep.append(i)
    return keep


def _interval(samples: np.ndarray) -> tuple[float, float]:
    from xadv.score.bootstrap import percentile_interval

    return percentile_interval(samples * 100.0, 0.95)


def score_rows(result: Any) -> tuple[list[Row], Row, Row | None]:
    """Per-language rows, the micro "all" row and (for 2+ languages) the stratified macro row."""
    from xadv.score.bootstrap import bootstrap_means

    langs = np.array([lang or "?" for lang in result.langs], dtype=object)
    order = list(dict.fromkeys(langs.tolist()))
    rows, boots = [], []
    for lang in order:
        mask = langs == lang
        cols = np.column_stack([result.f1_scores[mask], result.em_scores[mask]])
        boot = bootstrap_means(cols, n_resamples=N_RESAMPLES, seed=SEED)
        boots.append(boot)
        rows.append(Row(lang, int(mask.sum()), 100 * float(cols[:, 0].mean()), _interval(boot[:, 0]),
                        100 * float(cols[:, 1].mean()), _interval(boot[:, 1])))
    cols = np.column_stack([result.f1_scores, result.em_scores])
    boot = bootstrap_means(cols, n_resamples=N_RESAMPLES, seed=SEED)
    overall = Row("all", len(cols), 100 * float(cols[:, 0].mean()), _interval(boot[:, 0]),
                  100 * float(cols[:, 1].mean()), _interval(boot[:, 1]))
    macro = None
    if len(rows) > 1:
        mboot = np.mean(boots, axis=0)
        macro = Row("macro", len(cols), float(np.mean([r.f1 for r in rows])), _interval(mboot[:, 0]),
                    float(np.mean([r.exact_match for r in rows])), _interval(mboot[:, 1]))
    return rows, overall, macro


def evaluate(loaded: Any, dataset: Any, *, data_name: str, mode: str = "squad",
             config: EngineConfig = EngineConfig(), n_per_lang: int | None = None) -> EvalReport:
    """Predict and score `dataset` (rows with id, lang, question, context, answers) with `loaded`
    (an `xadv.models` LoadedModel)."""
    from xadv.score import GoldAnswers, score_predictions
    from xadv.score.evaluate import unknown_language_warning
    from xadv.score.normalize import MODES

    if mode not in MODES:
        raise XadvError(f"unknown scoring mode {mode!r} (choose one of: {', '.join(MODES)})")
    rows = first_n_per_language(list(dataset), n_per_lang)
    if not rows:
        raise XadvError(f"{data_name} has no examples to evaluate")
    if mode == "mlqa":  # a language the official MLQA script does not know: said before any prediction
        from xadv.score.normalize import check_mlqa_langs

        check_mlqa_langs(GoldAnswers.from_rows(rows).langs)
    engine = QAEngine.from_loaded(loaded, config)
    t0 = time.perf_counter()
    preds = engine.predict(rows)  # with gold log-probs (free here): attacks then find their clean runs cached
    seconds = time.perf_counter() - t0
    texts = {i: p.text for i, p in preds.items()}
    result = score_predictions(GoldAnswers.from_rows(rows), texts, mode=mode)
    langs, overall, macro = score_rows(result)
    stats = engine.stats
    notes = [line for line in (unknown_language_warning(result),) if line]
    if not getattr(loaded, "has_qa_head", True):
        notes.append("the QA head of this checkpoint is UNTRAINED (a seeded random layer): its answers are "
                     "meaningless and near-zero F1/EM is expected; fine-tune it before reading these numbers")
    engine_info = {
        **stats.as_dict(), "batch_size": config.batch_size, "int8": engine.precision.name == "int8",
        "precision": engine.precision.name, "precision_why": engine.precision.why, "device": str(engine.device),
        "threads": engine.num_threads,
        "max_seq_length": config.max_seq_length, "doc_stride": config.doc_stride,
        "tokens_per_second": round(stats.tokens / seconds, 1) if seconds > 0 and stats.tokens else None,
    }
    engine_info["forward_seconds"] = round(engine_info["forward_seconds"], 3)
    return EvalReport(model=getattr(loaded, "name", "?"), fingerprint=engine.fingerprint,
                      has_qa_head=bool(getattr(loaded, "has_qa_head", True)), data=data_name, mode=mode,
                      languages=langs, overall=overall, macro=macro, engine=engine_info, seconds=seconds,
                      predictions=texts, notes=notes)


def write_predictions(predictions: Mapping[str, str], path: str | os.PathLike) -> Path:
    """Write `{id: answer_text}` (the official SQuAD/TyDi prediction format) atomically."""
    path = Path(path)
    try:
        with atomic_open(path) as fh:
            json.dump(dict(predictions), fh, ensure_ascii=False, indent=1)
            fh.write("\n")
    except OSError as exc:
        raise XadvError(f"cannot write predictions to {path}: {exc.strerror or exc}") from None
    return path
