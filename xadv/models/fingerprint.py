"""Content fingerprints of checkpoints: what a run record cites as "the model".

fingerprint = sha256 over the sorted lines `name <TAB> size <TAB> sha256(file bytes)` of the files that
decide the model's behaviour: config.json, the weight files actually loaded, and the tokenizer files.
It depends only on content (not on paths, mtimes or README/provenance files), so the same checkpoint
copied elsewhere has the same fingerprint.

Hashing 0.5 GB of weights takes seconds, so each file's digest is memoised in
`<cache>/fingerprints.json`, keyed by absolute path + size + mtime_ns + inode: any change to a file
rehashes it, an unchanged file is hashed once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from xadv.errors import XadvError
from xadv.io import atomic_write_text, read_json
from xadv.paths import cache_dir

#: Tokenizer files that change tokenisation when present (those that do not exist are skipped).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "sentencepiece.bpe.model", "spiece.model", "vocab.txt", "vocab.json", "merges.txt")
_MEMO_FILE = "fingerprints.json"


def _memo_path() -> Path:
    return cache_dir() / _MEMO_FILE


def _load_memo() -> dict:
    try:
        data = read_json(_memo_path(), "fingerprint memo")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, XadvError):  # a memo xadv cannot read only costs re-hashing
        return {}


def _save_memo(memo: dict) -> None:
    try:
        atomic_write_text(_memo_path(), json.dumps(memo, indent=0, sort_keys=True))
    except (OSError, XadvError):  # a read-only (or full) cache only costs re-hashing next time
        pass


def file_sha256(path: Path, memo: dict | None = None) -> str:
    """sha256 of a file's bytes, memoised by (path, size, mtime_ns, inode) in `memo` when given."""
    st = path.stat()
    key = str(path.resolve())
    stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
    if memo is not None and isinstance(memo.get(key), dict) and memo[key].get("stamp") == stamp:
        return memo[key]["sha256"]
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if memo is not None:
        memo[key] = {"stamp": stamp, "sha256": digest}
    return digest


def checkpoint_fingerprint(root: Path, files: list[Path]) -> str:
    """Hex sha256 identifying the content of `files` (paths inside checkpoint directory `root`)."""
    memo = _load_memo()
    before = dict(memo)
    lines = []
    for f in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        lines.append(f"{f.relative_to(root).as_posix()}\t{f.stat().st_size}\t{file_sha256(f, memo)}\n")
    if memo != before:
        _save_memo(memo)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
