"""Word-level edits: delete words, or swap adjacent words, outside the answer spans.

Words are the script-aware words of `attacks.text` (a Korean eojeol with its particles, a Bengali
word with all its signs). A deleted word takes one neighbouring run of spaces with it, so no double
spaces appear; a swap only exchanges two words separated by plain whitespace (never across
punctuation). Chinese and Thai words come from the registry's segmenter (jieba, pythainlp;
`attacks.text.segment`): there two adjacent words with nothing between them may also be swapped. Without
the segmenter those two are refused (a whole clause is not a word). Serves every registry language.

Examples (en): word-delete (0.2, seed 2) "Who founded the Apple company?" -> "Who founded the company?";
word-swap (0.4, seed 0) "Who founded the Apple company?" -> "Who the founded Apple company?"
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from xadv.langs import LANGUAGES

from .base import Attack, FieldEdits, FieldInput, draw_count, overlaps_any
from .text import Edit, EditPlan, segment


@dataclass(frozen=True)
class WordDelete(Attack):
    name: str = "word-delete"
    description: str = "Delete a share of the non-answer words (each with one adjacent run of spaces)."

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        text, ws = inp.text, segment(inp.text, inp.lang)
        k = draw_count(strength, len(ws), rng)
        plan = EditPlan(text, inp.protected)
        order = [w for w in ws if not overlaps_any(w, inp.protected)]
        rng.shuffle(order)
        touched = 0
        for w in order:
            if touched >= k:
                break
            end = w.end
            while end < len(text) and text[end] in " \t":
                end += 1
            start = w.start
            if end == w.end:  # no space after (end of sentence): take the space before instead
                while start > 0 and text[start - 1] in " \t":
                    start -= 1
            if plan.add(Edit(start, end, "", "word:delete")):
                touched += 1
        return FieldEdits(plan.edits, len(ws), touched)


@dataclass(frozen=True)
class WordSwap(Attack):
    name: str = "word-swap"
    description: str = "Swap pairs of adjacent non-answer words separated only by whitespace."

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        text, ws = inp.text, segment(inp.text, inp.lang)
        unspaced = not LANGUAGES[inp.lang].spaced
        pairs = [(a, b) for a, b in zip(ws, ws[1:])
                 if (text[a.end : b.start].isspace() or (unspaced and a.end == b.start)) and a.text != b.text
                 and not overlaps_any((a.start, b.end), inp.protected)]
        swaps = draw_count(strength, len(ws) / 2, rng)  # each swap touches two words
        rng.shuffle(pairs)
        plan = EditPlan(text, inp.protected)
        touched = 0
        for a, b in pairs:
            if touched >= 2 * swaps:
                break
            gap = text[a.end : b.start]
            if plan.add(Edit(a.start, b.end, b.text + gap + a.text, "word:swap")):
                touched += 2
        return FieldEdits(plan.edits, len(ws), touched)
