"""Keyboard typos on the layout each language is really typed on.

A touched word gets one typo: a letter replaced by a neighbouring key (or, with `insert_prob`,
a neighbouring key struck as well). Neighbours come from the layout geometry in `attacks.layouts`
(QWERTY for en/sw/id, Finnish with å/ä/ö, Russian ЙЦУКЕН, Arabic 101, Korean Dubeolsik, Bengali and
Telugu InScript) and keep the character's class: a Cyrillic letter becomes a Cyrillic letter of the
same case, a Bengali vowel sign another vowel sign, a consonant another consonant. Korean is typed
in jamo: one keystroke of a syllable changes and the syllable is recomposed, so the word stays a
sequence of valid Hangul syllables. Latin words inside other-language text use the Latin layout.

XQuAD languages: German QWERTZ, Spanish (ñ), Turkish Q (ı/İ keep their own case pair), Romanian
Standard (ă â î ș ț), Greek, Hindi InScript (like Bengali), Thai Kedmanee (a consonant becomes a
neighbouring consonant, a tone mark a neighbouring tone mark, a vowel mark a vowel mark: marks stay on
their consonant). Vietnamese is typed on QWERTY: a plain letter slips to a neighbouring key, a vowel
carrying a tone only to a neighbouring vowel key, keeping the tone (NFC), so a tone never lands on a
consonant; Greek vowels with tonos likewise. Chinese is typed through a pinyin IME (pinyin -> candidate
list), so its typos are wrong candidates, not neighbouring keys: in a touched word a Han character becomes
another character of the same toneless reading from the same page of the candidate list, most frequent first
(`attacks.chinese`; needs jieba and pypinyin, extra `xadv[zh]`); a Latin word in Chinese text gets a QWERTY
typo. Other languages' outputs are as before (the IME model applies only to lang zh).

Examples: (ru, strength 0.3, seed 1) "Где находится Эйфелева башня?" -> "Где находитвя Эйфелева башня?";
(ko, strength 0.5, seed 0) "한국의 수도는 어디인가?" -> "한국의 수도는 어찌인가?" (ㄷ -> ㅉ, its neighbour).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from xadv.errors import XadvError
from xadv.langs import unsupported

from .alphabets import MARKED_VOWELS, TONE_MARKS, char_class, match_case, split_tone
from .base import WordAttack
from .chinese import ime_slip_in_word, is_han, pinyin_missing
from .layouts import layout_for, neighbours
from .text import (
    CHOSEONG,
    JONGSEONG,
    JUNGSEONG,
    Edit,
    Span,
    hangul_join,
    hangul_split,
    is_hangul_syllable,
    jamo_from_keys,
    jamo_keys,
    word_script,
)

_TYPO_CLASSES = {"upper", "lower", "letter", "consonant", "vowel", "sign",
                 "thai-tone", "thai-vowel-mark", "thai-follow", "thai-lead"}
_INSERT_CLASSES = {"upper", "lower", "letter", "consonant"}


@lru_cache(maxsize=None)
def key_candidates(layout_name: str, ch: str) -> tuple[str, ...]:
    """Neighbouring keys of `ch` that keep its class (for a letter not on the layout, such as é,
    the neighbours of its base letter)."""
    cls = char_class(ch)
    if cls not in _TYPO_CLASSES and cls not in ("jamo-consonant", "jamo-vowel"):
        return ()
    near = neighbours(layout_name, ch)
    if not near:
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch:
            near = neighbours(layout_name, base)
    return tuple(n for n in near if char_class(n) == cls and n != ch)


@lru_cache(maxsize=None)
def _hangul_typos(syllable: str) -> tuple[str, ...]:
    """All syllables one mistyped Dubeolsik keystroke away from `syllable` that are still valid."""
    parts = hangul_split(syllable)
    if parts is None:
        return ()
    out: set[str] = set()
    for slot, jamo in enumerate(parts):
        keys = jamo_keys(jamo)
        for i, key in enumerate(keys):
            for alt in key_candidates("dubeolsik", key):
                new_keys = keys[:i] + alt + keys[i + 1 :]
                new_jamo = jamo_from_keys(new_keys)
                if len(new_jamo) != 1:
                    continue
                new_parts = list(parts)
                new_parts[slot] = new_jamo
                ok = (new_parts[0] in CHOSEONG and new_parts[1] in JUNGSEONG
                      and new_parts[2] in JONGSEONG)
                s = hangul_join(*new_parts) if ok else None
                if s and s != syllable:
                    out.add(s)
    return tuple(sorted(out))


@lru_cache(maxsize=None)
def toned_candidates(layout_name: str, ch: str, lang: str) -> tuple[str, ...] | None:
    """For a vowel carrying a tone (vi) or tonos (el): the neighbouring vowel keys with the same tone,
    NFC; None when `ch` carries no tone (the plain key rules apply)."""
    rest, tones = split_tone(ch, lang)
    if not tones:
        return None
    base = unicodedata.normalize("NFD", rest)[0]
    vowels = MARKED_VOWELS[lang]
    near = [n for n in neighbours(layout_name, base.lower()) if n in vowels]
    return tuple(unicodedata.normalize("NFC", match_case(n, base) + tones) for n in near)


def typo_in_word(word: Span, lang: str, rng: random.Random, insert_prob: float = 0.2) -> list[Edit] | None:
    """One keyboard typo inside `word` (absolute-offset edits), or None if none is possible."""
    if lang == "zh" and any(is_han(ch) for ch in word.text):
        return ime_slip_in_word(word, rng)
    script = word_script(word.text)
    layout = layout_for(script, lang)
    if layout is None:
        return None
    if script == "Hangul":
        options = [(i, t) for i, ch in enumerate(word.text) if is_hangul_syllable(ch)
                   for t in _hangul_typos(ch)]
        if not options:
            return None
        i, new = options[rng.randrange(len(options))]
        return [Edit(word.start + i, word.start + i + 1, new, "keyboard:jamo")]
    if lang in TONE_MARKS:
        positions = [(i, cands) for i, ch in enumerate(word.text)
                     if (cands := _lang_candidates(layout.name, ch, lang))]
    else:
        positions = [(i, cands) for i, ch in enumerate(word.text)
                     if (cands := key_candidates(layout.name, ch))]
    if not positions:
        return None
    i, cands = positions[rng.randrange(len(positions))]
    ch, alt = word.text[i], rng.choice(cands)
    at = word.start + i
    if rng.random() < insert_prob and char_class(ch) in _INSERT_CLASSES and char_class(alt) == char_class(ch) \
            and not (lang in TONE_MARKS and split_tone(alt, lang)[1]):  # never a second toned vowel
        # A neighbouring key struck together with the intended one, before or after it.
        return [Edit(at, at + 1, alt + ch if rng.random() < 0.5 else ch + alt, "keyboard:insert")]
    return [Edit(at, at + 1, alt, "keyboard:substitute")]


def _lang_candidates(layout_name: str, ch: str, lang: str) -> tuple[str, ...]:
    toned = toned_candidates(layout_name, ch, lang)
    return key_candidates(layout_name, ch) if toned is None else toned


@dataclass(frozen=True)
class KeyboardTypo(WordAttack):
    name: str = "keyboard"
    description: str = ("One typo per touched word from a neighbouring key on the language's real "
                        "layout (QWERTY, Finnish, ЙЦУКЕН, Arabic, Dubeolsik jamo, InScript, QWERTZ, Spanish, "
                        "Turkish Q, Romanian, Greek, Kedmanee; Vietnamese tones kept on vowels; Chinese: a "
                        "same-pinyin IME candidate).")
    insert_prob: float = 0.2

    def __post_init__(self) -> None:
        if isinstance(self.insert_prob, bool) or not isinstance(self.insert_prob, (int, float)) \
                or not 0.0 <= self.insert_prob <= 1.0:
            raise XadvError(f"keyboard insert_prob must be a number in [0, 1], got {self.insert_prob!r}")

    def refusal(self, lang: str) -> str | None:
        why = super().refusal(lang)
        if why is None and lang == "zh" and (missing := pinyin_missing()):
            return unsupported(f"attack {self.name!r}", lang, self.languages, missing)
        return why

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return typo_in_word(word, lang, rng, self.insert_prob)
