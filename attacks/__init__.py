"""Script-correct adversarial attacks on multilingual extractive QA examples.

    from attacks import get_attack
    result = get_attack("keyboard").perturb(example, target="question", strength=0.2, rng=13)
    result.example       # the same row (same id), question edited, answers valid
    result.edits         # [EditRecord(field, start, end, old, new, kind, attack), ...]

Families (one module each): keyboard, noise (char-*), homoglyph, invisible, normalization (nfd,
diacritics), word (word-delete, word-swap), reorder (sentence-reorder), codemix, distractor.
All edits go through `attacks.text`, which segments text and remaps answer offsets.
"""

from .base import Attack, EditRecord, PerturbedExample, check_example, make_rng
from .registry import compose, get_attack, list_attacks, register
from .run import perturb_example, perturb_rows

__all__ = [
    "Attack", "EditRecord", "PerturbedExample", "check_example", "compose", "get_attack",
    "list_attacks", "make_rng", "perturb_example", "perturb_rows", "register",
]
