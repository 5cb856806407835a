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
LATIN_EXTRA = {"fi": "äöå", "de": "äöüß", "es": "ñ", "ro": "ăâîșț"}
# Latin alphabets that are not a-z plus extras: Turkish has no q w x and a dotless ı; Vietnamese has no
# f j w z and the letters ă â ê ô ơ ư đ (tone marks are not letters: they stay on their vowel).
LATIN_ALPHABET = {"tr": "abcçdefgğhıijklmnoöprsştuüvyz", "vi": "aăâbcdđeêghiklmnoôơpqrstuưvxy"}
# Vowels that may carry a language's marks: a substituted vowel keeps them (Vietnamese tones, Greek tonos).
MARKED_VOWELS = {"vi": "aăâeêioôơuưy", "el": "αεηιουω"}
# The marks that are tones, not part of the vowel's letter (so they must stay on a vowel).
TONE_MARKS = {"vi": "\u0300\u0301\u0303\u0309\u0323", "el": "\u0301"}


def split_tone(cluster: str, lang: str) -> tuple[str, str]:
    """(the cluster without its tone marks, NFC; the tone marks) for vi/el; (cluster, "") elsewhere."""
    tones = TONE_MARKS.get(lang, "")
    nfd = unicodedata.normalize("NFD", cluster)
    marks = "".join(c for c in nfd if c in tones)
    if not marks:
        return cluster, ""
    return unicodedata.normalize("NFC", "".join(c for c in nfd if c not in tones)), marks
GREEK = "αβγδεζηθικλμνξοπρστυφχψω"  # final ς is not drawn: it only ends a word
# Thai consonants, without the obsolete ฃ ฅ.
THAI = "".join(chr(c) for c in range(0x0E01, 0x0E2F) if c not in (0x0E03, 0x0E05))
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" + "ءأإآؤئةى"
# The standard consonant and independent-vowel ranges (Assamese ৰ ৱ, Vedic signs and archaic
# Telugu letters such as ఴ and vocalic L are left out: they are not letters of today's words).
_INDIC_RANGES = {
    "Bengali": {"consonant": (0x0995, 0x09B9), "vowel": (0x0985, 0x0994)},
    "Telugu": {"consonant": (0x0C15, 0x0C39), "vowel": (0x0C05, 0x0C14)},
    "Devanagari": {"consonant": (0x0915, 0x0939), "vowel": (0x0905, 0x0914)},
}


@lru_cache(maxsize=None)
def indic_letters(script: str, cls: str) -> str:
    """The NFC-stable Bengali/Telugu letters of one class ("consonant" or "vowel")."""
    lo, hi = _INDIC_RANGES[script][cls]
    out = []
    for cp in range(lo, hi + 1):
        ch = chr(cp)
        if not unicodedata.name(ch, "") or indic_class(ch) != cls or ch in "\u098c\u0c0c\u0c34\u090c":
            continue
        if unicodedata.normalize("NFC", ch) != ch or unicodedata.normalize("NFD", ch) != ch:
            continue  # composition exclusions (য় ড় ঢ় are written with a nukta)
        out.append(ch)
    return "".join(out)


def letters(script: str, lang: str) -> str:
    """Base letters a noise edit may insert or substitute in a word of `script` in text of `lang`;
    "" when the script is not one the attacks know (such words are left alone)."""
    if script == "Latin":
        return LATIN_ALPHABET.get(lang) or LATIN + LATIN_EXTRA.get(lang, "")
    if script == "Cyrillic":
        return CYRILLIC
    if script == "Arabic":
        return ARABIC
    if script in _INDIC_RANGES:
        return indic_letters(script, "consonant")
    if script == "Hangul":
        return CHOSEONG + JUNGSEONG
    # Scripts of the XQuAD languages, only in text of that language (a Greek word quoted in English
    # text is left alone, as it always was).
    if script == "Greek" and lang == "el":
        return GREEK
    if script == "Devanagari" and lang == "hi":
        return indic_letters(script, "consonant")
    if script == "Thai" and lang == "th":
        return THAI
    return ""


def thai_class(ch: str) -> str:
    """Thai letters by typing role: consonant, leading vowel (written before its consonant), following
    vowel, vowel mark (above/below a consonant), tone mark, other mark."""
    cp = ord(ch)
    if 0x0E01 <= cp <= 0x0E2E:
        return "consonant"
    if 0x0E40 <= cp <= 0x0E44:
        return "thai-lead"
    if 0x0E48 <= cp <= 0x0E4B:
        return "thai-tone"
    if cp in (0x0E31, 0x0E47) or 0x0E34 <= cp <= 0x0E3A:
        return "thai-vowel-mark"
    if cp in (0x0E30, 0x0E32, 0x0E33, 0x0E45):
        return "thai-follow"
    return "other"


@lru_cache(maxsize=8192)
def char_class(ch: str) -> str:
    """The class an edit must preserve: Indic consonant/vowel/sign/..., Hangul consonant/vowel
    jamo, cased letters by case, other letters as "letter", everything else "other"."""
    cp = ord(ch)
    if 0x0980 <= cp <= 0x09FF or 0x0C00 <= cp <= 0x0C7F or 0x0900 <= cp <= 0x097F:
        return indic_class(ch)
    if 0x0E01 <= cp <= 0x0E4E:
        return thai_class(ch)
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


_TURKIC_UPPER = {"i": "İ", "ı": "I"}


def upper(ch: str, lang: str = "") -> str:
    """The capital of one letter (Turkish i -> İ, ı -> I); `ch` itself when it has no one-letter capital (ß)."""
    if lang == "tr" and ch in _TURKIC_UPPER:
        return _TURKIC_UPPER[ch]
    up = ch.upper()
    return up if len(up) == 1 else ch


def match_case(new: str, old: str, lang: str = "") -> str:
    """`new` in the case of `old` (for cased scripts)."""
    if lang in ("tr", "de") and len(new) == 1:
        return upper(new, lang) if old.isupper() else new
    return new.upper() if old.isupper() else new
