"""Invisible characters: a zero-width or formatting character inserted inside a word.

The text looks the same but its code points (and the tokenizer's pieces) change. Characters are
inserted only between grapheme clusters, never after a virama or before a mark, so rendering and
conjuncts are untouched. Arabic never gets ZWNJ (it would break the cursive join visibly); the
direction mark matches the script (RLM in Arabic, LRM elsewhere). Serves every registry language
(Devanagari viramas are respected like Bengali/Telugu ones; zh and th words come from their segmenters).

Example (sw, strength 0.2, seed 2): "Mji mkuu wa Kenya ni upi?" -> "Mji mkuu wa Keny\\u2060a ni upi?"
(a word joiner inside "Kenya").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .base import WordAttack
from .text import VIRAMAS, Edit, Span, graphemes, word_script

INVISIBLE: dict[str, str] = {
    "zwsp": "\u200b",  # zero width space
    "zwnj": "\u200c",  # zero width non-joiner
    "zwj": "\u200d",  # zero width joiner
    "wj": "\u2060",  # word joiner
    "shy": "\u00ad",  # soft hyphen
    "dirmark": "",  # LRM or RLM, chosen by script below
}


def invisible_in_word(word: Span, rng: random.Random, kinds: tuple[str, ...]) -> list[Edit] | None:
    clusters = graphemes(word.text, word.start)
    if len(clusters) < 2:
        return None
    script = word_script(word.text)
    pool = [k for k in kinds if not (script == "Arabic" and k == "zwnj")]
    if not pool:
        return None
    kind = rng.choice(pool)
    ch = INVISIBLE[kind] or ("\u200f" if script == "Arabic" else "\u200e")
    at = rng.choice(clusters[1:]).start
    if word.text[at - word.start - 1] in VIRAMAS:  # never right after a virama
        return None
    return [Edit(at, at, ch, f"invisible:{kind}")]


@dataclass(frozen=True)
class Invisible(WordAttack):
    name: str = "invisible"
    description: str = ("One invisible character (zero-width space/joiner/non-joiner, word joiner, "
                        "soft hyphen, direction mark) inserted inside each touched word.")
    kinds: tuple[str, ...] = tuple(INVISIBLE)

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return invisible_in_word(word, rng, self.kinds)
