"""`KeywordOracle`: a constructed QA model whose answer depends on known keywords: ground truth for search.

For each registered example it answers the gold span while its *keywords* (chosen words of the
question or context) are intact, and a decoy (the first context token) once all of them are broken:
start/end logits on the answer are `4 + 6 * intact / k`, on the decoy 5.5. So breaking one of two
keywords does not change the answer, but lowers the gold span's log-probability; breaking both flips
it. This is the situation loss-guided search exists for: a greedy search that ranks words by the
drop in gold log-probability finds the keywords, while random edits (or a search guided only by
F1/EM, flat until the flip) do not. Examples are recognised by the answer's token ids, keywords by
theirs, so any edit that changes a keyword's tokens breaks it, exactly as a typo would for a model
that relies on that word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from attacks.base import answer_spans, overlaps_any
from attacks.text import words

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast

DECOY = 5.5


@dataclass(frozen=True)
class KeywordCase:
    answer_ids: tuple[int, ...]
    keyword_ids: tuple[tuple[int, ...], ...]
    keywords: tuple[str, ...]


@dataclass
class OracleOutput:
    start_logits: torch.Tensor
    end_logits: torch.Tensor


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
