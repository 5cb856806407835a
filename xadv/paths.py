"""Where xadv reads data from and caches things, and how long it waits for the network.

Data directory, in order: an explicit `--data-dir`, env `XADV_DATA_DIR`, else `<user cache>/data`.
Cache directory: env `XADV_CACHE_DIR`, else the platform's user cache dir for "xadv"; it must be a
directory (or not exist yet): anything else is one line, never a traceback half-way through a run.
Network timeout: env `XADV_NET_TIMEOUT` seconds (default 30) for every connect and every read of a
download or a Hugging Face hub request, so an endpoint that accepts and never answers cannot hang a run.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from xadv.errors import XadvError

NET_TIMEOUT_S = 30.0


def cache_dir() -> Path:
    env = os.environ.get("XADV_CACHE_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir("xadv"))
    _check_dir(path, f"XADV_CACHE_DIR={env}" if env else f"the cache directory {path}")
    return path


def _check_dir(path: Path, label: str) -> None:
    """XadvError unless `path` is a directory, or absent below an existing directory."""
    folder = path
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        where = "" if folder == path else f" ({folder} is in the way)"
        raise XadvError(f"{label} is not a directory{where}: point it at a directory")


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("XADV_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "data"


def network_timeout() -> float:
    """Seconds any single network connect or read may take: $XADV_NET_TIMEOUT, else 30."""
    raw = os.environ.get("XADV_NET_TIMEOUT")
    if raw is None or not raw.strip():
        return NET_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise XadvError(f"XADV_NET_TIMEOUT={raw!r} is not a number of seconds > 0")
    return value
