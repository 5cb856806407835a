"""The embedded default QA model: the offline me5-small import + a small LoRA adapter shipped with xadv.

xadv must be able to attack a real QA model right after install, without a download: the adapter
(`xadv/assets/default/`, peft format, a few MB) was trained by `xadv train --preset default` on English
TyDi QA GoldP train only; its `xadv_card.json` records the data sha256s, the recipe and the clean TyDi
dev F1/EM per language. Loading merges the adapter into the me5-small weights, so inference costs
exactly what the plain encoder costs.

The fingerprint combines the base checkpoint's content hash with the adapter files' hashes: a different
adapter (or base) is a different model, and cached predictions never cross between them.

This module holds what the default model *is* (names, files, where they live); loading it is
`xadv.models.loading.load_default_model` (`load_qa_model("default")`), so nothing here imports upward.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_NAME = "default"
DEFAULT_BASE = "me5-small"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def default_adapter_dir() -> Path:
    """Where the package keeps the default adapter (package data)."""
    return Path(__file__).resolve().parents[1] / "assets" / "default"
