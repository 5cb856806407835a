"""Unicode decomposition (NFD) and diacritic stripping: same words, different code points.

`nfd` rewrites touched words in canonical decomposition. It is invisible to a reader but changes
what a model sees: Finnish ä becomes a + combining diaeresis, Russian й becomes и + breve, Arabic أ
becomes ا + hamza above, Bengali ো becomes ে + া, Telugu ై becomes ె + ౖ, and a Korean syllable
becomes conjoining jamo. Languages where NFD changes (almost) nothing (en id sw) are refused.

`diacritics` strips the marks people often leave out when typing: Finnish ä/ö/å -> a/o/a (and any
other Latin accent), Russian ё -> е and stress accents, Arabic harakat, tatweel and hamza seats
(أ إ آ ٱ -> ا). Languages without such optional marks are refused (en id sw have none; Bengali and
Telugu vowel signs and Korean jamo are letters, not diacritics).

XQuAD languages. `nfd` serves de el es ro tr vi (precomposed accented letters) and hi (its precomposed
nukta letters, ~10% of XQuAD questions); th and zh are refused (NFD leaves Thai and Han unchanged).
`diacritics` serves de es ro tr (typing without umlauts, accents, ă â î ș ț or Turkish ç ğ ş ö ü ı is a
common ASCII-keyboard shortcut; German ß stays, it is a letter) and vi (Vietnamese written "không dấu",
without any marks and đ -> d, is a widespread informal and ASCII-keyboard practice, and a standard
restoration task; it is a strong change, as tones distinguish words) and hi (the nukta of ज़ फ़ ड़,
commonly omitted in Hindi). Refused: el (tonos is mandatory in monotonic Greek: a missing accent is a
misspelling, not an optional mark), th (Thai vowel and tone marks are letters of the word), zh (Han
characters carry no diacritics).

Examples: nfd (fi) "Mikä on Suomen pääkaupunki?" -> "Mika\\u0308 on Suomen pa\\u0308a\\u0308kaupunki?"
(looks the same, strength 1.0);
diacritics (fi) "Mikä on Suomen pääkaupunki?" -> "Mika on Suomen paakaupunki?"
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping
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
    if lang in _LATIN_STRIP:
        nfd = unicodedata.normalize("NFD", word.translate(_LATIN_STRIP[lang]))
        return unicodedata.normalize("NFC", "".join(c for c in nfd if not unicodedata.category(c).startswith("M")))
    if lang == "hi":
        return unicodedata.normalize("NFC", unicodedata.normalize("NFD", word).replace("\u093c", ""))
    return word


# Letters that are no base + mark in Unicode but lose their "diacritic" when typed on ASCII keys.
_LATIN_STRIP = {"de": str.maketrans({}), "es": str.maketrans({}), "ro": str.maketrans({}),
                "tr": str.maketrans({"ı": "i"}), "vi": str.maketrans({"đ": "d", "Đ": "D"})}


def _whole_word(word: Span, new: str, kind: str) -> list[Edit] | None:
    return [Edit(word.start, word.end, new, kind)] if new != word.text else None


@dataclass(frozen=True)
class Decompose(WordAttack):
    settle: ClassVar[bool] = False  # the decomposition is the point: never re-composed
    name: str = "nfd"
    description: str = "Touched words rewritten in Unicode NFD (canonical decomposition): looks identical."
    languages: tuple[str, ...] = ("ar", "bn", "fi", "ko", "ru", "te", "de", "el", "es", "hi", "ro", "tr", "vi")
    keeps_nfc: bool = False
    refusals: ClassVar[Mapping[str, str]] = {
        "th": "NFD leaves Thai text unchanged (no precomposed letters)",
        "zh": "NFD leaves Han characters unchanged",
    }

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
                        "marks, ar harakat, tatweel and hamza seats; de es ro tr vi accents as typed on ASCII "
                        "keys; hi nukta).")
    languages: tuple[str, ...] = ("ar", "fi", "ru", "de", "es", "hi", "ro", "tr", "vi")
    refusals: ClassVar[Mapping[str, str]] = {
        "el": "tonos is mandatory in monotonic Greek (a missing accent is a misspelling, not an optional mark)",
        "th": "Thai vowel and tone marks are letters of the word, not optional diacritics",
        "zh": "Han characters carry no diacritics",
    }

    def refusal(self, lang):
        if lang not in self.languages and lang not in self.refusals and lang in LANG_SCRIPT:
            return (f"attack 'diacritics' does not support language {lang!r}: its script has no "
                    f"optional diacritics to strip (supported: {' '.join(self.languages)})")
        return super().refusal(lang)

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return _whole_word(word, strip_diacritics(word.text, lang), "diacritics")
