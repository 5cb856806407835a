"""Letter inventories per script and language, and character classes for edits that stay valid.

Why: character noise must draw replacement letters from the word's own script (never ASCII into
Bengali), and a Bengali/Telugu consonant may only be replaced by a consonant and a vowel sign by a
vowel sign, or the result has dangling signs. Only NFC-stable letters are listed, so an edit never
turns NFC text into non-NFC text.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from .text import CHOSEONG, JUNGSEONG, indic_class

LATIN = "abcdefghijklmnopqrstuvwxyz"
LATIN_EXTRA = {"fi": "äöå"}
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" + "ءأإآؤئةى"
# The standard consonant and independent-vowel ranges (Assamese ৰ ৱ, Vedic signs and archaic
# Telugu letters such as ఴ and vocalic L are left out: they are not letters of today's words).
_INDIC_RANGES = {
    "Bengali": {"consonant": (0x0995, 0x09B9), "vowel": (0x0985, 0x0994)},
    "Telugu": {"consonant": (0x0C15, 0x0C39), "vowel": (0x0C05, 0x0C14)},
}


@lru_cache(maxsize=None)
def indic_letters(script: str, cls: str) -> str:
    """The NFC-stable Bengali/Telugu letters of one class ("consonant" or "vowel")."""
    lo, hi = _INDIC_RANGES[script][cls]
    out = []
    for cp in range(lo, hi + 1):
        ch = chr(cp)
        if not unicodedata.name(ch, "") or indic_class(ch) != cls or ch in "\u098c\u0c0c\u0c34":
            continue
        if unicodedata.normalize("NFC", ch) != ch or unicodedata.normalize("NFD", ch) != ch:
            continue  # composition exclusions (য় ড় ঢ় are written with a nukta)
        out.append(ch)
    return "".join(out)


def letters(script: str, lang: str) -> str:
    """Base letters a noise edit may insert or substitute in a word of `script` in text of `lang`;
    "" when the script is not one the attacks know (such words are left alone)."""
    if script == "Latin":
        return LATIN + LATIN_EXTRA.get(lang, "")
    if script == "Cyrillic":
        return CYRILLIC
    if script == "Arabic":
        return ARABIC
    if script in _INDIC_RANGES:
        return indic_letters(script, "consonant")
    if script == "Hangul":
        return CHOSEONG + JUNGSEONG
    return ""


@lru_cache(maxsize=8192)
def char_class(ch: str) -> str:
    """The class an edit must preserve: Indic consonant/vowel/sign/..., Hangul consonant/vowel
    jamo, cased letters by case, other letters as "letter", everything else "other"."""
    cp = ord(ch)
    if 0x0980 <= cp <= 0x09FF or 0x0C00 <= cp <= 0x0C7F:
        return indic_class(ch)
    if 0x3131 <= cp <= 0x314E:
        return "jamo-consonant"
    if 0x314F <= cp <= 0x3163:
        return "jamo-vowel"
    cat = unicodedata.category(ch)
    if cat == "Lu":
        return "upper"
    if cat == "Ll":
        return "lower"
    if cat.startswith("L"):
        return "letter"
    return "other"


def match_case(new: str, old: str) -> str:
    """`new` in the case of `old` (for cased scripts)."""
    return new.upper() if old.isupper() else new
