"""Character noise: insert, delete, swap or substitute grapheme clusters inside a word's own script.

Edits work on extended grapheme clusters, so a Bengali/Telugu consonant never loses its vowel sign
or virama and a conjunct (ক্ত) moves as one unit; letters are drawn from the word's own script and
language (a-z plus å/ä/ö for Finnish, Cyrillic for Russian, Arabic letters, Bengali/Telugu
consonants), never ASCII into another script. A substitution replaces the base letter of a cluster by
one of the same class (a consonant by a consonant, a case by the same case) and keeps its marks.
Korean works on jamo: a substitution swaps one jamo for another of the same slot, an insertion adds a
valid syllable, so the word remains valid Hangul.

Example (bn, strength 0.5, seed 0): "স্থাপত্যটির ভিত্তিপ্রস্তর স্থাপন করেন কে?" ->
"স্থাপত্যটির ভিত্তিপ্রস্তর পস্থান করেন রে?" (clusters স্থা and প swapped; ক -> র keeping its ে).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from .alphabets import char_class, letters, match_case
from .base import WordAttack
from .text import CHOSEONG, JONGSEONG, JUNGSEONG, Edit, Span, graphemes, hangul_join, hangul_split, word_script

OPS = ("insert", "delete", "swap", "substitute")
_KNOWN_SCRIPTS = {"Latin", "Cyrillic", "Arabic", "Bengali", "Telugu", "Hangul"}


def _random_syllable(rng: random.Random) -> str:
    final = rng.choice(JONGSEONG) if rng.random() < 0.4 else ""
    return hangul_join(rng.choice(CHOSEONG), rng.choice(JUNGSEONG), final)  # type: ignore[return-value]


def _substitute(cluster: Span, script: str, lang: str, rng: random.Random) -> str | None:
    """The cluster with its base letter replaced by another letter of the same class and script."""
    base = cluster.text[0]
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
    return match_case(rng.choice(pool), base) + cluster.text[1:]


@lru_cache(maxsize=None)
def _pool(script: str, lang: str, cls: str, upper: bool) -> tuple[str, ...]:
    """Letters of `script` (lower-case form) that, in the base's case, have the base's class."""
    return tuple(c for c in letters(script, lang) if char_class(c.upper() if upper else c) == cls)


def _insertion(script: str, lang: str, rng: random.Random) -> str:
    if script == "Hangul":
        return _random_syllable(rng)
    return rng.choice(letters(script, lang))


def noise_in_word(word: Span, lang: str, rng: random.Random, ops: tuple[str, ...] = OPS) -> list[Edit] | None:
    """One noise edit inside `word` (absolute offsets), or None if the word offers none."""
    script = word_script(word.text)
    if script not in _KNOWN_SCRIPTS:
        return None
    clusters = [g for g in graphemes(word.text, word.start) if char_class(g.text[0]) != "other"
                or script == "Hangul"]
    if not clusters:
        return None
    choices = list(ops)
    rng.shuffle(choices)
    for op in choices:
        if op == "delete" and len(clusters) >= 3:
            g = rng.choice(clusters)
            return [Edit(g.start, g.end, "", "noise:delete")]
        if op == "swap" and len(clusters) >= 2:
            pairs = [(a, b) for a, b in zip(clusters, clusters[1:]) if a.end == b.start and a.text != b.text]
            if pairs:
                a, b = rng.choice(pairs)
                return [Edit(a.start, b.end, b.text + a.text, "noise:swap")]
        if op == "substitute":
            g = rng.choice(clusters)
            new = _substitute(g, script, lang, rng)
            if new and new != g.text:
                return [Edit(g.start, g.end, new, "noise:substitute")]
        if op == "insert":
            # Between clusters (or at the word's end), so the new letter never splits a cluster.
            at = rng.choice([g.end for g in clusters])
            if script in ("Bengali", "Telugu") and at == word.end and word.text[-1:] in "\u09cd\u0c4d":
                continue  # after a word-final virama the new consonant would fuse into a conjunct
            return [Edit(at, at, _insertion(script, lang, rng), "noise:insert")]
    return None


@dataclass(frozen=True)
class CharNoise(WordAttack):
    name: str = "char-noise"
    description: str = ("One grapheme-cluster insertion, deletion, swap or substitution per touched "
                        "word, with letters from the word's own script.")
    ops: tuple[str, ...] = OPS

    def edit_word(self, word: Span, lang: str, rng: random.Random) -> list[Edit] | None:
        return noise_in_word(word, lang, rng, self.ops)


def single_op(op: str) -> CharNoise:
    return CharNoise(name=f"char-{op}", description=f"char-noise restricted to one {op} per touched word.",
                     ops=(op,))
