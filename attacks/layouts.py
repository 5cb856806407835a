"""Keyboard layouts as compact row strings, and neighbour keys from their geometry.

Why real layouts: a typo is a finger landing on an adjacent key, and which keys are adjacent depends
on the layout people actually type on (nlpaug's layouts cover none of ar bn ko ru te sw). Each layout
is four rows (number row, then the three letter rows) for the unshifted and the shifted layer, one
character per key; `·` marks a key with nothing useful on that layer. Rows are staggered as on a
standard keyboard (row starts at 0, 1.5, 1.75, 2.25 key widths), and two keys are neighbours when
their centres are at most 1.3 key widths apart (so `a` touches q w s z).

Sources: the standard national layouts (US QWERTY; Finnish ISO; Russian ЙЦУКЕН; Arabic 101;
Korean Dubeolsik; Bengali, Telugu and Hindi InScript, whose keys follow the ISCII phonetic positions;
German QWERTZ (DIN 2137); Spanish QWERTY (ñ); Turkish Q; Romanian Standard (SR 13392: ă î â on
`[ ] \\`, ș ț on `; '`); Greek (ELOT 1332: the `q` key types `;`, the `w` key final ς); Thai
Kedmanee (TIS 820-2538)). Dead keys (German ´, Spanish ´ ¨, Greek tonos) are left out: a slip there
changes an accent, which the layout geometry cannot express. Vietnamese is typed on QWERTY (its
marks come from Telex/VNI key sequences, handled in `attacks.keyboard`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

_ROW_X = (0.0, 1.5, 1.75, 2.25)
_NEIGHBOUR_DISTANCE = 1.3
EMPTY = "·"


@dataclass(frozen=True)
class Layout:
    name: str
    rows: tuple[str, str, str, str]
    shifted: tuple[str, str, str, str]


def _upper(rows: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(r.upper() if any(c.isalpha() for c in r) else EMPTY * len(r) for r in rows)


_QWERTY = ("`1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_FINNISH = ("§1234567890", "qwertyuiopå", "asdfghjklöä", "zxcvbnm")
_JCUKEN = ("ё1234567890", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю")
_QWERTZ = ("^1234567890ß", "qwertzuiopü", "asdfghjklöä", "yxcvbnm")
_SPANISH = ("º1234567890", "qwertyuiop", "asdfghjklñ", "zxcvbnm")
_ROMANIAN = ("„1234567890", "qwertyuiopăîâ", "asdfghjklșț", "zxcvbnm")
_GREEK = ("`1234567890", ";ςερτυθιοπ", "ασδφγηξκλ", "ζχψωβνμ")

LAYOUTS: dict[str, Layout] = {
    "qwerty": Layout("qwerty", _QWERTY, _upper(_QWERTY)),
    "finnish": Layout("finnish", _FINNISH, (EMPTY * 11, *_upper(_FINNISH[1:]))),
    "jcuken": Layout("jcuken", _JCUKEN, ("Ё" + EMPTY * 10, *_upper(_JCUKEN[1:]))),
    # Arabic 101: the `b` key types لا (two letters) and is left out; shift gives أ إ آ.
    "arabic": Layout(
        "arabic",
        ("ذ1234567890", "ضصثقفغعهخحجد", "شسيبلاتنمكط", "ئءؤر·ىةوزظ"),
        (EMPTY * 11, "·····إ······", "·····أ·····", "·····آ····"),
    ),
    "dubeolsik": Layout(
        "dubeolsik",
        ("`1234567890", "ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔ", "ㅁㄴㅇㄹㅎㅗㅓㅏㅣ", "ㅋㅌㅊㅍㅠㅜㅡ"),
        (EMPTY * 11, "ㅃㅉㄸㄲㅆ···ㅒㅖ", EMPTY * 9, EMPTY * 7),
    ),
    "bengali-inscript": Layout(
        "bengali-inscript",
        ("·1234567890-ৃ", "ৌৈাীূবহগদজড়", "োে্িুপরকতচট", "·ংমনবলস,.য"),
        ("···········ঃঋ", "ঔঐআঈঊভঙঘধঝঢঞ", "ওএঅইউফ·খথছঠ", "·ঁণ···শষ।·"),
    ),
    "qwertz": Layout("qwertz", _QWERTZ, (EMPTY * 12, *_upper(_QWERTZ[1:]))),
    "spanish": Layout("spanish", _SPANISH, (EMPTY * 11, *_upper(_SPANISH[1:]))),
    # Turkish Q: ı on the i key and i on the ' key; their capitals are I and İ (str.upper would give I twice).
    "turkish-q": Layout(
        "turkish-q",
        ("\"1234567890", "qwertyuıopğü", "asdfghjklşi", "zxcvbnmöç"),
        (EMPTY * 11, "QWERTYUIOPĞÜ", "ASDFGHJKLŞİ", "ZXCVBNMÖÇ"),
    ),
    "romanian": Layout("romanian", _ROMANIAN, (EMPTY * 11, *_upper(_ROMANIAN[1:]))),
    "greek": Layout("greek", _GREEK, (EMPTY * 11, "··ΕΡΤΥΘΙΟΠ", "ΑΣΔΦΓΗΞΚΛ", "ΖΧΨΩΒΝΜ")),
    # Hindi InScript: same key positions as Bengali/Telugu; ऩ ऴ (not Hindi) and य़ (a composition
    # exclusion) are left out.
    "hindi-inscript": Layout(
        "hindi-inscript",
        ("ॊ1234567890-ृ", "ौैाीूबहगदजड़", "ोे्िुपरकतचट", "ॆंमनवलस,.य"),
        ("···········ःऋ", "औऐआईऊभङघधझढञ", "ओएअइउफ·खथछठ", "ऎँण··ळशष।·"),
    ),
    # Thai Kedmanee; digits and punctuation on the shifted layer are left out (not letters).
    "kedmanee": Layout(
        "kedmanee",
        ("·ๅ··ภถุึคตจขช", "ๆไำพะัีรนยบลฃ", "ฟหกดเ้่าสวง", "ผปแอิืทมใฝ"),
        ("·············", "··ฎฑธํ๊ณฯญฐ·ฅ", "ฤฆฏโฌ็๋ษศซ·", "··ฉฮฺ์·ฒฬฦ"),
    ),
    "telugu-inscript": Layout(
        "telugu-inscript",
        ("ొ1234567890-ృ", "ౌైాీూబహగదజడ·", "ోే్ిుపరకతచట", "ెంమనవలస,.య"),
        ("ఒ··········ఃఋ", "ఔఐఆఈఊభఙఘధఝఢఞ", "ఓఏఅఇఉఫఱఖథఛఠ", "ఎఁణ·ఴళశష··"),
    ),
}

# Which layout types a word of a given script, per language (Latin words in Finnish text are typed
# on the Finnish layout; Latin words elsewhere on QWERTY).
SCRIPT_LAYOUT: dict[str, str] = {
    "Latin": "qwerty", "Cyrillic": "jcuken", "Arabic": "arabic", "Hangul": "dubeolsik",
    "Bengali": "bengali-inscript", "Telugu": "telugu-inscript",
}
LANG_LATIN_LAYOUT: dict[str, str] = {"fi": "finnish", "de": "qwertz", "es": "spanish", "tr": "turkish-q",
                                      "ro": "romanian"}
# Layouts for a language's own non-Latin script; used only in text of that language, so a Greek or
# Thai word quoted in another language's text is left alone (as it always was).
LANG_LAYOUT: dict[str, tuple[str, str]] = {"el": ("Greek", "greek"), "hi": ("Devanagari", "hindi-inscript"),
                                           "th": ("Thai", "kedmanee")}


def layout_for(script: str, lang: str) -> Layout | None:
    """The layout a speaker of `lang` types a word of `script` on, or None if there is none."""
    if script == "Latin":
        return LAYOUTS[LANG_LATIN_LAYOUT.get(lang, "qwerty")]
    name = SCRIPT_LAYOUT.get(script)
    own_script, own_layout = LANG_LAYOUT.get(lang, ("", ""))
    if name is None and script == own_script:
        name = own_layout
    return LAYOUTS[name] if name else None


@lru_cache(maxsize=None)
def _positions(layout_name: str) -> dict[str, tuple[int, int, int]]:
    """char -> (layer, row, column) for every key character of a layout."""
    layout = LAYOUTS[layout_name]
    pos: dict[str, tuple[int, int, int]] = {}
    for layer, rows in enumerate((layout.rows, layout.shifted)):
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                if ch != EMPTY and ch not in pos:
                    pos[ch] = (layer, r, c)
    return pos


def _key(layout: Layout, layer: int, r: int, c: int) -> str:
    row = (layout.rows, layout.shifted)[layer][r]
    return row[c] if c < len(row) and row[c] != EMPTY else ""


@lru_cache(maxsize=None)
def neighbours(layout_name: str, ch: str) -> tuple[str, ...]:
    """Characters on the keys adjacent to `ch`'s key, on both layers, plus `ch`'s own key on the
    other layer (a slipped shift). Empty when `ch` is not on the layout. Callers filter by class."""
    layout = LAYOUTS[layout_name]
    pos = _positions(layout_name).get(ch)
    if pos is None:
        return ()
    layer, r, c = pos
    x0 = _ROW_X[r] + c + 0.5
    out: list[str] = []
    for r2, row in enumerate(layout.rows):
        for c2 in range(max(len(row), len(layout.shifted[r2]))):
            if (r2, c2) == (r, c):
                continue
            d = math.hypot(_ROW_X[r2] + c2 + 0.5 - x0, r2 - r)
            if d <= _NEIGHBOUR_DISTANCE:
                out.extend(k for k in (_key(layout, 0, r2, c2), _key(layout, 1, r2, c2)) if k)
    out.extend(k for k in (_key(layout, 1 - layer, r, c),) if k)
    return tuple(dict.fromkeys(k for k in out if k != ch))
