"""Small file helpers shared by every layer that reads, writes or hashes files: the strict JSON reader,
the one writer (`atomic_open`), hashing, safe quoting, and the git commit that records and model cards stamp.

Every file xadv writes goes through `atomic_open` (or the helpers built on it: `atomic_write_text`,
`atomic_write_bytes`, `atomic_copy`, `staged_dir` for libraries that only write into a folder). It:

- refuses, in one line (`XadvError`), to replace anything that exists and is not a regular file: a
  directory, a FIFO, a socket, a device (`--out /dev/full` as root would otherwise swap the device node
  for a JSON file), or a symbolic link. Links are refused rather than written through: a link planted in a
  shared results folder could redirect a write (run as root) onto any file; give the real path instead;
- writes a temporary file in the target's own folder and renames it over the target only on success,
  so an interrupted run (Ctrl-C, full disk) never leaves a half-written file that a later run would trust;
- checks first that the folder is writable and has room: at least `XADV_MIN_FREE_MB` (default 16) MB
  free plus the size of the file where it is known; a disk that fills up while writing is one line too.

`check_output_path` / `check_output_dir` run the same checks without writing, so commands can refuse a bad
`--out` before they compute anything. Readers of untrusted folders use `read_regular_bytes`, which opens
without blocking and accepts regular files only (a FIFO named `x.json` would otherwise hang a reader).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from xadv.errors import XadvError

MIN_FREE_MB = 16.0  # default floor of free space for any write; env XADV_MIN_FREE_MB overrides it
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def file_kind(mode: int) -> str:
    """What a `stat` mode is, in words ("a FIFO (named pipe)", "a directory", ...)."""
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def min_free_bytes() -> int:
    """The free space every write needs beyond the file itself: $XADV_MIN_FREE_MB (default 16) MB."""
    raw = os.environ.get("XADV_MIN_FREE_MB")
    if raw is None or not raw.strip():
        return int(MIN_FREE_MB * 2**20)
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not 0 <= mb < float("inf"):
        raise XadvError(f"XADV_MIN_FREE_MB={raw!r} is not a number of megabytes >= 0")
    return int(mb * 2**20)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise XadvError(f"{path}: a folder on the way is a file, not a directory") from None
    except OSError as exc:
        raise XadvError(f"{path}: cannot check it ({exc.strerror or exc})") from None


def _existing_folder(path: Path) -> Path:
    """`path` if it exists, else its nearest existing ancestor; XadvError if that is not a directory."""
    folder = path
    while _lstat(folder) is None and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise XadvError(f"{path}: {folder} is not a directory")
    return folder


def _check_room(folder: Path, target: Path, size_hint: int | None, probe: bool) -> None:
    if probe:  # the only sure test of "can I create a file here" (root passes every permission check)
        name = folder / f".xadv-probe-{uuid.uuid4().hex[:12]}"
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(name)
        except OSError as exc:
            raise XadvError(f"cannot write {target}: folder {folder} is not writable ({exc.strerror or exc})") from None
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise XadvError(f"cannot write {target}: cannot read the free space of {folder} ({exc.strerror or exc})") \
            from None
    need = min_free_bytes() + max(size_hint or 0, 0)
    if free < need:
        raise XadvError(f"cannot write {target}: only {free / 2**20:.1f} MB free in {folder}, xadv needs "
                        f"{need / 2**20:.1f} MB (free some space, or lower XADV_MIN_FREE_MB)")


def check_output_path(path: str | os.PathLike, *, size_hint: int | None = None, probe: bool = True) -> Path:
    """Raise XadvError (one line) unless a regular file may be written at `path`: it is absent or a regular
    file (never a directory, link, FIFO, socket or device), its folder (or the nearest existing ancestor)
    is a writable directory, with `XADV_MIN_FREE_MB` + `size_hint` bytes free. A str ending in a slash names a
    folder (`Path("new/")` would drop the slash and a file `new` be written): refused. Writes nothing."""
    if isinstance(path, str) and path.endswith(("/", os.sep)):
        raise XadvError(f"{path}: ends in a slash, so it names a folder, but a file is written here (give a file "
                        f"path, e.g. {path.rstrip('/' + os.sep) or '.'}/out.json)")
    path = _refuse_odd(Path(path))
    _check_room(_existing_folder(path.parent), path, size_hint, probe)
    return path


def _refuse_odd(path: Path) -> Path:
    """`path`, unless it exists and is not a regular file (the kind check of `check_output_path`)."""
    st = _lstat(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        link = stat.S_ISLNK(st.st_mode)
        raise XadvError(f"{path} is {file_kind(st.st_mode)}, not a regular file: xadv only ever replaces regular "
                        f"files (give {'the real path, not a link' if link else 'a file path'})")
    return path


def check_output_dir(path: str | os.PathLike, *, size_hint: int | None = None) -> Path:
    """Raise XadvError (one line) unless `path` is, or can be created as, a writable directory with room.
    A link to a directory is accepted: files go into it one by one through `atomic_open`."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise XadvError(f"{path}: cannot check it ({exc.strerror or exc})") from None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise XadvError(f"{path} is {file_kind(st.st_mode)}, not a directory: give a directory path")
    _check_room(_existing_folder(path), path, size_hint, probe=True)
    return path


