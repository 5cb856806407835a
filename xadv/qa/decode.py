"""Start/end logits of an example's windows -> the answer span (an exact substring of the context).

Pure numpy, no model: the same code decodes real model outputs and the constructed logits of tests.

Span search is exhaustive within the usual constraints (end >= start, at most `max_answer_length`
tokens, both ends inside the window's context): every valid span of every window is scored
start_logit + end_logit, which finds the same best span as HF's top-20 x top-20 heuristic whenever
that heuristic finds one, and never misses a valid span it would have skipped.

Text comes from the ORIGINAL context by character offsets: with XLM-R sentencepiece a word-initial
piece ("▁word") covers the space before the word, so spans are trimmed of whitespace at both edges
(Unicode `str.isspace`: never a combining mark, ZWJ/ZWNJ or other part of a word).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Span:
    """A candidate answer: `text == context[start:start + len(text)]`; score = start + end logit."""

    text: str
    start: int
    score: float


@dataclass(frozen=True)
class Window:
    """One window's logits (unpadded, length L) and its token -> context-character offsets."""

    start_logits: np.ndarray  # (L,)
    end_logits: np.ndarray  # (L,)
    offsets: np.ndarray  # (L, 2), -1 outside the context
    ctx_lo: int  # first context token (-1: no context in this window)
    ctx_hi: int  # last context token


def trim_whitespace(context: str, a: int, b: int) -> tuple[int, int]:
    """Shrink [a, b) past whitespace at either edge; only `str.isspace` characters are removed."""
    while a < b and context[a].isspace():
        a += 1
    while b > a and context[b - 1].isspace():
        b -= 1
    return a, b


def window_spans(window: Window, context: str, n_best: int = 20, max_answer_length: int = 30) -> list[Span]:
    """The `n_best` highest-scoring non-empty spans of one window, best first (ties: earlier, shorter)."""
    if window.ctx_lo < 0 or n_best < 1 or max_answer_length < 1:
        return []
    lo, hi = window.ctx_lo, window.ctx_hi
    s = np.asarray(window.start_logits[lo:hi + 1], dtype=np.float64)
    e = np.asarray(window.end_logits[lo:hi + 1], dtype=np.float64)
    n = len(s)
    width = min(max_answer_length, n)
    padded = np.concatenate([e, np.full(width - 1, -np.inf)])
    band = np.lib.stride_tricks.sliding_window_view(padded, width)  # band[i, d] = end logit of token i + d
    scores = (s[:, None] + band).ravel()
    valid = np.flatnonzero(np.isfinite(scores))
    # Look at a few more than n_best: whitespace-only spans and spans that trim to the same text are
    # dropped, and must not starve the list (widen the search until enough are found or none are left).
    k = min(len(valid), 4 * n_best + 8)
    while True:
        top = _best_k(valid, scores, k)
        top = top[np.lexsort((top, -scores[top]))]  # score desc, then flat index (start, then length) asc
        out = _collect(top, scores, width, window, context, n_best)
        if len(out) == n_best or k == len(valid):
            return out
        k = min(len(valid), 4 * k)


def _best_k(valid: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The k best of `valid` (ascending flat indices) by score, ties at the cut broken by the lower index.

    `argpartition` alone picks *some* of the tied candidates at the k-th score, which ones depending on
    the numpy version: flat logits (an untrained head, a constructed test model) then decoded to
    different answers on different machines."""
    if k >= len(valid):
        return valid
    v = scores[valid]
    kth = -np.partition(-v, k - 1)[k - 1]
    better = valid[v > kth]
    tied = valid[v == kth]
    return np.concatenate([better, tied[:k - len(better)]])


def _collect(top: np.ndarray, scores: np.ndarray, width: int, window: Window, context: str,
             n_best: int) -> list[Span]:
    out: list[Span] = []
    seen: set[tuple[int, int]] = set()
    lo, offsets = window.ctx_lo, window.offsets
    for flat in top:
        i, d = divmod(int(flat), width)
        a, b = trim_whitespace(context, int(offsets[lo + i, 0]), int(offsets[lo + i + d, 1]))
        if a >= b or (a, b) in seen:
            continue
        seen.add((a, b))
        out.append(Span(context[a:b], a, float(scores[flat])))
        if len(out) == n_best:
            break
    return out


def best_spans(windows: Sequence[Window], context: str, n_best: int = 20,
               max_answer_length: int = 30) -> list[Span]:
    """The n-best spans over all windows of one example (a span seen in two windows keeps its best score)."""
    by_pos: dict[tuple[int, int], Span] = {}
    for window in windows:
        for span in window_spans(window, context, n_best, max_answer_length):
            key = (span.start, len(span.text))
            if key not in by_pos or span.score > by_pos[key].score:
                by_pos[key] = span
    ranked = sorted(by_pos.values(), key=lambda sp: (-sp.score, sp.start, len(sp.text)))
    return ranked[:n_best]


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    m = x.max()
    return x - m - math.log(np.exp(x - m).sum())


def span_tokens(window: Window, char_start: int, char_end: int) -> tuple[int, int] | None:
    """(start token, end token) of the character span [char_start, char_end) if the window holds it whole."""
    if window.ctx_lo < 0 or char_end <= char_start:
        return None
    offs = window.offsets[window.ctx_lo:window.ctx_hi + 1]
    if offs[0, 0] > char_start or offs[-1, 1] < char_end:
        return None
    starts = np.flatnonzero(offs[:, 1] > char_start)
    ends = np.flatnonzero(offs[:, 0] < char_end)
    if not len(starts) or not len(ends) or starts[0] > ends[-1]:
        return None
    return window.ctx_lo + int(starts[0]), window.ctx_lo + int(ends[-1])


def gold_logprob(windows: Sequence[Window], gold: Sequence[tuple[int, str]]) -> float:
    """log P(start) + log P(end) of the gold span, max over windows holding it and over gold answers.

    The softmax runs over the window's real tokens (no padding), as the model was trained. -inf when
    no window holds any gold span whole: the model cannot predict it at all.
    """
    best = -math.inf
    for window in windows:
        lsm_s = lsm_e = None
        for char_start, text in gold:
            toks = span_tokens(window, char_start, char_start + len(text))
            if toks is None:
                continue
            if lsm_s is None:
                lsm_s, lsm_e = log_softmax(window.start_logits), log_softmax(window.end_logits)
            best = max(best, float(lsm_s[toks[0]] + lsm_e[toks[1]]))
    return best
