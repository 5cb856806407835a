"""Constructed "models" whose logits follow known rules: ground truth for QA plumbing and search tests.

Both are `torch.nn.Module`s with the forward signature of a HF QA model (input_ids, attention_mask ->
start/end logits), so `xadv.qa.engine.QAEngine` drives them like any checkpoint; `calls` counts forward
passes (for cache tests).

`SpanOracle` answers each registered (question, context) with a chosen character span: in every window
that holds the span whole it puts a high start logit on the span's first token and a high end logit on
its last; a window holding only part of it gets a weaker vote for that part (as a real model would see
partial evidence), everything else gets 0. It finds the tokens from the tokenizer's own offsets, so any
error in windowing, batching, padding or decoding shows up as a wrong answer text. Attack tests can use
it too: an oracle "knows" the answer until a perturbation moves or breaks it.

`KeywordOracle` answers depending on known keywords. For each registered example (a `KeywordCase`, from
`keyword_case`) it answers the gold span while its *keywords* (chosen words of the question or context)
are intact, and a decoy (the first context token) once all of them are broken: start/end logits on the
answer are `4 + 6 * intact / k`, on the decoy 5.5. So breaking one of two keywords does not change the
answer, but lowers the gold span's log-probability; breaking both flips it. This is the situation
loss-guided search exists for: a greedy search that ranks words by the drop in gold log-probability
finds the keywords, while random edits (or a search guided only by F1/EM, flat until the flip) do not.
Examples are recognised by the answer's token ids, keywords by theirs, so any edit that changes a
keyword's tokens breaks it, exactly as a typo would for a model that relies on that word.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from attacks.base import answer_spans, overlaps_any
from attacks.text import words
from xadv.qa.features import FeatureConfig, truncate_questions

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast

WHOLE, PARTIAL = 10.0, 4.0  # SpanOracle's logits on a whole / partial span


@dataclass
class OracleOutput:
    start_logits: torch.Tensor
    end_logits: torch.Tensor


def _token_span(offsets, seq_ids, char_start: int, char_end: int) -> tuple[int | None, int | None]:
    """(first, last) context token overlapping [char_start, char_end); None for an end outside the window."""
    first = last = None
    for t, ((a, b), s) in enumerate(zip(offsets, seq_ids)):
        if s != 1 or a >= b:
            continue
        if first is None and a <= char_start < b:
            first = t
        if a < char_end <= b:
            last = t
    return first, last


class SpanOracle(torch.nn.Module):
    """forward(input_ids, attention_mask) -> start/end logits that pick `targets[(question, context)]`.

    `targets` maps (question, context) to a character span (start, end) of the context; windows of
    unregistered pairs get all-zero logits. `calls` counts forward passes (for cache tests).
    """

    def __init__(self, tokenizer: "PreTrainedTokenizerFast", targets: Mapping[tuple[str, str], tuple[int, int]],
                 config: FeatureConfig = FeatureConfig()):
        super().__init__()
        self.calls = 0
        self._votes: dict[tuple[int, ...], list[tuple[str, int, float]]] = {}
        pairs = list(targets)
        questions = truncate_questions([q for q, _ in pairs], tokenizer, config.max_query_length)
        enc = tokenizer(questions, [c for _, c in pairs], truncation="only_second",
                        max_length=config.max_seq_length, stride=config.doc_stride,
                        return_overflowing_tokens=True, return_offsets_mapping=True)
        for f, sample in enumerate(enc["overflow_to_sample_mapping"]):
            char_start, char_end = targets[pairs[sample]]
            first, last = _token_span(enc["offset_mapping"][f], enc.sequence_ids(f), char_start, char_end)
            votes = []
            if first is not None and last is not None:
                votes = [("start", first, WHOLE), ("end", last, WHOLE)]
            elif first is not None:
                votes = [("start", first, PARTIAL), ("end", max(t for t, s in enumerate(enc.sequence_ids(f))
                                                                  if s == 1), PARTIAL)]
            elif last is not None:
                ctx = [t for t, s in enumerate(enc.sequence_ids(f)) if s == 1]
                votes = [("start", ctx[0], PARTIAL), ("end", last, PARTIAL)]
            self._votes[tuple(enc["input_ids"][f])] = votes

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_) -> OracleOutput:
        self.calls += 1
        start = torch.zeros(input_ids.shape, dtype=torch.float32)
        end = torch.zeros(input_ids.shape, dtype=torch.float32)
        full = [input_ids.shape[1]] * len(input_ids)
        lengths = attention_mask.sum(1).tolist() if attention_mask is not None else full
        for r, n in enumerate(lengths):
            for which, t, value in self._votes.get(tuple(input_ids[r, :n].tolist()), ()):
                (start if which == "start" else end)[r, t] = value
        return OracleOutput(start, end)


# --- KeywordOracle: answers flip once known keywords are broken ---

DECOY = 5.5  # KeywordOracle's logit on the decoy


@dataclass(frozen=True)
class KeywordCase:
    answer_ids: tuple[int, ...]
    keyword_ids: tuple[tuple[int, ...], ...]
    keywords: tuple[str, ...]


def _piece_ids(tokenizer, text: str, start: int, end: int) -> tuple[int, ...]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return tuple(i for i, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]) if a < end and start < b and b > a)


def _count(seq: Sequence[int], sub: Sequence[int]) -> int:
    n, m = len(seq), len(sub)
    return sum(1 for i in range(n - m + 1) if tuple(seq[i:i + m]) == tuple(sub)) if m else 0


def keyword_case(tokenizer: PreTrainedTokenizerFast, row: dict, field: str = "context", k: int = 2,
                 min_letters: int = 4) -> KeywordCase | None:
    """The `k` longest words of `field` (outside the answers) whose tokens occur once in the example,
    with the answer's tokens; None when the example offers too few such words."""
    enc = tokenizer(row["question"], row["context"], add_special_tokens=True)
    all_ids = enc["input_ids"]
    a_start, a_end = answer_spans(row)[0]
    first = words(row["context"])[:1]
    if not first or first[0].end > a_start:
        return None  # the decoy is the first context token: the answer must come later
    answer_ids = _piece_ids(tokenizer, row["context"], a_start, a_end)
    if not answer_ids or _count(all_ids, answer_ids) != 1:
        return None
    protected = answer_spans(row) if field == "context" else ()
    chosen: list[tuple[str, tuple[int, ...]]] = []
    for w in sorted(words(row[field]), key=lambda w: (-len(w.text), w.start)):
        if len(w.text) < min_letters or overlaps_any(w, protected) or any(w.text == c for c, _ in chosen):
            continue
        ids = _piece_ids(tokenizer, row[field], w.start, w.end)
        if ids and _count(all_ids, ids) == 1 and _count(answer_ids, ids) == 0:
            chosen.append((w.text, ids))
        if len(chosen) == k:
            return KeywordCase(answer_ids, tuple(i for _, i in chosen), tuple(t for t, _ in chosen))
    return None


