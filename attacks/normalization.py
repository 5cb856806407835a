"""Unicode decomposition (NFD) and diacritic stripping: same words, different code points.

`nfd` rewrites touched words in canonical decomposition. It is invisible to a reader but changes
what a model sees: Finnish ä becomes a + combining diaeresis, Russian й becomes и + breve, Arabic أ
becomes ا + hamza above, Bengali ো becomes ে + া, Telugu ై becomes ె + ౖ, and a Korean syllable
becomes conjoining jamo. Languages where NFD changes (almost) nothing (en id sw) are refused.

`diacritics` strips the marks people often leave out when typing: Finnish ä/ö/å -> a/o/a (and any
other Latin accent), Russian ё -> е and stress accents, Arabic harakat, tatweel and hamza seats
(أ إ آ ٱ -> ا). Languages without such optional marks are refused (en id sw have none; Bengali and
Telugu vowel signs and Korean jamo are letters, not diacritics).

Examples: nfd (fi) "Mikä on Suomen pääkaupunki?" -> "Mika\\u0308 on Suomen pa\\u0308a\\u0308kaupunki?"
(looks the same, strength 1.0);
diacritics (fi) "Mikä on Suomen pääkaupunki?" -> "Mika on Suomen paakaupunki?"
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

import regex

from .base import WordAttack
from .text import LANG_SCRIPT, Edit, Span, word_script

_ARABIC_MARKS = regex.compile(r"[\u064b-\u0652\u0670\u0640]")
_ARABIC_ALEFS = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627"})


def strip_diacritics(word: str, lang: str) -> str:
    """`word` without the optional diacritics of `lang` (unchanged for words of another script)."""
    script = word_script(word)
    if script != LANG_SCRIPT[lang]:
        return word
    if lang == "ar":
        return _ARABIC_MARKS.sub("", word).translate(_ARABIC_ALEFS)
    if lang == "ru":
        word = word.replace("ё", "е").replace("Ё", "Е")
        stripped = unicodedata.normalize("NFD", word).replace("\u0301", "").replace("\u0300", "")
        return unicodedata.normalize("NFC", stripped)
    if lang == "fi":
        nfd = unicodedata.normalize("NFD", word)
        return unicodedata.normalize("NFC", "".join(c for c in nfd if not unicodedata.category(c).startswith("M")))
    return word


def _whole_word(word: Span, new: str, kind: str) -> list[Edit] | None:
    return [Edit(word.start, word.end, new, kind)] if new != word.text else None


@dataclass(frozen=True)
class Decompose(WordAttack):
    settle: ClassVar[bool] = False  # the decomposition is the point: never re-composed
    name: str = "nfd"
    description: str = "Touched words rewritten in Unicode NFD (canonical decomposition): looks identical."
    languages: tuple[str, ...] = ("ar", "bn", "fi", "ko", "ru", "te")
    keeps_nfc: bool = False

    def refusal(self, lang):
        if lang in ("en", "id", "sw"):
            return f"attack 'nfd' does not support language {lang!r}: NFD leaves its text (almost) unchanged"
        return super().refusal(lang)

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return _whole_word(word, unicodedata.normalize("NFD", word.text), "nfd")


@dataclass(frozen=True)
class StripDiacritics(WordAttack):
    name: str = "diacritics"
    description: str = ("Optional diacritics removed from touched words (fi ä/ö/å, ru ё and stress "
                        "marks, ar harakat, tatweel and hamza seats).")
    languages: tuple[str, ...] = ("ar", "fi", "ru")

    def refusal(self, lang):
        if lang not in self.languages and lang in LANG_SCRIPT:
            return (f"attack 'diacritics' does not support language {lang!r}: its script has no "
                    f"optional diacritics to strip (supported: ar fi ru)")
        return super().refusal(lang)

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return _whole_word(word, strip_diacritics(word.text, lang), "diacritics")
