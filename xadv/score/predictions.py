"""Read a predictions file in the official SQuAD format: one JSON object {id: answer_text}.

Validation is strict because a malformed file would otherwise score as silently wrong numbers
(e.g. an n-best file, {id: [{"text": ...}, ...]}, would count every question as missed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from xadv.errors import XadvError


def validate_predictions(obj: object, source: str = "predictions") -> dict[str, str]:
    """Return `obj` as {id: answer text}, or raise XadvError naming the first offending entry."""
    if not isinstance(obj, dict):
        raise XadvError(f"{source}: expected a JSON object {{id: answer_text}}, "
                        f"got a JSON {type(obj).__name__}")
    for example_id, text in obj.items():
        if not isinstance(text, str):
            raise XadvError(f"{source}: prediction for id {example_id!r} is a "
                            f"{type(text).__name__}, expected the answer text (a string); "
                            "pass the {id: answer_text} file, not n-best output")
    return obj


def read_predictions(path: str | os.PathLike) -> dict[str, str]:
    """Load and validate a predictions JSON file."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise XadvError(f"predictions file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise XadvError(f"cannot read predictions file {path}: {exc}") from None
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise XadvError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, "
                        f"column {exc.colno})") from None
    return validate_predictions(obj, str(path))
