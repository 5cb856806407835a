"""The multi-task model: one shared encoder, a span-QA head and one classification head per pair task.

The QA part IS a Hugging Face `*ForQuestionAnswering` model (encoder + `qa_outputs`), so what training
saves is an ordinary checkpoint that `xadv.models` loads, for any architecture with a QA class. Pair
tasks (XNLI, PAWS-X) put a small head on the same encoder's first token or mean-pooled tokens
(`PhaseSettings.pair_pooling`); those heads serve the intermediate phase only and are saved beside the
phase's checkpoint, never inside the QA model.

Budget (`Budget`): LoRA through peft (the QA head is then trained in full as a `modules_to_save`),
training restricted to the top layers, frozen embeddings, dropout override. A LoRA adapter is merged
into the weights at the end of each phase, so the next phase starts from a plain checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from xadv.errors import ModelError
from xadv.io import atomic_write_bytes, atomic_write_text, staged_dir
from xadv.models.me5 import mean_pool
from xadv.train.config import PAIR_POOLING

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel

    from xadv.train.config import Budget

HEADS_FILE = "xadv_pair_heads.safetensors"
HEADS_CONFIG = "xadv_pair_heads.json"
NEG = -1e4  # masked logits: far below any real logit, safe in fp16/bf16


class MultiTaskModel(nn.Module):
    """forward(task, **batch) -> scalar loss. `qa` is the HF QA model (peft-wrapped under LoRA)."""

    def __init__(self, qa: "PreTrainedModel", pair_tasks: dict[str, int], seed: int = 0, pooling: str = "cls"):
        super().__init__()
        if pooling not in PAIR_POOLING:
            raise ModelError(f"unknown pair pooling {pooling!r}: use {' or '.join(PAIR_POOLING)}")
        self.qa = qa
        self.pooling = pooling
        hidden = qa.config.hidden_size
        p = getattr(qa.config, "hidden_dropout_prob", 0.1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.heads = nn.ModuleDict({
                t: nn.Sequential(nn.Dropout(p), nn.Linear(hidden, n)) for t, n in sorted(pair_tasks.items())})

    # --- structure ------------------------------------------------------------------------------

    def hf_model(self) -> "PreTrainedModel":
        """The plain HF QA model under any peft wrapper."""
        return self.qa.get_base_model() if hasattr(self.qa, "get_base_model") else self.qa

    def encoder(self):
        return self.hf_model().base_model

    @property
    def is_lora(self) -> bool:
        return hasattr(self.qa, "peft_config")

    # --- forward --------------------------------------------------------------------------------

    def forward(self, task: str, input_ids, attention_mask, token_type_ids=None, allowed=None,
                start_positions=None, end_positions=None, labels=None):
        import torch.nn.functional as F

        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        if task == "qa":
            out = self.qa(**inputs)
            start, end = out.start_logits.float(), out.end_logits.float()
            if allowed is not None:
                start = start.masked_fill(~allowed, NEG)
                end = end.masked_fill(~allowed, NEG)
            return (F.cross_entropy(start, start_positions) + F.cross_entropy(end, end_positions)) / 2
        hidden = pool(self.encoder()(**inputs).last_hidden_state, attention_mask, self.pooling)
        logits = self.heads[task](hidden).float()
        return F.cross_entropy(logits, labels)

    # --- saving ---------------------------------------------------------------------------------

    def merge_lora(self) -> None:
        """Fold LoRA into the weights (the QA head copy trained by peft replaces the original)."""
        if self.is_lora:
            self.qa = self.qa.merge_and_unload()

    def save_checkpoint(self, out: Path, tokenizer) -> None:
        """A plain HF QA checkpoint (safetensors) + tokenizer; pair heads in their own file."""
        from safetensors.torch import save

        self.merge_lora()
        with staged_dir(out) as stage:  # transformers writes into a folder; xadv.io moves the files into place
            self.qa.save_pretrained(str(stage), safe_serialization=True)
            tokenizer.save_pretrained(str(stage))
        if len(self.heads):
            state = {k: v.detach().cpu().contiguous() for k, v in self.heads.state_dict().items()}
            atomic_write_bytes(out / HEADS_FILE, save(state))
            labels = {t: head[1].out_features for t, head in self.heads.items()}
            atomic_write_text(out / HEADS_CONFIG, json.dumps(labels, indent=2) + "\n")

    def trainable_state(self) -> dict[str, "torch.Tensor"]:
        return {n: p.detach().cpu().contiguous() for n, p in self.named_parameters() if p.requires_grad}

    def load_trainable_state(self, state: dict[str, "torch.Tensor"]) -> None:
        own = dict(self.named_parameters())
        missing = [n for n, p in own.items() if p.requires_grad and n not in state]
        unknown = [n for n in state if n not in own]
        if missing or unknown:
            bad = (missing or unknown)[0]
            raise ModelError(f"the resume checkpoint does not fit this model ({len(missing)} missing, "
                             f"{len(unknown)} unknown tensors, e.g. {bad}): start again with --fresh")
        with torch.no_grad():
            for n, t in state.items():
                own[n].copy_(t)


def pool(hidden: "torch.Tensor", attention_mask: "torch.Tensor", how: str) -> "torch.Tensor":
    """[batch, seq, hidden] -> [batch, hidden]: the first token ("cls") or the masked mean ("mean")."""
    return hidden[:, 0] if how == "cls" else mean_pool(hidden, attention_mask)


def layer_list(encoder) -> Any:
    """The encoder's transformer blocks (BERT/XLM-R: encoder.layer)."""
    for path in ("encoder.layer", "layers", "layer", "transformer.layer"):
        node = encoder
        for part in path.split("."):
            node = getattr(node, part, None)
            if node is None:
                break
        if node is not None:
            return node
    raise ModelError(f"cannot find the transformer layers of {type(encoder).__name__}: "
                     f"train_top_layers and LoRA need a BERT-like encoder")


