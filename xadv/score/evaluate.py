"""Score a set of predictions against gold answers: per-example EM/F1 arrays and their aggregates.

Aggregates follow the official SQuAD v1.1 script: every gold question counts in the denominator,
a question without a prediction scores EM 0 / F1 0 (and is listed in `missing`), predictions for
ids that are not in the gold set are ignored (and listed in `unknown`), and the reported numbers
are means x 100. Per-example scores stay in [0, 1] so that comparisons and bootstraps can reuse them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from xadv.errors import DataError, XadvError
from xadv.langs import lang_from_tydi_id
from xadv.score.metrics import best_em_f1
from xadv.score.normalize import MODES, Mode, check_mlqa_langs, has_rules, normalize


@dataclass(frozen=True)
class GoldAnswers:
    """The gold side of scoring: ids in order, their answer texts, and each example's language."""

    ids: tuple[str, ...]
    answers: tuple[tuple[str, ...], ...]
    langs: tuple[str | None, ...]

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.answers) == len(self.langs)):
            raise ValueError("ids, answers and langs must have the same length")
        seen: set[str] = set()
        for example_id, answers in zip(self.ids, self.answers):
            if example_id in seen:
                raise DataError(f"duplicate gold id {example_id!r}")
            seen.add(example_id)
            if not answers:
                raise DataError(f"gold example {example_id!r} has no answer text to score against")

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_mapping(cls, answers: Mapping[str, Sequence[str]],
                     langs: Mapping[str, str] | None = None) -> GoldAnswers:
        """From {id: [answer texts]}; a language not given is taken from the TyDi id prefix."""
        ids = tuple(answers)
        langs = langs or {}
        return cls(ids=ids,
                   answers=tuple(tuple(answers[i]) for i in ids),
                   langs=tuple(langs.get(i) or lang_from_tydi_id(i) for i in ids))

    @classmethod
    def from_dataset(cls, dataset) -> GoldAnswers:
        """From a data-layer `datasets.Dataset` (`xadv.data.load_qa`), reading whole columns."""
        ids = dataset["id"]
        langs = dataset["lang"] if "lang" in dataset.column_names else [None] * len(ids)
        return cls(ids=tuple(ids), answers=tuple(tuple(a["text"]) for a in dataset["answers"]),
                   langs=tuple(lang or lang_from_tydi_id(i) for i, lang in zip(ids, langs)))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping]) -> GoldAnswers:
        """From data-layer rows (`xadv.data.load_qa`): columns id, answers{text, ...}, optional lang."""
        ids, answers, langs = [], [], []
        for row in rows:
            ids.append(row["id"])
            answers.append(tuple(row["answers"]["text"]))
            langs.append(row.get("lang") or lang_from_tydi_id(row["id"]))
        return cls(ids=tuple(ids), answers=tuple(answers), langs=tuple(langs))


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """Scores of one prediction set: per-example arrays aligned with `ids`, plus bookkeeping.

    `eq=False`: results hold numpy arrays, so they compare (and hash) by identity.
    """

    mode: str
    ids: tuple[str, ...]
    langs: tuple[str | None, ...]
    em_scores: np.ndarray = field(repr=False)   # 0/1 per example, aligned with ids
    f1_scores: np.ndarray = field(repr=False)   # [0, 1] per example, aligned with ids
    missing: tuple[str, ...] = ()               # gold ids without a prediction (scored 0)
    unknown: tuple[str, ...] = ()               # predicted ids absent from the gold set (ignored)
    unknown_langs: tuple[str, ...] = ()         # multilingual mode: gold languages without rules ("und")
    #                                             (mlqa mode refuses those: it never scores without rules)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def exact_match(self) -> float:
        """Mean EM x 100 (0.0 for an empty gold set)."""
        return 100.0 * float(self.em_scores.mean()) if self.n else 0.0

    @property
    def f1(self) -> float:
        """Mean token F1 x 100 (0.0 for an empty gold set)."""
        return 100.0 * float(self.f1_scores.mean()) if self.n else 0.0

    def per_example(self) -> dict[str, tuple[float, float]]:
        """{id: (EM, F1)} with both in [0, 1]."""
        return {i: (float(e), float(f)) for i, e, f in zip(self.ids, self.em_scores, self.f1_scores)}

    def by_lang(self) -> dict[str, dict[str, float | int]]:
        """Aggregates per language (key "?" for examples of unknown language), in first-seen order."""
        langs = np.array([lang or "?" for lang in self.langs], dtype=object)
        out: dict[str, dict[str, float | int]] = {}
        for lang in dict.fromkeys(langs.tolist()):
            mask = langs == lang
            out[lang] = {"n": int(mask.sum()),
                         "exact_match": 100.0 * float(self.em_scores[mask].mean()),
                         "f1": 100.0 * float(self.f1_scores[mask].mean())}
        return out

    def subset(self, ids: Sequence[str]) -> ScoreResult:
        """The same scores restricted to (and ordered by) `ids`; every id must be present."""
        index = {example_id: k for k, example_id in enumerate(self.ids)}
        absent = [i for i in ids if i not in index]
        if absent:
            raise XadvError(f"{len(absent)} ids are not in this result (first: {absent[0]!r})")
        order = np.fromiter((index[i] for i in ids), dtype=np.intp, count=len(ids))
        wanted = set(ids)
        langs = tuple(self.langs[k] for k in order)
        return ScoreResult(mode=self.mode, ids=tuple(ids), langs=langs,
                           em_scores=self.em_scores[order], f1_scores=self.f1_scores[order],
                           missing=tuple(i for i in self.missing if i in wanted),
                           unknown=self.unknown,
                           unknown_langs=tuple(x for x in self.unknown_langs
                                               if x in {lang or "und" for lang in langs}))

    def to_dict(self, per_example: bool = False) -> dict:
        """JSON-ready summary: aggregates, mode, counts and ids of missing / unknown predictions."""
        out: dict = {"exact_match": self.exact_match, "f1": self.f1, "n": self.n, "mode": self.mode,
                     "missing": len(self.missing), "missing_ids": list(self.missing),
                     "unknown": len(self.unknown), "unknown_ids": list(self.unknown),
                     "by_lang": self.by_lang()}
        if per_example:
            out["per_example"] = {i: {"exact_match": e, "f1": f}
                                  for i, (e, f) in self.per_example().items()}
        return out