class KeywordOracle(torch.nn.Module):
    """forward(input_ids, attention_mask) -> start/end logits following the keyword rule above."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, cases: Sequence[KeywordCase]):
        super().__init__()
        self.cases = list(cases)
        self.sep = tokenizer.sep_token_id
        self.calls = 0
        self._dummy = torch.nn.Parameter(torch.zeros(1), requires_grad=False)  # gives the engine a device

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_) -> OracleOutput:
        self.calls += 1
        start = torch.zeros(input_ids.shape, dtype=torch.float32)
        end = torch.zeros(input_ids.shape, dtype=torch.float32)
        width = input_ids.shape[1]
        lengths = attention_mask.sum(1).tolist() if attention_mask is not None else [width] * len(input_ids)
        for r, n in enumerate(lengths):
            ids = input_ids[r, :n].tolist()
            ctx = next((i + 2 for i in range(n - 1) if ids[i] == self.sep and ids[i + 1] == self.sep), None)
            if ctx is None or ctx >= n - 1:
                continue
            start[r, ctx] = end[r, ctx] = DECOY
            for case in self.cases:
                m = len(case.answer_ids)
                at = next((i for i in range(ctx, n - m + 1) if tuple(ids[i:i + m]) == case.answer_ids), None)
                if at is None:
                    continue
                intact = sum(_count(ids, kw) > 0 for kw in case.keyword_ids)
                value = 4.0 + 6.0 * intact / max(len(case.keyword_ids), 1)
                start[r, at] = value
                end[r, at + m - 1] = value
                break
        return OracleOutput(start, end)
