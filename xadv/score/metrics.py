"""Token F1 and exact match for one prediction, with the official SQuAD v1.1 semantics.

Edge cases follow the official script on purpose, so numbers stay comparable:
- F1 is 0 whenever prediction and gold share no token, including when either side normalises to
  nothing (an empty prediction scores F1 0 against every gold).
- EM compares normalised strings, so an empty prediction against a gold that normalises to the
  empty string (say ``"the"`` or ``"."``) is an exact match: EM 1 with F1 0.
- A question's score is the maximum over its gold answers, taken separately for EM and for F1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def token_f1(pred_tokens: Sequence[str], gold_tokens: Sequence[str]) -> float:
    """Harmonic mean of token precision and recall, counting repeated tokens (bag intersection)."""
    overlap = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_em_f1(pred_norm: str, golds_norm: Sequence[str]) -> tuple[float, float]:
    """(EM, F1) in [0, 1] of one normalised prediction: the max over normalised gold answers."""
    pred_tokens = pred_norm.split()
    em = max(float(pred_norm == g) for g in golds_norm)
    f1 = max(token_f1(pred_tokens, g.split()) for g in golds_norm)
    return em, f1
