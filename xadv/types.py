"""Small typed values every layer shares, parsed once from text: the attack target.

Core layer: no imports beyond the standard library and `xadv.errors`.
"""

from __future__ import annotations

from enum import Enum

from xadv.errors import XadvError


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
    def parse_list(cls, text: str | list[str] | tuple[str, ...]) -> tuple[Target, ...]:
        """`question,context` (or a list) -> targets in order, duplicates dropped; XadvError when empty."""
        items = text.split(",") if isinstance(text, str) else list(text)
        out: list[Target] = []
        for item in items:
            if str(item).strip():
                t = cls.parse(item)
                if t not in out:
                    out.append(t)
        if not out:
            raise XadvError("no target given (question, context, both or auto)")
        return tuple(out)

    def resolve(self, editable: tuple[str, ...] | list[str]) -> str:
        """The concrete target for an attack that can edit `editable` (auto: question if it can)."""
        if self is Target.AUTO:
            return Target.QUESTION.value if Target.QUESTION.value in editable else Target.CONTEXT.value
        return self.value
