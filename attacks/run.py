"""Perturbing rows: the entry points the CLI and the evaluation use.

Seeds are per example (`make_rng(seed, id, attack)`), so a row's output does not depend on which
other rows are perturbed with it or in which order.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from .base import Attack, PerturbedExample
from .registry import get_attack


def _resolve(attack: Attack | str) -> Attack:
    return get_attack(attack) if isinstance(attack, str) else attack


def perturb_example(example: dict, attack: Attack | str, target: str = "context",
                    strength: float = 0.1, seed: int = 0) -> PerturbedExample:
    """Perturb one row with the named (or given) attack; XadvError for unsupported input."""
    return _resolve(attack).perturb(example, target, strength, seed)


def iter_perturbed(rows: Iterable[dict], attack: Attack | str, target: str = "context",
                   strength: float = 0.1, seed: int = 0) -> Iterator[PerturbedExample]:
    a = _resolve(attack)
    for row in rows:
        yield a.perturb(dict(row), target, strength, seed)


def perturb_rows(rows: Iterable[dict], attack: Attack | str, target: str = "context",
                 strength: float = 0.1, seed: int = 0) -> list[PerturbedExample]:
    """Perturb every row (e.g. a `datasets.Dataset` from `xadv.data.load_qa`)."""
    return list(iter_perturbed(rows, attack, target, strength, seed))
