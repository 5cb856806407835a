"""xadv's per-word attacks as a TextAttack transformation (`XadvWordSwap`).

TextAttack's own character transformations insert ASCII letters into every script and leave dangling
viramas; xadv's families (keyboard, char-noise, homoglyph, invisible, nfd, diacritics, codemix,
word-delete) are script-correct. This adapter asks a family for edits to *one* word: it hands the
family a slice of the text holding just that word and its surrounding separators (so the family's
own word loop touches exactly that word), shifts the proposed edits back to field offsets and applies
them through `QAText.with_word_edits` (answer spans protected, answers remapped). Each word gets up to
`candidates` distinct proposals per family, from random streams seeded by (seed, example id, field,
original word index, try number, family), so the same seed gives the same candidates in any process.
"""

from __future__ import annotations

from collections.abc import Sequence

from attacks.base import Attack, FieldInput, make_rng
from attacks.text import Edit, EditRefused
from xadv.errors import XadvError

from .bootstrap import ensure_textattack
from .families import per_word, searchable_attacks  # noqa: F401  (light: the CLI checks names without TextAttack)
from .qatext import QAText

ensure_textattack()

from textattack.transformations import WordSwap


class XadvWordSwap(WordSwap):
    """Candidates for a word from one or more xadv families (see the module docstring)."""

    def __init__(self, attacks: Sequence[Attack], candidates: int = 4, seed: int = 0):
        super().__init__()
        if candidates < 1:
            raise XadvError(f"candidates per word must be >= 1, got {candidates}")
        self.attacks = tuple(attacks)
        self.candidates = candidates
        self.seed = seed

    def _get_transformations(self, current_text: QAText, indices_to_modify) -> list[QAText]:
        out: list[QAText] = []
        for i in sorted(indices_to_modify):
            out.extend(self.word_candidates(current_text, i))
        return out

    def word_candidates(self, text: QAText, index: int) -> list[QAText]:
        field, lo, hi = text.window(index)
        window = text.row[field][lo:hi]
        row = text.row
        lang = (row.get("question_lang") or row["lang"]) if field == "question" else row["lang"]  # the field's own
        orig = text.original_index(index)
        seen: set[tuple[Edit, ...]] = set()
        out: list[QAText] = []
        for attack in self.attacks:
            got = 0
            for k in range(2 * self.candidates + 2):  # a few spare draws: random proposals can repeat
                if got >= self.candidates:
                    break
                rng = make_rng(self.seed, f"{row['id']}\x1f{field}\x1f{orig}\x1f{k}", attack.name)
                proposal = attack.plan(FieldInput(window, lang, field, (), row), 1.0, rng)
                edits = tuple(Edit(e.start + lo, e.end + lo, e.new, e.kind) for e in proposal.edits)
                if not edits or edits in seen:
                    continue
                seen.add(edits)
                try:
                    out.append(text.with_word_edits(index, edits, attack.name))
                except EditRefused:
                    continue
                got += 1
        return out

    @property
    def deterministic(self) -> bool:
        return True

    def extra_repr_keys(self):
        return ["candidates", "seed"]

    def __repr__(self) -> str:  # TextAttack prints attacks; name the families
        return f"XadvWordSwap({', '.join(a.name for a in self.attacks)}, candidates={self.candidates})"