def _disk_error(path: Path, exc: OSError) -> XadvError:
    return XadvError(f"cannot write {path}: {exc.strerror or exc} (nothing was replaced)")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", *, size_hint: int | None = None) -> Iterator[IO]:
    """Open a temporary sibling of `path` for writing; rename it over `path` only on success.

    XadvError (one line) when `path` exists and is not a regular file, its folder is not writable or
    lacks room (`check_output_path`), or the disk fills up while writing; the target is then untouched."""
    path = check_output_path(path, size_hint=size_hint, probe=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XadvError(f"cannot write {path}: cannot create its folder ({exc.strerror or exc})") from None
    # A fresh name opened with "x" (not mkstemp) so the final file gets the usual umask permissions.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    text = "b" not in mode
    try:
        fh = open(tmp, mode.replace("w", "x"), encoding="utf-8" if text else None, newline="" if text else None)
    except OSError as exc:
        raise XadvError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _refuse_odd(path)  # nothing odd appeared there meanwhile
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.errno in _DISK_FULL:
            raise _disk_error(path, exc) from None
        raise
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
               error: type[XadvError] = XadvError, unicode_only: bool = False) -> Any:
    """Parse JSON text (bytes must be UTF-8) strictly, or raise `error` with one line naming `where`.

    Strict: a key given twice in one object is an error, not "the last one wins"; input nested too deeply
    for the parser (RecursionError), bytes that are not UTF-8 and malformed JSON are errors too. `what`
    names the kind of file in messages ("dataset", "predictions file", "attack record"). `unicode_only`:
    also refuse lone surrogates (JSON's `\\ud800` escape), which no UTF-8 file, digest or terminal can hold;
    the data layer checks them itself, per example, to name the example.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not a JSON {what} (not UTF-8 text: byte {exc.start})") from None
    try:
        obj = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise error(f"{where}: not a JSON {what} (key {one_line(exc.key)} appears twice in one object)") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not a JSON {what} (malformed JSON at line {exc.lineno} column {exc.colno}: "
                    f"{exc.msg})") from None
    except RecursionError:
        raise error(f"{where}: not a JSON {what} (nested too deeply to read)") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python's int_max_str_digits
        raise error(f"{where}: not a JSON {what} ({one_line(str(exc), 100)})") from None
    if unicode_only:
        bad = _first_lone_surrogate(obj)
        if bad is not None:
            raise error(f"{where}: not a JSON {what} (a lone surrogate in {bad}: not valid Unicode)")
    return obj


def _first_lone_surrogate(obj: Any, at: str = "$") -> str | None:
    """Where the first string (or key) holding a lone surrogate is, as a JSON path; None if none does."""
    stack = [(obj, at)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if lone_surrogate(value) is not None:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if lone_surrogate(key) is not None:
                    return f"a key of {path}"
                stack.append((item, f"{path}.{key}" if key.isidentifier() else f"{path}[{one_line(key, 30)}]"))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None


def read_json(path: str | os.PathLike, what: str = "JSON file", error: type[XadvError] = XadvError,
              missing: str | None = None, unicode_only: bool = False) -> Any:
    """Read and parse one JSON file strictly (`parse_json`); every failure is one line naming the file.

    missing: the message when the file does not exist (default `<path>: no such <what> file`)."""
    path = Path(path)
    raw = _read_config_bytes(path, what, error, missing or f"{path}: no such {what} file")
    return parse_json(raw, str(path), what, error, unicode_only)


def _read_config_bytes(path: Path, what: str, error: type[XadvError], missing: str) -> bytes:
    """The bytes of a regular file for `read_json` / `read_toml`, every failure raised as `error`."""
    try:
        return read_regular_bytes(path, what)
    except FileNotFoundError:
        raise error(missing) from None
    except XadvError as exc:
        raise error(str(exc)) from None


def read_toml(path: str | os.PathLike, what: str = "TOML file", error: type[XadvError] = XadvError,
              missing: str | None = None) -> dict[str, Any]:
    """Read and parse one TOML file; every failure is one line naming the file (a FIFO or device is refused
    unopened, nesting too deep for the parser is an error, not a RecursionError)."""
    path = Path(path)
    raw = _read_config_bytes(path, what, error, missing or f"{path}: no such {what}")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a {what} (not UTF-8 text: byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not a {what} ({one_line(str(exc), 120)})") from None
    except RecursionError:
        raise error(f"{path}: not a {what} (nested too deeply to read)") from None


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """`path.write_text(text)` through `atomic_open` (UTF-8, newlines as given)."""
    data = text.encode("utf-8")
    return atomic_write_bytes(path, data)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """`path.write_bytes(data)` through `atomic_open`."""
    with atomic_open(path, "wb", size_hint=len(data)) as fh:
        fh.write(data)
    return Path(path)


def atomic_copy(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy the regular file `src` to `dest` through `atomic_open` (the mode bits are not copied)."""
    src = Path(src)
    with open(src, "rb") as inp:
        if not stat.S_ISREG(os.fstat(inp.fileno()).st_mode):
            raise XadvError(f"{src} is not a regular file: nothing to copy")
        with atomic_open(dest, "wb", size_hint=os.fstat(inp.fileno()).st_size) as out:
            shutil.copyfileobj(inp, out, 1 << 20)
    return Path(dest)


