"""Read a predictions file in the official SQuAD format: one JSON object {id: answer_text}.

Validation is strict because a malformed file would otherwise score as silently wrong numbers
(e.g. an n-best file, {id: [{"text": ...}, ...]}, would count every question as missed, and a file
that gives one id twice would keep only the last answer).
"""

from __future__ import annotations

import os
from pathlib import Path

from xadv.errors import XadvError
from xadv.io import lone_surrogate, one_line, read_json


def validate_predictions(obj: object, source: str = "predictions") -> dict[str, str]:
    """Return `obj` as {id: answer text}, or raise XadvError naming the first offending entry."""
    if not isinstance(obj, dict):
        raise XadvError(f"{source}: expected a JSON object {{id: answer_text}}, "
                        f"got a JSON {type(obj).__name__}")
    for example_id, text in obj.items():
        if not isinstance(text, str):
            raise XadvError(f"{source}: prediction for id {one_line(example_id)} is a "
                            f"{type(text).__name__}, expected the answer text (a string); "
                            "pass the {id: answer_text} file, not n-best output")
        if lone_surrogate(example_id) is not None or lone_surrogate(text) is not None:
            raise XadvError(f"{source}: prediction for id {one_line(example_id)} holds a lone surrogate "
                            "(not valid Unicode text)")
    return obj


def read_predictions(path: str | os.PathLike) -> dict[str, str]:
    """Load and validate a predictions JSON file (strict JSON: an id given twice is an error)."""
    path = Path(path)
    obj = read_json(path, "predictions file", missing=f"predictions file not found: {path}")
    return validate_predictions(obj, str(path))
