"""User-facing errors.

Anything that is the user's input being wrong (a missing file, malformed data, an unknown language)
raises `XadvError` with one line that names the file / example / value at fault. The CLI prints
that line and exits non-zero; it never shows a traceback for these.
"""


class XadvError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class DataError(XadvError):
    """A dataset file is missing, malformed or inconsistent."""


class ModelError(XadvError):
    """A checkpoint cannot be loaded or is not usable for extractive QA."""


class XadvWarning(UserWarning):
    """Something xadv repaired or worked around on its own (e.g. a corrupt cache set aside); the CLI
    prints it as one `warning: ...` line."""