@contextlib.contextmanager
def staged_dir(out: str | os.PathLike) -> Iterator[Path]:
    """A fresh folder inside `out` for writers that only take a folder (transformers' `save_pretrained`);
    on success each file written there is moved over its namesake in `out` under `atomic_open`'s rules
    (only regular files are ever replaced), then the folder is removed, also on failure."""
    out = check_output_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = out / f".stage-{uuid.uuid4().hex[:12]}"
    stage.mkdir()
    try:
        yield stage
        files = sorted(p for p in stage.rglob("*") if p.is_file() and not p.is_symlink())
        for src in files:
            dest = _refuse_odd(out / src.relative_to(stage))
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(src, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(src, dest)
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise _disk_error(out, exc) from None
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def read_regular_bytes(path: str | os.PathLike, what: str = "data") -> bytes:
    """The bytes of `path`, which must be a regular file (a link to one is fine): opened without blocking
    and checked before reading, so a FIFO or device never hangs or floods a reader. FileNotFoundError
    passes through (callers word it); anything else odd is XadvError naming the file."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise XadvError(f"{path} is a directory, not a {what} file") from None
    except OSError as exc:
        raise XadvError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise XadvError(f"{path} is {file_kind(mode)}, not a regular file: xadv reads {what} from regular "
                        f"files only (remove it or point elsewhere)")
    with open(fd, "rb") as fh:
        return fh.read()


def check_regular_file(path: str | os.PathLike, what: str = "data") -> Path:
    """XadvError unless `path` is a regular file (following links); for files handed to other libraries."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise XadvError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise XadvError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise XadvError(f"{path} is {file_kind(mode)}, not a regular file: xadv reads {what} from regular files only")
    return path


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


def git(where: str | os.PathLike, *args: str, timeout: float = 20) -> str:
    """`git -C where args...`'s stripped stdout; OSError or subprocess.SubprocessError when git is missing,
    slow or fails (callers decide what that means)."""
    return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=timeout,
                          check=True).stdout.strip()


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """The commit of the source tree xadv runs from (suffix `-dirty` with local changes); None outside git,
    and None for an installed copy that merely sits inside some other repository (a venv in a checkout)."""
    where = Path(path) if path else Path(__file__).resolve().parents[1]
    try:
        if Path(git(where, "rev-parse", "--show-toplevel", timeout=10)).resolve() != where.resolve():
            return None
        head = git(where, "rev-parse", "HEAD", timeout=10)
        dirty = git(where, "status", "--porcelain", "--untracked-files=no", timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head
