"""Question+context -> model windows ("features") with offsets back to context characters.

The shape follows the standard extractive-QA recipe (SQuAD/XTREME, HF `run_qa.py`): the question is
kept whole (up to `max_query_length` tokens), the context alone is truncated into overlapping windows
of at most `max_seq_length` tokens that share `doc_stride` tokens, so an answer cut by one window's
edge lies whole inside the next. Every token keeps the character span it came from in the context;
tokens that are not context (question, special tokens) get (-1, -1), so decoding can never land there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from xadv.errors import XadvError

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast

#: Examples tokenised per call of the fast tokenizer (bounds peak memory, keeps batches fast).
TOKENIZE_CHUNK = 256


@dataclass(frozen=True)
class FeatureConfig:
    """How examples become windows.

    `doc_stride` is the OVERLAP between consecutive windows in tokens (as in HF `run_qa.py`); with
    384/128 all 5,077 TyDi QA GoldP dev questions make 5,294 windows.
    """

    max_seq_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64

    def check(self, tokenizer: "PreTrainedTokenizerFast") -> None:
        """Refuse settings that leave no room for context or make windows that never advance."""
        room = self.max_seq_length - self.max_query_length - tokenizer.num_special_tokens_to_add(pair=True)
        if self.max_query_length < 1:
            raise XadvError(f"max_query_length must be >= 1, got {self.max_query_length}")
        if self.doc_stride < 0:
            raise XadvError(f"doc_stride must be >= 0, got {self.doc_stride}")
        if room <= self.doc_stride:
            raise XadvError(
                f"max_seq_length={self.max_seq_length} leaves {max(room, 0)} context tokens per window after a "
                f"{self.max_query_length}-token question; it must exceed doc_stride={self.doc_stride}")


@dataclass
class Feature:
    """One window of one example, unpadded.

    `offsets[t]` is the (start, end) character span of token t in the context, (-1, -1) outside it;
    context tokens occupy the contiguous range [ctx_lo, ctx_hi] (ctx_lo = -1 when the window has none).
    """

    example_index: int
    input_ids: np.ndarray  # int64, (L,)
    offsets: np.ndarray  # int64, (L, 2)
    ctx_lo: int
    ctx_hi: int
    token_type_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.input_ids)


def truncate_questions(questions: Sequence[str], tokenizer: "PreTrainedTokenizerFast",
                       max_query_length: int) -> list[str]:
    """Cut questions longer than `max_query_length` tokens at a token boundary (as XTREME does).

    Cutting the string (rather than the ids) keeps question and context in one tokenizer call, so
    offsets and special tokens stay exactly as the model expects.
    """
    out = list(questions)
    enc = tokenizer(out, add_special_tokens=False, return_offsets_mapping=True)
    for i, (ids, offs) in enumerate(zip(enc["input_ids"], enc["offset_mapping"])):
        keep = max_query_length
        while len(ids) > max_query_length and keep > 0:
            out[i] = out[i][: offs[keep - 1][1]]
            ids = tokenizer(out[i], add_special_tokens=False)["input_ids"]
            keep -= 1  # a prefix re-tokenises to more pieces only in rare unigram edge cases
    return out


def build_features(questions: Sequence[str], contexts: Sequence[str], tokenizer: "PreTrainedTokenizerFast",
                   config: FeatureConfig = FeatureConfig()) -> list[Feature]:
    """All windows of all examples, in example order (feature.example_index indexes `questions`)."""
    if len(questions) != len(contexts):
        raise ValueError("questions and contexts differ in length")
    if not getattr(tokenizer, "is_fast", False):
        raise XadvError(f"{type(tokenizer).__name__} is not a fast tokenizer: character offsets are needed")
    config.check(tokenizer)
    features: list[Feature] = []
    for lo in range(0, len(questions), TOKENIZE_CHUNK):
        qs = truncate_questions(questions[lo:lo + TOKENIZE_CHUNK], tokenizer, config.max_query_length)
        cs = list(contexts[lo:lo + TOKENIZE_CHUNK])
        enc = tokenizer(qs, cs, truncation="only_second", max_length=config.max_seq_length,
                        stride=config.doc_stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True, padding=False)
        types = enc.get("token_type_ids")
        for f, sample in enumerate(enc["overflow_to_sample_mapping"]):
            seq_ids = enc.sequence_ids(f)
            offsets = np.asarray(enc["offset_mapping"][f], dtype=np.int64).reshape(-1, 2)
            is_ctx = np.fromiter((s == 1 for s in seq_ids), dtype=bool, count=len(seq_ids))
            offsets[~is_ctx] = -1
            ctx = np.flatnonzero(is_ctx)
            features.append(Feature(
                example_index=lo + sample,
                input_ids=np.asarray(enc["input_ids"][f], dtype=np.int64),
                offsets=offsets,
                ctx_lo=int(ctx[0]) if len(ctx) else -1,
                ctx_hi=int(ctx[-1]) if len(ctx) else -1,
                token_type_ids=None if types is None else np.asarray(types[f], dtype=np.int64),
            ))
    return features
