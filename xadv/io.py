"""Small file helpers shared by every layer that writes or hashes files: atomic writes, hashing, safe quoting,
and the git commit that records and model cards stamp.

Writes go to a temporary file in the target's folder and are renamed into place, so an interrupted
run (Ctrl-C, full disk) never leaves a half-written dataset that a later run would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary sibling of `path` for writing; rename it over `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name opened with "x" (not mkstemp) so the final file gets the usual umask permissions.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        text = "b" not in mode
        with open(tmp, mode.replace("w", "x"), encoding="utf-8" if text else None,
                  newline="" if text else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (the TyDi train file is 58 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def one_line(text: str, limit: int = 60) -> str:
    """A short quoted rendering of user text for error messages: never spans lines."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(text)


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The commit of the source tree xadv runs from (suffix `-dirty` with local changes); None outside git,
    and None for an installed copy that merely sits inside some other repository (a venv in a checkout)."""
    where = Path(path) if path else Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != where.resolve():
            return None
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head