def score_predictions(gold: GoldAnswers | Mapping[str, Sequence[str]],
                      predictions: Mapping[str, str], mode: str = "squad") -> ScoreResult:
    """EM/F1 of `predictions` ({id: answer text}) against `gold`, normalised under `mode`."""
    if mode not in MODES:
        raise XadvError(f"unknown scoring mode {mode!r} (choose one of: {', '.join(MODES)})")
    checked = cast(Mode, mode)
    if not isinstance(gold, GoldAnswers):
        gold = GoldAnswers.from_mapping(gold)
    if mode == "mlqa":  # the official script raises for a language it does not know: before any scoring
        check_mlqa_langs(gold.langs)
    memo: dict[tuple[str, str | None], str] = {}

    def norm(text: str, lang: str | None) -> str:
        key = (text, lang if mode != "squad" else None)
        if key not in memo:
            memo[key] = normalize(text, checked, key[1])
        return memo[key]

    em = np.zeros(len(gold), dtype=np.float64)
    f1 = np.zeros(len(gold), dtype=np.float64)
    missing: list[str] = []
    for k, (example_id, answers, lang) in enumerate(zip(gold.ids, gold.answers, gold.langs)):
        if example_id not in predictions:
            missing.append(example_id)
            continue
        prediction = predictions[example_id]
        if not isinstance(prediction, str):
            raise XadvError(f"prediction for {example_id!r} is {type(prediction).__name__}, "
                            "expected the answer text (a string)")
        em[k], f1[k] = best_em_f1(norm(prediction, lang), [norm(a, lang) for a in answers])
    gold_ids = set(gold.ids)
    unknown = tuple(i for i in predictions if i not in gold_ids)
    unruled = sorted({lang or "und" for lang in gold.langs if not has_rules(lang)}) if mode == "multilingual" else []
    return ScoreResult(mode=mode, ids=gold.ids, langs=gold.langs, em_scores=em, f1_scores=f1,
                       missing=tuple(missing), unknown=unknown, unknown_langs=tuple(unruled))


def unknown_language_warning(result: ScoreResult) -> str | None:
    """One line saying which questions were scored without language rules (None when all had rules)."""
    if not result.unknown_langs:
        return None
    n = sum(1 for lang in result.langs if (lang or "und") in result.unknown_langs)
    return (f"{n} of {result.n} questions have no known language ({', '.join(result.unknown_langs)}): "
            "scored with the script-independent rules only (no articles, no character segmentation); "
            "use a dataset name or pass --lang")
