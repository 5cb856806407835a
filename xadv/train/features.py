"""Training features: token windows with labels, for span QA and for sentence-pair classification.

QA windows are built by the SAME code as inference (`xadv.qa.features.build_features`), so training
sees exactly the windows, question truncation and offsets that the engine will decode. Labels are the
token positions of the first gold answer (TyDi/SQuAD train has one): the start token is the last
context token starting at or before the answer's first character, the end token the first context
token ending at or after its last one (XLM-R pieces carry the space before a word, so offsets of a
word-initial piece begin one character early). Windows whose context does not hold the whole answer
follow `no_answer`: "drop" (train on answer windows only) or "cls" (start = end = 0, the CLS token).

`allowed` masks the positions a label may take: the window's context tokens (plus CLS under "cls").
The loss normalises over these only, as the decoder only ever picks context tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from xadv.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast


@dataclass
class TrainFeature:
    """One labelled window. QA: start/end token positions; pairs: `label`."""

    input_ids: np.ndarray  # int64 (L,)
    lang: str
    start: int = -1
    end: int = -1
    ctx_lo: int = -1  # QA: context tokens are [ctx_lo, ctx_hi]
    ctx_hi: int = -1
    label: int = -1
    token_type_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class FeatureStats:
    """What happened to the examples on their way to windows (recorded in the model card)."""

    examples: int
    windows: int  # all windows built
    kept: int  # windows trained on
    with_answer: int  # kept windows whose label is a real span
    dropped_no_answer: int  # windows dropped by the "drop" policy
    unlabelled_examples: int  # examples with no answer in any window (answer beyond the windows)
    tokens: int  # real tokens in kept windows

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def answer_tokens(offsets: np.ndarray, ctx_lo: int, ctx_hi: int, start_char: int,
                  end_char: int) -> tuple[int, int] | None:
    """(start_token, end_token) of the character span [start_char, end_char) in one window, or None when
    the window's context does not contain the whole span."""
    if ctx_lo < 0 or offsets[ctx_lo, 0] > start_char or offsets[ctx_hi, 1] < end_char:
        return None
    starts = offsets[ctx_lo:ctx_hi + 1, 0]
    ends = offsets[ctx_lo:ctx_hi + 1, 1]
    s = ctx_lo + int(np.searchsorted(starts, start_char, side="right")) - 1
    e = ctx_lo + int(np.searchsorted(ends, end_char, side="left"))
    return s, max(s, e)  # e < s cannot happen with monotone offsets; a zero-width piece must not invert it


def qa_train_features(rows: Sequence[dict[str, Any]], tokenizer: "PreTrainedTokenizerFast", *,
                      max_seq_length: int, doc_stride: int, max_query_length: int,
                      no_answer: str = "drop") -> tuple[list[TrainFeature], FeatureStats]:
    """Labelled windows of SQuAD-format rows (id, lang, question, context, answers)."""
    from xadv.qa.features import FeatureConfig, build_features

    if no_answer not in ("drop", "cls"):
        raise ValueError(f"no_answer must be drop or cls, got {no_answer!r}")
    spans: list[tuple[int, int]] = []
    for row in rows:
        ans = row.get("answers") or {}
        texts, starts = ans.get("text") or [], ans.get("answer_start") or []
        if not texts or not texts[0]:
            raise DataError(f"example {row.get('id')!r} has no answer: training needs one gold answer per question")
        spans.append((int(starts[0]), int(starts[0]) + len(texts[0])))
    windows = build_features([r["question"] for r in rows], [r["context"] for r in rows], tokenizer,
                             FeatureConfig(max_seq_length, doc_stride, max_query_length))
    out: list[TrainFeature] = []
    answered = np.zeros(len(rows), dtype=bool)
    dropped = 0
    for w in windows:
        s_char, e_char = spans[w.example_index]
        pos = answer_tokens(w.offsets, w.ctx_lo, w.ctx_hi, s_char, e_char)
        if pos is None and no_answer == "drop":
            dropped += 1
            continue
        if pos is not None:
            answered[w.example_index] = True
        s, e = pos if pos is not None else (0, 0)
        out.append(TrainFeature(w.input_ids, rows[w.example_index]["lang"], s, e, w.ctx_lo, w.ctx_hi,
                                token_type_ids=w.token_type_ids))
    with_answer = sum(1 for f in out if f.start > 0)
    stats = FeatureStats(len(rows), len(windows), len(out), with_answer, dropped,
                         int((~answered).sum()), int(sum(len(f) for f in out)))
    return out, stats


def pair_train_features(rows: Sequence[dict[str, Any]], tokenizer: "PreTrainedTokenizerFast", *,
                        max_seq_length: int) -> tuple[list[TrainFeature], FeatureStats]:
    """Sentence pairs -> one window each (both sentences truncated longest-first to fit)."""
    out: list[TrainFeature] = []
    chunk = 512
    for lo in range(0, len(rows), chunk):
        part = rows[lo:lo + chunk]
        enc = tokenizer([r["sentence1"] for r in part], [r["sentence2"] for r in part], truncation=True,
                        max_length=max_seq_length, padding=False)
        types = enc.get("token_type_ids")
        for i, row in enumerate(part):
            out.append(TrainFeature(np.asarray(enc["input_ids"][i], dtype=np.int64), row["lang"],
                                    label=int(row["label"]),
                                    token_type_ids=None if types is None else np.asarray(types[i], np.int64)))
    stats = FeatureStats(len(rows), len(out), len(out), 0, 0, 0, int(sum(len(f) for f in out)))
    return out, stats
