"""`StubModel`: the fields of `xadv.models.LoadedModel` that a run reads, for jobs driven by an oracle engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StubModel:
    name: str
    fingerprint: str
    zero_shot: dict | None = None  # {"seen_qa_languages": [...]} as a model card gives it
    device: str = "cpu"
    model: Any = None
    tokenizer: Any = None
    extra: dict = field(default_factory=dict)
