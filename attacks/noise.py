"""Character noise: insert, delete, swap or substitute grapheme clusters inside a word's own script.

Edits work on extended grapheme clusters, so a Bengali/Telugu consonant never loses its vowel sign
or virama and a conjunct (ক্ত) moves as one unit; letters are drawn from the word's own script and
language (a-z plus å/ä/ö for Finnish, Cyrillic for Russian, Arabic letters, Bengali/Telugu
consonants), never ASCII into another script. A substitution replaces the base letter of a cluster by
one of the same class (a consonant by a consonant, a case by the same case) and keeps its marks.
Korean works on jamo: a substitution swaps one jamo for another of the same slot, an insertion adds a
valid syllable, so the word remains valid Hangul.

XQuAD languages: de es ro tr use their alphabets (ä ö ü ß, ñ, ă â î ș ț, Turkish ç ğ ı ş ö ü without
q w x; Turkish i/ı keep their own capitals İ/I); Vietnamese and Greek vowels that carry a tone mark
(vi) or tonos (el) are replaced by another vowel that keeps the mark, in NFC, so a tone never lands
on a consonant; Hindi works like Bengali (Devanagari consonants, clusters with their signs);
Thai substitutes and inserts consonants only (vowel and tone marks stay on their consonant) and swaps
only consonant-initial clusters (a leading vowel เ แ โ ใ ไ never moves behind its consonant);
Chinese works on whole Han characters of the jieba-segmented words: delete a character, swap two,
or insert / substitute a character drawn from the same field's text (no foreign or invented character).

Example (bn, strength 0.5, seed 0): "স্থাপত্যটির ভিত্তিপ্রস্তর স্থাপন করেন কে?" ->
"স্থাপত্যটির ভিত্তিপ্রস্তর পস্থান করেন রে?" (clusters স্থা and প swapped; ক -> র keeping its ে).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .alphabets import MARKED_VOWELS, TONE_MARKS, char_class, letters, match_case, split_tone, upper
from .base import FieldEdits, FieldInput, WordAttack, perturb_words
from .text import (
    CHOSEONG,
    JONGSEONG,
    JUNGSEONG,
    VIRAMAS,
    Edit,
    Span,
    char_script,
    graphemes,
    hangul_join,
    hangul_split,
    word_script,
)

OPS = ("insert", "delete", "swap", "substitute")
_KNOWN_SCRIPTS = {"Latin", "Cyrillic", "Arabic", "Bengali", "Telugu", "Hangul"}
# Scripts served in text of their own language only (see `alphabets.letters`).
_OWN_SCRIPT = {"el": "Greek", "hi": "Devanagari", "th": "Thai", "zh": "Han"}


def _random_syllable(rng: random.Random) -> str:
    final = rng.choice(JONGSEONG) if rng.random() < 0.4 else ""
    return hangul_join(rng.choice(CHOSEONG), rng.choice(JUNGSEONG), final)  # type: ignore[return-value]


def _retone(cluster: str, lang: str, rng: random.Random) -> str | None:
    """A vowel carrying a tone (vi) or tonos (el) replaced by another vowel with the same tone, NFC;
    None when the cluster has no such tone."""
    rest, marks = split_tone(cluster, lang)
    if not marks or len(rest) != 1 or rest.lower() not in MARKED_VOWELS[lang]:
        return None
    pool = [v for v in MARKED_VOWELS[lang] if v != rest.lower()]
    return unicodedata.normalize("NFC", match_case(rng.choice(pool), rest, lang) + marks)


def _substitute(cluster: Span, script: str, lang: str, rng: random.Random, han: tuple[str, ...] = ()) -> str | None:
    """The cluster with its base letter replaced by another letter of the same class and script."""
    base = cluster.text[0]
    if script == "Han":
        pool = [c for c in han if c != cluster.text]
        return rng.choice(pool) if pool else None
    if lang in TONE_MARKS and unicodedata.normalize("NFD", cluster.text) != cluster.text:
        toned = _retone(cluster.text, lang, rng)
        if toned:
            return toned
    if script == "Hangul":
        parts = hangul_split(base)
        if parts is None:
            return None
        slot = rng.randrange(3 if parts[2] else 2)
        pool = (CHOSEONG, JUNGSEONG, JONGSEONG[1:])[slot]
        new = list(parts)
        new[slot] = rng.choice([j for j in pool if j != parts[slot]])
        return hangul_join(*new) + cluster.text[1:]
    pool = [c for c in _pool(script, lang, char_class(base), base.isupper()) if c != base.lower()]
    if not pool:
        return None
    return match_case(rng.choice(pool), base, lang) + cluster.text[1:]


@lru_cache(maxsize=None)
def _pool(script: str, lang: str, cls: str, is_upper: bool) -> tuple[str, ...]:
    """Letters of `script` (lower-case form) that, in the base's case, have the base's class."""
    return tuple(c for c in letters(script, lang) if char_class(upper(c, lang) if is_upper else c) == cls)


def _insertion(script: str, lang: str, rng: random.Random, han: tuple[str, ...] = ()) -> str:
    if script == "Hangul":
        return _random_syllable(rng)
    if script == "Han":
        return rng.choice(han)
    return rng.choice(letters(script, lang))


def noise_in_word(word: Span, lang: str, rng: random.Random, ops: tuple[str, ...] = OPS,
                  han: tuple[str, ...] = ()) -> list[Edit] | None:
    """One noise edit inside `word` (absolute offsets), or None if the word offers none. `han`: the Han
    characters a Chinese insertion or substitution may draw (those of the same field)."""
    script = word_script(word.text)
    if script not in _KNOWN_SCRIPTS and _OWN_SCRIPT.get(lang) != script:
        return None
    if script == "Han" and not han:
        return None
    clusters = [g for g in graphemes(word.text, word.start) if char_class(g.text[0]) != "other"
                or script == "Hangul"]
    if not clusters:
        return None
    choices = list(ops)
    rng.shuffle(choices)
    for op in choices:
        if op == "delete" and len(clusters) >= (2 if script == "Han" else 3):
            g = rng.choice(clusters)
            return [Edit(g.start, g.end, "", "noise:delete")]
        if op == "swap" and len(clusters) >= 2:
            pairs = [(a, b) for a, b in zip(clusters, clusters[1:]) if a.end == b.start and a.text != b.text
                     and (script != "Thai" or char_class(a.text[0]) == char_class(b.text[0]) == "consonant")]
            if pairs:
                a, b = rng.choice(pairs)
                return [Edit(a.start, b.end, b.text + a.text, "noise:swap")]
        if op == "substitute":
            g = rng.choice(clusters)
            new = _substitute(g, script, lang, rng, han)
            if new and new != g.text:
                return [Edit(g.start, g.end, new, "noise:substitute")]
        if op == "insert":
            # Between clusters (or at the word's end), so the new letter never splits a cluster.
            at = rng.choice([g.end for g in clusters])
            if script in ("Bengali", "Telugu", "Devanagari") and at == word.end and word.text[-1:] in VIRAMAS:
                continue  # after a word-final virama the new consonant would fuse into a conjunct
            if script == "Greek" and at == word.end and word.text.endswith("ς"):
                continue  # final sigma would end up inside the word
            return [Edit(at, at, _insertion(script, lang, rng, han), "noise:insert")]
    return None


@dataclass(frozen=True)
class CharNoise(WordAttack):
    name: str = "char-noise"
    description: str = ("One grapheme-cluster insertion, deletion, swap or substitution per touched "
                        "word, with letters from the word's own script.")
    ops: tuple[str, ...] = OPS

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return noise_in_word(word, lang, rng, self.ops)

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        if inp.lang != "zh":
            return super().plan(inp, strength, rng)
        han = tuple(dict.fromkeys(c for c in inp.text if char_script(c) == "Han"))  # first-seen order
        return perturb_words(inp, strength, rng, lambda w, r: noise_in_word(w, inp.lang, r, self.ops, han))


def single_op(op: str) -> CharNoise:
    return CharNoise(name=f"char-{op}", description=f"char-noise restricted to one {op} per touched word.",
                     ops=(op,))
