"""Constraints of a QA search, as TextAttack constraints over `QAText`.

- `TargetWords`: only words of the target field(s); in the context never a word that overlaps a gold
  answer span (the edit engine refuses such edits anyway: this keeps the search from even ranking
  them), optionally only within `context_window` words of an answer;
- `MaxShareChanged`: at most max(1, floor(share x words of the target)) *original* words changed,
  and at most `max_words` if given (TextAttack's `MaxModificationRate` counts the words of question
  and context together);
- `MaxWordEditDistance`: the characters an edit of one word may change (Levenshtein over code points,
  summed over the edits of that word);
- TextAttack's own `RepeatModification` (no word is edited twice) is used as is, and the query
  budget is the goal function's.
"""

from __future__ import annotations

import math

from attacks.base import answer_spans, overlaps_any, target_fields
from xadv.errors import XadvError

from .bootstrap import ensure_textattack
from .qatext import QAText

ensure_textattack()

from textattack.constraints import Constraint, PreTransformationConstraint


class TargetWords(PreTransformationConstraint):
    def __init__(self, target: str, context_window: int | None = None):
        self.fields = target_fields(target)
        self.target = target
        if context_window is not None and context_window < 0:
            raise XadvError(f"context window must be >= 0 words, got {context_window}")
        self.context_window = context_window

    def _get_modifiable_indices(self, current_text: QAText) -> set[int]:
        memo = current_text.__dict__.setdefault("_xadv_memo", {})  # asked again and again per text
        key = ("target-words", self.target, self.context_window)
        if key not in memo:
            memo[key] = frozenset(self._eligible(current_text))
        return set(memo[key])

    def _eligible(self, current_text: QAText) -> set[int]:
        answers = answer_spans(current_text.row)
        spans = current_text.word_spans
        ctx = [(i, s) for i, (f, s) in enumerate(spans) if f == "context"]
        near: set[int] | None = None
        if self.context_window is not None:
            hits = [k for k, (_, s) in enumerate(ctx) if overlaps_any(s, answers)]
            near = {i for k, (i, _) in enumerate(ctx) if hits and min(abs(k - h) for h in hits) <= self.context_window}
        out = set()
        for i, (field, span) in enumerate(spans):
            if field not in self.fields:
                continue
            if field == "context" and (overlaps_any(span, answers) or (near is not None and i not in near)):
                continue
            out.add(i)
        return out

    def extra_repr_keys(self):
        return ["target", "context_window"]


def allowed_changes(max_share: float, n_words: int) -> int:
    """How many words a search may change: max(1, floor(share x n)), 0 for an empty field."""
    if n_words <= 0:
        return 0
    return max(1, math.floor(max_share * n_words + 1e-9))


class MaxShareChanged(PreTransformationConstraint):
    def __init__(self, max_share: float, target: str, max_words: int | None = None):
        if not 0.0 < max_share <= 1.0:
            raise XadvError(f"max share of words changed must be in (0, 1], got {max_share}")
        if max_words is not None and max_words < 1:
            raise XadvError(f"max words changed must be >= 1, got {max_words}")
        self.max_share = max_share
        self.max_words = max_words
        self.target = target
        self.fields = target_fields(target)

    def n_words(self, text: QAText) -> int:
        q, c = text.base_counts
        return (q if "question" in self.fields else 0) + (c if "context" in self.fields else 0)

    def limit(self, text: QAText) -> int:
        n = allowed_changes(self.max_share, self.n_words(text))
        return n if self.max_words is None else min(n, self.max_words)

    def _get_modifiable_indices(self, current_text: QAText) -> set[int]:
        if len(current_text.changed) >= self.limit(current_text):
            return set()
        return set(range(len(current_text.words)))

    def extra_repr_keys(self):
        return ["max_share", "max_words", "target"]


class MaxWordEditDistance(Constraint):
    def __init__(self, max_distance: int):
        super().__init__(compare_against_original=False)
        if max_distance < 1:
            raise XadvError(f"max edit distance per word must be >= 1, got {max_distance}")
        self.max_distance = max_distance

    def _check_constraint(self, transformed_text: QAText, reference_text) -> bool:
        from rapidfuzz.distance import Levenshtein

        last = transformed_text.attack_attrs.get("xadv_last", ())
        return sum(Levenshtein.distance(r.old, r.new) for r in last) <= self.max_distance

    def extra_repr_keys(self):
        return ["max_distance"]


class MinQuestionSimilarity(Constraint):
    """The perturbed question keeps at least `threshold` cosine similarity to the original question under
    multilingual-e5-small (`xadv.models.similarity`): TextAttack's sentence-encoder constraint, but
    multilingual and offline. Candidates are checked in one batch per step; an unchanged question passes."""

    def __init__(self, threshold: float, encoder):
        super().__init__(compare_against_original=True)
        self.threshold = threshold
        self.encoder = encoder

    def _check_constraint(self, transformed_text: QAText, reference_text) -> bool:
        return bool(self._check_constraint_many([transformed_text], reference_text))

    def _check_constraint_many(self, transformed_texts, reference_text):
        ref = reference_text.row["question"]
        changed = [t for t in transformed_texts if t.row["question"] != ref]
        sims = dict(zip(map(id, changed), self.encoder.similarities([ref] * len(changed),
                                                                    [t.row["question"] for t in changed])))
        return [t for t in transformed_texts if sims.get(id(t), 1.0) >= self.threshold]

    def extra_repr_keys(self):
        return ["threshold"]
