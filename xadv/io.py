"""Small file helpers shared by every layer that reads, writes or hashes files: the strict JSON reader,
atomic writes, hashing, safe quoting, and the git commit that records and model cards stamp.

Writes go to a temporary file in the target's folder and are renamed into place, so an interrupted
run (Ctrl-C, full disk) never leaves a half-written dataset that a later run would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from xadv.errors import XadvError


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


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` that refuses a key given twice in one object (plain json keeps the last)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def parse_json(raw: bytes | str, where: str, what: str = "JSON file",
               error: type[XadvError] = XadvError) -> Any:
    """Parse JSON text (bytes must be UTF-8) strictly, or raise `error` with one line naming `where`.

    Strict: a key given twice in one object is an error, not "the last one wins"; input nested too deeply
    for the parser (RecursionError), bytes that are not UTF-8 and malformed JSON are errors too. `what`
    names the kind of file in messages ("dataset", "predictions file", "attack record").
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not a JSON {what} (not UTF-8 text: byte {exc.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise error(f"{where}: not a JSON {what} (key {one_line(exc.key)} appears twice in one object)") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not a JSON {what} (malformed JSON at line {exc.lineno} column {exc.colno}: "
                    f"{exc.msg})") from None
    except RecursionError:
        raise error(f"{where}: not a JSON {what} (nested too deeply to read)") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python's int_max_str_digits
        raise error(f"{where}: not a JSON {what} ({one_line(str(exc), 100)})") from None


def read_json(path: str | os.PathLike, what: str = "JSON file", error: type[XadvError] = XadvError,
              missing: str | None = None) -> Any:
    """Read and parse one JSON file strictly (`parse_json`); every failure is one line naming the file.

    missing: the message when the file does not exist (default `<path>: no such <what> file`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(missing or f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    return parse_json(raw, str(path), what, error)


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


def lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in `text` (JSON's `\\ud800` escape lets one in), else None.
    Such text is not valid Unicode: no UTF-8 file, Arrow column or terminal can hold it."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


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
