"""Which xadv attacks a word-level search can use (no TextAttack needed: the CLI checks names with it).

A search edits one word at a time, so it needs a family that can propose edits for a single word on its
own: keyboard, char-noise, char-insert/-delete/-swap/-substitute, homoglyph, invisible, nfd, diacritics,
codemix, word-delete. Sentence attacks (distractor, sentence-reorder), word-swap (pairs of words) and
compositions (`a+b`, one perturbation after another) are static attacks only.
"""

from __future__ import annotations

from collections.abc import Sequence

from attacks.base import Attack
from attacks.registry import get_attack
from attacks.word import WordSwap as _XadvWordSwapFamily
from xadv.errors import XadvError


def per_word(attack: Attack) -> bool:
    """Can this family edit one word on its own (what a word-level search needs)?"""
    return attack.unit == "words" and not isinstance(attack, _XadvWordSwapFamily) and not hasattr(attack, "steps")


def searchable_attacks(names: str | Sequence[str], params: dict | None = None) -> list[Attack]:
    """Resolve `keyboard,homoglyph` (or a list) to per-word families; XadvError for any other."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise XadvError("the search needs at least one transformation (e.g. keyboard)")
    out: list[Attack] = []
    for name in names:
        if "+" in name:
            raise XadvError(f"transformation {name!r}: a search combines families with ',' (each candidate "
                            f"edit comes from one of them), not '+'")
        attack = get_attack(name)
        if params:
            mine = {k: v for k, v in params.items() if k in attack.describe()["params"]}
            if mine:
                attack = get_attack(name, **mine)
        if not per_word(attack):
            raise XadvError(f"attack {attack.name!r} edits {attack.unit} or pairs of words, not one word at a "
                            f"time, so a word-level search cannot use it (use it as a static attack)")
        out.append(attack)
    return out
