"""The embedded default QA model: the offline me5-small import + a small LoRA adapter shipped with xadv.

xadv must be able to attack a real QA model right after install, without a download: the adapter
(`xadv/assets/default/`, peft format, a few MB) was trained by `xadv train --preset default` on English
TyDi QA GoldP train only; its `xadv_card.json` records the data sha256s, the recipe and the clean TyDi
dev F1/EM per language. Loading merges the adapter into the me5-small weights, so inference costs
exactly what the plain encoder costs.

The fingerprint combines the base checkpoint's content hash with the adapter files' hashes: a different
adapter (or base) is a different model, and cached predictions never cross between them.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

from xadv.errors import ModelError
from xadv.models.loading import LoadedModel

DEFAULT_NAME = "default"
DEFAULT_BASE = "me5-small"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def default_adapter_dir() -> Path:
    """Where the package keeps the default adapter (package data)."""
    return Path(__file__).resolve().parents[1] / "assets" / "default"


def _adapter_fingerprint(base_fingerprint: str, adapter_dir: Path) -> str:
    from xadv.models.fingerprint import file_sha256

    lines = [f"base\t{base_fingerprint}\n"]
    for name in ADAPTER_FILES:
        path = adapter_dir / name
        lines.append(f"{name}\t{path.stat().st_size}\t{file_sha256(path)}\n")
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def load_adapter_model(adapter_dir: str | Path, *, base: str = DEFAULT_BASE, name: str | None = None,
                       device: str = "cpu") -> LoadedModel:
    """A base checkpoint with a peft LoRA QA adapter merged in (the adapter's QA head replaces the base's)."""
    adapter_dir = Path(adapter_dir)
    missing = [f for f in ADAPTER_FILES if not (adapter_dir / f).is_file()]
    if missing:
        raise ModelError(f"{adapter_dir} is not a QA adapter (missing {', '.join(missing)})")
    from xadv.models.loading import UntrainedHeadWarning, load_qa_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)  # the adapter brings the trained head
        loaded = load_qa_model(base, allow_untrained_head=True)
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelError("loading a LoRA adapter needs the package 'peft' (pip install peft)") from None
    try:
        model = PeftModel.from_pretrained(loaded.model, str(adapter_dir)).merge_and_unload()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot apply the adapter {adapter_dir} to {base}: {first}") from None
    from xadv.models.card import read_card, zero_shot_info

    card = read_card(adapter_dir)
    model.to(device).eval()
    return LoadedModel(
        model=model, tokenizer=loaded.tokenizer, name=name or str(adapter_dir), path=adapter_dir,
        fingerprint=_adapter_fingerprint(loaded.fingerprint, adapter_dir), has_qa_head=True,
        weights_format="safetensors", device=device,
        provenance={"kind": "xadv-lora-adapter", "base": base, "base_fingerprint": loaded.fingerprint,
                    "base_provenance": loaded.provenance, "adapter": str(adapter_dir)},
        zero_shot=zero_shot_info(card), extra={"card": card} if card else {})


def load_default_model(device: str = "cpu") -> LoadedModel:
    """me5-small + the embedded default adapter: what `--model default` (and no `--model`) means."""
    adapter_dir = default_adapter_dir()
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise ModelError(f"the default QA adapter is missing from this installation ({adapter_dir}): "
                         f"reinstall xadv, or pass --model CKPT")
    return load_adapter_model(adapter_dir, base=DEFAULT_BASE, name=DEFAULT_NAME, device=device)
