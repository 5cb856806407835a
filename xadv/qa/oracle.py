"""A constructed "model" whose logits select known character spans: ground truth for QA plumbing tests.

`SpanOracle` answers each registered (question, context) with a chosen character span: in every window
that holds the span whole it puts a high start logit on the span's first token and a high end logit on
its last; a window holding only part of it gets a weaker vote for that part (as a real model would see
partial evidence), everything else gets 0. It finds the tokens from the tokenizer's own offsets, so any
error in windowing, batching, padding or decoding shows up as a wrong answer text. Attack tests can use
it too: an oracle "knows" the answer until a perturbation moves or breaks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import torch

from xadv.qa.features import FeatureConfig, truncate_questions

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast

WHOLE, PARTIAL = 10.0, 4.0


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
        lengths = attention_mask.sum(1).tolist() if attention_mask is not None else [input_ids.shape[1]] * len(input_ids)
        for r, n in enumerate(lengths):
            for which, t, value in self._votes.get(tuple(input_ids[r, :n].tolist()), ()):
                (start if which == "start" else end)[r, t] = value
        return OracleOutput(start, end)
