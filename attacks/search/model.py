"""`QAModelWrapper`: a TextAttack model wrapper that answers through xadv's QA engine.

TextAttack's `HuggingFaceModelWrapper` pads every input to the tokenizer's maximum length, truncates
long contexts instead of windowing them, returns classification logits (a QA model has none) and
caches nothing beyond one attack. Through the engine, a search gets span predictions decoded over
every window, the gold span's log-probability (for loss-guided goals), length-sorted batching with
per-batch padding, and the engine's prediction cache, so a candidate seen before (the clean example
in every search, the same typo reached twice, a re-run) costs no forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xadv.qa.engine import Prediction, QAEngine

from .bootstrap import ensure_textattack

ensure_textattack()

from textattack.models.wrappers import ModelWrapper


class QAModelWrapper(ModelWrapper):
    """Call with TextAttack inputs ((question, context) tuples) or with QA rows (dicts with answers)."""

    def __init__(self, engine: QAEngine):
        self.engine = engine
        self.model = engine.model  # TextAttack inspects `wrapper.model`

    def __call__(self, text_input_list: Sequence[Any], **kwargs) -> list[Prediction]:
        rows = []
        for item in text_input_list:
            if isinstance(item, Mapping):
                rows.append(item)
            else:
                question, context = item
                rows.append({"question": question, "context": context})
        return self.predict_rows(rows)

    def predict_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        """Predictions in input order; with `answers` in a row, also its gold-span log-probability.
        One engine call: the engine batches by length and serves repeats from its cache."""
        batch = [{"id": str(k), "question": r["question"], "context": r["context"], "answers": r.get("answers")}
                 for k, r in enumerate(rows)]
        preds = self.engine.predict(batch)
        return [preds[str(k)] for k in range(len(rows))]
