"""Offline start-up of TextAttack: make `import textattack` work without a network, once per process.

Why this exists: on first import, TextAttack (0.3.11) runs a "post-install" step that calls
`nltk.download` six times (unreachable offline: each waits for a failing connection) and then, at
module level of its augmentation recipes, builds `StopwordModification()`, which reads NLTK's English
stopword list and crashes when it is absent. xadv never uses that list (its search passes its own
constraints), so start-up does two things, both idempotent:

1. the post-install marker TextAttack checks (`<TextAttack cache>/post_install_check_3`, where the
   cache is `$TA_CACHE_DIR` if the user set it, else `~/.cache/textattack`) is created if missing,
   so no download is attempted;
2. if no `corpora/stopwords` is found on `nltk.data.path`, an (empty) English stopword list is
   written under xadv's own cache (`<xadv cache>/nltk_data`) and that directory is *appended* to
   `nltk.data.path`, so a real NLTK installation always takes precedence.

`TA_CACHE_DIR` is deliberately never set: TextAttack copies it into HF_HOME, XDG_CACHE_HOME and other
cache variables of the whole process. Importing TextAttack takes several seconds (it pulls in flair),
so only `attacks.search` modules that subclass TextAttack classes call this, never `import attacks`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import ModuleType

from xadv.errors import XadvError
from xadv.io import atomic_write_text

POST_INSTALL_MARKER = "post_install_check_3"  # textattack/shared/utils/install.py, 0.3.x


def textattack_cache_dir() -> Path:
    """Where TextAttack looks for its marker: the same rule as TextAttack itself."""
    return Path(os.environ.get("TA_CACHE_DIR") or os.path.expanduser("~/.cache/textattack"))


def nltk_dir() -> Path:
    """The NLTK data directory xadv owns (only used when no stopword list is installed)."""
    from xadv.paths import cache_dir

    return cache_dir() / "nltk_data"


def _ensure_marker() -> Path:
    marker = textattack_cache_dir() / POST_INSTALL_MARKER
    if not marker.exists():
        try:
            atomic_write_text(marker, "")
        except (OSError, XadvError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise XadvError(f"cannot prepare TextAttack's cache at {marker.parent} ({why}); "
                            f"make it writable or set TA_CACHE_DIR") from None
    return marker


def _ensure_stopwords() -> Path | None:
    """None when NLTK already finds a stopword corpus; else the directory added to its path."""
    import nltk

    try:
        nltk.data.find("corpora/stopwords")
        return None
    except LookupError:
        pass
    root = nltk_dir()
    english = root / "corpora" / "stopwords" / "english"
    if not english.is_file():
        try:
            atomic_write_text(english, "")
        except (OSError, XadvError) as exc:
            raise XadvError(f"cannot write NLTK data under {root} ({getattr(exc, 'strerror', None) or exc}); "
                            f"set XADV_CACHE_DIR to a writable directory") from None
    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))
    return root


def ensure_textattack() -> ModuleType:
    """Import TextAttack offline (idempotent) and return the module; XadvError if it cannot be."""
    mod = sys.modules.get("textattack")
    if mod is not None and hasattr(mod, "Attack"):
        return mod
    _ensure_marker()
    _ensure_stopwords()
    # Importing TextAttack has process-wide side effects that xadv undoes: it forces
    # TOKENIZERS_PARALLELISM=True and calls logging.config.dictConfig, which disables every logger
    # created before it (transformers', xadv's).
    env_before = os.environ.get("TOKENIZERS_PARALLELISM")
    manager = logging.Logger.manager
    disabled_before = {name: lg.disabled for name, lg in manager.loggerDict.items()
                       if isinstance(lg, logging.Logger)}
    try:
        import textattack
    except ImportError as exc:
        raise XadvError(f"the search attacks need TextAttack (pip install textattack==0.3.11): {exc}") from None
    except LookupError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "missing NLTK data"
        raise XadvError(f"TextAttack could not start offline: {first}") from None
    finally:
        if env_before is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = env_before
        for name, was in disabled_before.items():
            lg = manager.loggerDict.get(name)
            if isinstance(lg, logging.Logger):
                lg.disabled = was
    return textattack
