"""Which xadv attacks a word-level search can use (no TextAttack needed: the CLI checks names with it).

A search edits one word at a time, so it needs a family that can propose edits for a single word on its
own: keyboard, char-noise, char-insert/-delete/-swap/-substitute, homoglyph, invisible, nfd, diacritics,
codemix, word-delete. Sentence attacks (distractor, sentence-reorder) and word-swap (pairs of words) are
static attacks only. Families are named in the one attack grammar (`attacks.spec`): `keyboard+homoglyph`
is one search whose candidate edits come from either family.
"""

from __future__ import annotations

from collections.abc import Sequence

from attacks.base import Attack
from attacks.registry import get_attack
from attacks.spec import AttackSpec
from attacks.word import WordSwap as _XadvWordSwapFamily
from xadv.errors import XadvError


def per_word(attack: Attack) -> bool:
    """Can this family edit one word on its own (what a word-level search needs)?"""
    return attack.unit == "words" and not isinstance(attack, _XadvWordSwapFamily) and not hasattr(attack, "steps")


def searchable_attacks(names: str | Sequence[str] | AttackSpec, params: dict | None = None) -> list[Attack]:
    """Resolve `keyboard+homoglyph` (an `AttackSpec`, its text, or a list of names) to per-word families;
    XadvError for a name that is unknown or cannot edit one word at a time."""
    if isinstance(names, str):
        if "," in names:
            raise XadvError(f"attack {names!r}: ',' separates cells; one search combines families with '+' "
                            f"(e.g. keyboard+homoglyph)")
        names = AttackSpec.parse(names).parts
    elif isinstance(names, AttackSpec):  # its own parameters (codemix:partner=sw) win over the caller's
        params = {**(params or {}), **dict(names.params)}
        names = names.parts
    if not names:
        raise XadvError("the search needs at least one transformation (e.g. keyboard)")
    out: list[Attack] = []
    for name in names:
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
