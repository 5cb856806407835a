"""Where xadv reads data from and caches things.

Data directory, in order: an explicit `--data-dir`, env `XADV_DATA_DIR`, else `<user cache>/data`.
Cache directory: env `XADV_CACHE_DIR`, else the platform's user cache dir for "xadv".
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    env = os.environ.get("XADV_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("xadv"))


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("XADV_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "data"
