"""Small typed values every layer shares, parsed once from text: the attack target.

Core layer: no imports beyond the standard library and `xadv.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import TypeVar

from xadv.errors import XadvError

T = TypeVar("T")


def parse_items(text: str | Sequence[str], parse: Callable[[str], T], empty: str) -> tuple[T, ...]:
    """`a,b` (or a list of items) -> each parsed, in order, repeats dropped; XadvError(`empty`) when none."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = tuple(dict.fromkeys(parse(item) for item in items if str(item).strip()))
    if not out:
        raise XadvError(empty)
    return out


class Target(str, Enum):
    """What an attack edits. `auto` resolves per attack: the question where it can edit it, else the
    context (distractor and sentence-reorder only edit contexts); see `resolve`."""

    QUESTION = "question"
    CONTEXT = "context"
    BOTH = "both"
    AUTO = "auto"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str | Target) -> Target:
        if isinstance(text, Target):
            return text
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            raise XadvError(f"unknown target {text!r} (question, context, both or auto)") from None

    @classmethod
    def parse_list(cls, text: str | Sequence[str]) -> tuple[Target, ...]:
        """`question,context` (or a list) -> targets in order, duplicates dropped; XadvError when empty."""
        return parse_items(text, cls.parse, "no target given (question, context, both or auto)")

    def resolve(self, editable: tuple[str, ...] | list[str]) -> str:
        """The concrete target for an attack that can edit `editable` (auto: question if it can)."""
        if self is Target.AUTO:
            return Target.QUESTION.value if Target.QUESTION.value in editable else Target.CONTEXT.value
        return self.value
