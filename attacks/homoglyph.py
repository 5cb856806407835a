"""Homoglyphs: a letter replaced by a look-alike from another script (or another block).

Look-alikes come from the Unicode confusables data (package `confusable_homoglyphs`), restricted
to letters of scripts a reader meets in ordinary fonts: Latin <-> Cyrillic/Greek for en fi id sw
ru, Telugu -> Kannada (near-identical scripts), Bengali -> Tirhuta (visually close; many systems
lack a Tirhuta font, so the swap may show as a missing glyph). The confusables data has no Arabic
letter pairs, so Arabic uses the Persian/Urdu letters that are drawn identically in the positions
where they are used: ي -> ی (Farsi yeh, not word-final), ى -> ی (word-final), ك -> ک (keheh, not
word-final). Hangul syllables have no look-alikes (Korean is refused; see `nfd` for a Korean
invisible change). Only single-code-point clusters are swapped, so no mark ends up on a foreign base.

XQuAD languages: de es ro tr vi use the Latin look-alikes of their base letters (a letter with a
diacritic, ä ș ơ, is one code point with no plain look-alike and stays: diacritics are never lost);
Greek text (el) swaps Greek letters for Latin/Cyrillic look-alikes (ο -> o, ρ -> p), only in Greek
text, so Greek words quoted elsewhere stay as they were; Thai text (th) swaps จ บ ป พ ฟ for their
near-identical Lao letters (like Telugu -> Kannada). Only basic-block look-alikes (a-z, Russian
Cyrillic, Lao) are used for these, never ß for β or the Latin chi ꭓ. Chinese text (zh) swaps a Han
character for a visually similar one (形近字: 己/已, 未/末, 戊/戌/戍, ...) from the team's table
`attacks.chinese.LOOKALIKE_GROUPS`; unlike a cross-script spoof this is another character, the slip a
reader's eye (or OCR) makes. Refused: hi (the confusables data pairs Devanagari with no letter of another
script).

Example (en, strength 0.4, seed 0): "Who founded Apple?" -> "Who fοunded Aρple?" (Greek ο and ρ).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from .base import WordAttack
from .chinese import LOOKALIKE_GROUPS, lookalike_table
from .text import Edit, Span, char_script, graphemes, word_script

# Which look-alike scripts a letter of each script may turn into.
TARGET_SCRIPTS: dict[str, tuple[str, ...]] = {
    "Latin": ("Cyrillic", "Greek"),
    "Cyrillic": ("Latin", "Greek"),
    "Telugu": ("Kannada",),
    "Bengali": ("Tirhuta",),
}
_SCRIPT_NAME_PREFIX = {"Latin": "LATIN ", "Cyrillic": "CYRILLIC ", "Greek": "GREEK ",
                       "Kannada": "KANNADA ", "Tirhuta": "TIRHUTA ", "Lao": "LAO "}
# Letters whose confusable is a letter of an obscure orthography (Komi, Abkhaz, ...) look odd in
# practice; only plain letters (no "WITH ..." and no language-specific extensions) are kept.
_ODD = ("WITH", "KOMI", "ABKHASIAN", "TURNED", "REVERSED", "SMALL CAPITAL", "CHEROKEE", "ARCHAIC",
        "LONG S", "DOTLESS", "LETTER YOT", "DIGAMMA", "ALPHA" , "IOTA", "KRA", "TONE", "PHI", "IZHITSA")
_ARABIC_LOOKALIKE = {
    # letter: (look-alike, where it is drawn identically: "nonfinal" or "final")
    "\u064a": ("\u06cc", "nonfinal"),  # ي -> ی
    "\u0649": ("\u06cc", "final"),     # ى -> ی
    "\u0643": ("\u06a9", "nonfinal"),  # ك -> ک
}


# Scripts whose letters are swapped only in text of one language: (language, script) -> look-alike scripts.
LANG_TARGET_SCRIPTS: dict[tuple[str, str], tuple[str, ...]] = {("el", "Greek"): ("Latin", "Cyrillic"),
                                                                 ("th", "Thai"): ("Lao",)}
# For those, only look-alikes from the basic blocks every font has (a-z, Russian Cyrillic, Lao), not
# ß for β or the Latin chi ꭓ.
_BASIC = ((0x41, 0x5A), (0x61, 0x7A), (0x0410, 0x044F), (0x0E80, 0x0EFF))


@lru_cache(maxsize=None)
def lookalikes(ch: str, lang: str = "") -> tuple[str, ...]:
    """Cross-script look-alikes of one letter from the Unicode confusables data."""
    from confusable_homoglyphs import confusables

    src = char_script(ch)
    targets = TARGET_SCRIPTS.get(src, ())
    basic_only = not targets
    targets = targets or LANG_TARGET_SCRIPTS.get((lang, src), ())
    out = []
    for h in confusables.confusables_data.get(ch, []):
        c = h["c"]
        if len(c) != 1 or unicodedata.category(c) != unicodedata.category(ch):
            continue  # same category: a lower-case letter stays a lower-case letter
        name = unicodedata.name(c, "")
        if any(name.startswith(_SCRIPT_NAME_PREFIX[t]) for t in targets) and not any(o in name for o in _ODD):
            basic = any(lo <= ord(c) <= hi for lo, hi in _BASIC)
            if unicodedata.normalize("NFC", c) == c and (basic or not basic_only):
                out.append(c)
    return tuple(dict.fromkeys(out))


def homoglyph_in_word(word: Span, rng: random.Random, lang: str = "") -> list[Edit] | None:
    options: list[tuple[int, str]] = []
    script = word_script(word.text)
    clusters = graphemes(word.text, word.start)
    han = lookalike_table() if lang == "zh" else {}
    for k, g in enumerate(clusters):
        if len(g.text) != 1:
            continue
        if g.text in han:  # Chinese text only: a visually similar Han character
            options.extend((g.start, c) for c in han[g.text])
            continue
        if script == "Arabic" and g.text in _ARABIC_LOOKALIKE:
            new, where = _ARABIC_LOOKALIKE[g.text]
            final = k == len(clusters) - 1
            if (where == "final") == final:
                options.append((g.start, new))
            continue
        options.extend((g.start, c) for c in lookalikes(g.text, lang))
    if not options:
        return None
    at, new = options[rng.randrange(len(options))]
    return [Edit(at, at + 1, new, "homoglyph")]


@dataclass(frozen=True)
class Homoglyph(WordAttack):
    name: str = "homoglyph"
    description: str = ("One letter per touched word replaced by a cross-script look-alike from the "
                        "Unicode confusables data (Latin<->Cyrillic/Greek, Telugu->Kannada, "
                        "Bengali->Tirhuta; Arabic->Persian letter forms; Greek->Latin/Cyrillic, Thai->Lao; "
                        f"Chinese: a visually similar character from a table of {len(LOOKALIKE_GROUPS)} groups).")
    languages: tuple[str, ...] = ("ar", "bn", "en", "fi", "id", "ru", "sw", "te", "de", "el", "es", "ro", "th", "tr",
                                  "vi", "zh")
    refusals: ClassVar[Mapping[str, str]] = {
        "hi": "Devanagari has no look-alike letters in a script of ordinary fonts in the Unicode confusables data",
    }

    def refusal(self, lang: str) -> str | None:
        if lang == "ko":
            return ("attack 'homoglyph' does not support language 'ko': Hangul syllables have no "
                    "look-alikes in the Unicode confusables data (use 'nfd' or 'invisible')")
        return super().refusal(lang)

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return homoglyph_in_word(word, rng, lang)
