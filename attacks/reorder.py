"""Sentence reordering: shuffle the context sentences that hold no answer.

Sentences are split script-aware (`.`, `!`, `?`, Bengali `।`, Arabic `؟`, ...; see
`attacks.text.sentences`). Sentences that overlap a gold answer stay in their slots; a share of the
others (`strength`) is permuted so that every chosen sentence lands in a different slot. The
whitespace between sentences stays where it was. The answer text is untouched and its offsets are
remapped. Context only. Chinese sentences also end at 。！？ without a space after them; Thai is refused
(it ends sentences with a space only, the same space that separates phrases).

Example (en, strength 1.0, seed 0, answer "1889"): "A is big. B is small. The tower was built in 1889.
D ends it." -> "D ends it. A is big. The tower was built in 1889. B is small."
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from .base import CONTEXT_ONLY, Attack, FieldEdits, FieldInput, draw_count, overlaps_any
from .text import Edit, EditPlan, sentences

THAI_SENTENCES = ("Thai ends a sentence with a space only, the same space that separates phrases, so its "
                  "sentences cannot be found")


@dataclass(frozen=True)
class SentenceReorder(Attack):
    name: str = "sentence-reorder"
    description: str = "Permute a share of the sentences that contain no answer (answer sentences stay put)."
    version: ClassVar[int] = 2  # 2: `U.S. Army`, `St. Louis` are no longer cut into two "sentences"
    targets: tuple[str, ...] = CONTEXT_ONLY
    unit: str = "sentences"
    refusals: ClassVar[Mapping[str, str]] = {"th": THAI_SENTENCES}

    def plan(self, inp: FieldInput, strength: float, rng: random.Random) -> FieldEdits:
        sents = sentences(inp.text, inp.lang)
        movable = [i for i, s in enumerate(sents) if not overlaps_any(s, inp.protected)]
        k = min(draw_count(strength, len(sents), rng), len(movable))
        if k == 1:  # one sentence cannot move alone: 0 or 2, keeping the expected share
            k = 2 if rng.random() < 0.5 and len(movable) >= 2 else 0
        chosen = sorted(rng.sample(movable, k)) if k >= 2 else []
        # Distinct texts only, so that every chosen slot really changes.
        if len({sents[i].text for i in chosen}) < len(chosen):
            chosen = []
        cycle = chosen[:]
        rng.shuffle(cycle)  # one random cycle: every chosen sentence moves to another chosen slot
        plan = EditPlan(inp.text, inp.protected)
        for slot, src in zip(cycle, cycle[1:] + cycle[:1]):
            plan.add(Edit(sents[slot].start, sents[slot].end, sents[src].text, "reorder"))
        return FieldEdits(plan.edits, len(sents), len(plan.edits))