def set_dropout(model, p: float) -> None:
    """Set every dropout probability (nn.Dropout modules and SDPA attention's `dropout_prob`)."""
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = p
        if hasattr(m, "dropout_prob") and isinstance(m.dropout_prob, float):
            m.dropout_prob = p
    for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        if hasattr(model.config, key):
            setattr(model.config, key, p)


def head_names(qa: "PreTrainedModel") -> list[str]:
    """Children of a QA model that are not its encoder (the span head, e.g. `qa_outputs`)."""
    return [n for n, _ in qa.named_children() if n != qa.base_model_prefix]


def apply_budget(model: MultiTaskModel, budget: "Budget", seed: int) -> dict[str, int]:
    """Freeze / wrap the model as the budget says; returns parameter counts (trainable, total)."""
    hf = model.hf_model()
    if budget.dropout is not None:
        set_dropout(hf, budget.dropout)
        for head in model.heads.values():
            head[0].p = budget.dropout
    layers = layer_list(hf.base_model)
    n_layers = len(layers)
    if budget.train_top_layers > n_layers:
        raise ModelError(f"train_top_layers={budget.train_top_layers} but the model has {n_layers} layers")
    top = list(range(n_layers - budget.train_top_layers, n_layers)) if budget.train_top_layers else None
    if budget.lora_r > 0:
        from peft import LoraConfig, get_peft_model

        cfg = LoraConfig(r=budget.lora_r, lora_alpha=budget.lora_alpha, lora_dropout=budget.lora_dropout,
                         target_modules=list(budget.lora_targets), layers_to_transform=top,
                         layers_pattern="layer" if top else None, modules_to_save=head_names(hf), bias="none")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            try:
                model.qa = get_peft_model(hf, cfg)
            except ValueError as exc:
                raise ModelError(f"cannot add LoRA to {type(hf).__name__}: {str(exc).splitlines()[0]}") from None
    else:
        for p in hf.base_model.parameters():
            p.requires_grad_(False)
        for i in top if top is not None else range(n_layers):
            for p in layers[i].parameters():
                p.requires_grad_(True)
        if top is None and not budget.freeze_embeddings:
            for p in hf.base_model.embeddings.parameters():
                p.requires_grad_(True)
        for name in head_names(hf):
            for p in getattr(hf, name).parameters():
                p.requires_grad_(True)
    for p in model.heads.parameters():
        p.requires_grad_(True)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": int(trainable), "total": int(total)}
