"""Held-out checks of an intermediate phase (the v2 pilot, benchmarks/experiment-v2.md section 4a): did the
pair task learn? Accuracy of a phase's saved pair head (`xadv_pair_heads.safetensors`, beside the phase's
QA checkpoint) on pairs it never trained on (`TaskData.held_out`).

The head is read exactly as training built it (`MultiTaskModel`: dropout + linear on the first token or
the masked mean of the encoder's last layer), on the phase checkpoint's own encoder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xadv.errors import ModelError
from xadv.models.loading import load_qa_model
from xadv.train.model import HEADS_CONFIG, HEADS_FILE, pool

CHANCE = {"xnli": 1 / 3, "pawsx": 1 / 2}


def pair_predictions(phase_dir: str | Path, task: str, rows: Sequence[dict[str, Any]], *, pooling: str,
                     max_seq_length: int = 128, batch_size: int = 32) -> np.ndarray:
    """Predicted label ids of `task`'s head for `rows` (sentence1, sentence2)."""
    import torch
    from safetensors.torch import load_file

    phase_dir = Path(phase_dir)
    heads_file, heads_config = phase_dir / HEADS_FILE, phase_dir / HEADS_CONFIG
    if not heads_file.is_file() or not heads_config.is_file():
        raise ModelError(f"{phase_dir} has no pair heads ({HEADS_FILE}): not an intermediate phase with a pair task")
    labels = json.loads(heads_config.read_text(encoding="utf-8"))
    if task not in labels:
        raise ModelError(f"{phase_dir}: no head for {task!r} (heads: {', '.join(sorted(labels))})")
    state = load_file(str(heads_file))
    loaded = load_qa_model(phase_dir)
    encoder = loaded.model.base_model.eval()
    weight, bias = state[f"{task}.1.weight"].float(), state[f"{task}.1.bias"].float()
    out = []
    with torch.inference_mode():
        for lo in range(0, len(rows), batch_size):
            part = rows[lo:lo + batch_size]
            enc = loaded.tokenizer([r["sentence1"] for r in part], [r["sentence2"] for r in part], truncation=True,
                                   max_length=max_seq_length, padding=True, return_tensors="pt")
            hidden = encoder(**enc).last_hidden_state.float()
            logits = pool(hidden, enc["attention_mask"], pooling) @ weight.T + bias
            out.append(logits.argmax(-1).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def pair_accuracy(phase_dir: str | Path, task: str, rows: Sequence[dict[str, Any]], *, pooling: str,
                  max_seq_length: int = 128, batch_size: int = 32) -> dict[str, Any]:
    """Accuracy on `rows` with the pilot's verdict: learnable when at least chance (the majority label's
    share) + 5 points."""
    if not rows:
        raise ModelError(f"no held-out {task} pairs to measure (set holdout > 0 with content_matched)")
    predicted = pair_predictions(phase_dir, task, rows, pooling=pooling, max_seq_length=max_seq_length,
                                 batch_size=batch_size)
    gold = np.asarray([int(r["label"]) for r in rows])
    accuracy = float((predicted == gold).mean())
    # chance is what always answering the most frequent label scores on these items (PAWS-X's are 55 %
    # label 0, so a head that never learned passes "uniform chance + 5"), never below uniform chance
    majority = float(np.bincount(gold).max() / len(gold))
    chance = max(majority, CHANCE.get(task, 0.0))
    return {"task": task, "n": len(rows), "accuracy": round(100 * accuracy, 2), "chance": round(100 * chance, 2),
            "uniform_chance": round(100 * CHANCE.get(task, 1 / max(2, len(set(gold.tolist())))), 2),
            "learnable": accuracy >= chance + 0.05,
            "predicted_share": {str(k): round(float((predicted == k).mean()), 4) for k in sorted(set(gold.tolist()))}}
