"""Test doubles: constructed oracle models and tiny random models, in one importable place.

    from xadv.testing import SpanOracle, KeywordOracle, keyword_case, tiny_qa_model

- `xadv.testing.oracles`: `SpanOracle` (answers registered (question, context) pairs with known character
  spans: ground truth for windowing, batching, decoding and caching) and `KeywordOracle` with
  `keyword_case` (answers flip once known keywords are broken: ground truth for loss-guided search).
- `xadv.testing.loaded`: `StubModel`, what a run reads of a loaded model, for runs on an oracle engine.
- `xadv.testing.tiny`: `tiny_qa_model(seed)` / `tiny_qa_config`, a small random BERT QA model with the
  real multilingual-e5-small tokenizer, for fast tests of everything downstream of a checkpoint.

For tests and benchmarks only: nothing else under `xadv/` or `attacks/` imports this package. It sits
beside `xadv.runs` in the layers (it may use `xadv.qa`, `xadv.models`, `attacks`, `attacks.search`).
Importing it is cheap: the names load their module (and torch) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .loaded import StubModel
    from .oracles import KeywordCase, KeywordOracle, OracleOutput, SpanOracle, keyword_case
    from .tiny import tiny_checkpoint, tiny_qa_config, tiny_qa_model

_WHERE = {
    "KeywordCase": "oracles",
    "KeywordOracle": "oracles",
    "OracleOutput": "oracles",
    "SpanOracle": "oracles",
    "StubModel": "loaded",
    "keyword_case": "oracles",
    "tiny_checkpoint": "tiny",
    "tiny_qa_config": "tiny",
    "tiny_qa_model": "tiny",
}

__all__ = [
    "KeywordCase",
    "KeywordOracle",
    "OracleOutput",
    "SpanOracle",
    "StubModel",
    "keyword_case",
    "tiny_checkpoint",
    "tiny_qa_config",
    "tiny_qa_model",
]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
