"""Adversarial copies of training rows: `keyboard:0.3,codemix:0.2` adds perturbed copies of a share of the rows.

Why here and not in training: a copy is exactly what `xadv perturb --seed S` makes of its row (the attack's
`perturb`, offsets remapped by `attacks.text`), so the edit/offset logic exists once.

Semantics, per attack A with rate r (`AugmentSpec`):
- each row is chosen independently with probability r, from a stream seeded by (seed, row id, A) only, so
  which rows get a copy depends neither on the order of the rows nor on which other rows are there (the share
  is r in expectation; `CopyCounts.selected` is the exact count);
- a chosen row gets one copy, id `<id>#adv-<A>`, *added* beside its original (nothing is replaced), made with
  the attack's default target (`Target.AUTO`: the question where it can edit it, else the context) unless the
  item pins one (`keyboard:context:0.3`), at one strength for all attacks;
- a copy the attack cannot make is skipped and counted: `refused` (the language or the row is refused),
  `unchanged` (no edit drawn), `answer_lost` (an answer text would change or move out of its span).
English rows have no English to code-mix into: attacks with a `partner` language (codemix) draw one per row
from `PARTNERS`, seeded by (seed, row id), and record it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xadv.errors import XadvError
from xadv.langs import TYDI_LANGS
from xadv.types import Target

from .base import Attack, make_rng, with_params
from .spec import AttackSpec
from .text import EditRefused

GRAMMAR = "comma-separated ATTACK:RATE items, RATE in (0, 1], e.g. keyboard:0.3,codemix:0.2"
PARTNERS: tuple[str, ...] = tuple(lang for lang in TYDI_LANGS if lang != "en")  # code-mixing partners of en rows
SKIPS = ("refused", "unchanged", "answer_lost")


@dataclass(frozen=True)
class AugmentItem:
    """One attack and the share of rows that get a copy made by it."""

    attack: AttackSpec
    rate: float

    def __str__(self) -> str:
        return f"{self.attack}:{self.rate:g}"


@dataclass(frozen=True)
class AugmentSpec:
    """The parsed `--augment` value: items sorted by attack (the order given does not change training)."""

    items: tuple[AugmentItem, ...]
    strength: float = 0.2

    @classmethod
    def parse(cls, text: str, strength: float = 0.2) -> AugmentSpec:
        """`keyboard:0.3,codemix:0.2` -> AugmentSpec; one-line XadvError for an empty value, an unknown
        attack, a rate outside (0, 1], a repeated attack or a strength outside (0, 1]."""
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1:
            raise XadvError(f"augment strength must be a number in (0, 1], got {strength!r}")
        parts = [p.strip() for p in str(text).split(",")]
        if not any(parts):
            raise XadvError(f"augment is empty: give {GRAMMAR}")
        items: dict[str, AugmentItem] = {}
        for part in parts:
            if not part:
                raise XadvError(f"augment {text!r}: an empty item ({GRAMMAR})")
            name, sep, rate_text = part.rpartition(":")
            if not sep or not name.strip():
                raise XadvError(f"augment item {part!r} has no rate: write {part}:0.2 ({GRAMMAR})")
            try:
                attack = AttackSpec.parse(name)
            except XadvError as exc:
                raise XadvError(f"augment item {part!r}: {exc}") from None
            item = AugmentItem(attack, _rate(rate_text, part))
            key = str(item.attack)
            if key in items:
                raise XadvError(f"augment names {key!r} twice (aliases count as the same attack)")
            items[key] = item
        return cls(tuple(items[k] for k in sorted(items)), float(strength))

    def __str__(self) -> str:
        return ",".join(str(i) for i in self.items)

    def key(self) -> dict[str, Any]:
        """What a training config digest hashes: the items, the strength, and the version of every attack
        whose behaviour changed under its name (`codemix/2`), so a changed attack never passes for the old."""
        return {"attacks": str(self), "strength": self.strength,
                "versions": {str(i.attack): v for i in self.items
                             if (v := i.attack.cell_params({}).get("attack_version"))}}


def _rate(text: str, part: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise XadvError(f"augment item {part!r}: the rate {text.strip()!r} is not a number ({GRAMMAR})") from None
    if not math.isfinite(rate) or not 0 < rate <= 1:
        raise XadvError(f"augment item {part!r}: the rate must be in (0, 1], got {text.strip()}")
    return rate


@dataclass
class CopyCounts:
    """What one attack did to the rows: chosen, copies made, and why the others were skipped."""

    attack: str
    target: str
    rate: float
    rows: int = 0
    selected: int = 0
    made: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIPS, 0))
    partners: dict[str, int] = field(default_factory=dict)  # en rows: copies per code-mixing partner

    def to_dict(self) -> dict[str, Any]:
        out = {"attack": self.attack, "target": self.target, "rate": self.rate, "rows": self.rows,
               "selected": self.selected, "made": self.made, "skipped": dict(self.skipped)}
        return {**out, "partners": dict(sorted(self.partners.items()))} if self.partners else out


@dataclass(frozen=True)
class AdversarialCopies:
    """The copies (in row order, each after the previous row's copies) and the counts per attack."""

    rows: tuple[dict, ...]
    counts: tuple[CopyCounts, ...]
    spec: AugmentSpec
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"spec": str(self.spec), "strength": self.spec.strength, "seed": self.seed, "copies": len(self.rows),
                "attacks": [c.to_dict() for c in self.counts]}


def chosen(seed: int, example_id: str, attack: str, rate: float) -> bool:
    """Whether a row gets a copy from `attack`: its own stream, never the one the perturbation draws from."""
    return rate >= 1 or make_rng(seed, example_id, f"{attack}#augment").random() < rate


def adversarial_copies(rows: Sequence[Mapping], spec: AugmentSpec, *, seed: int = 0,
                       data_dir: str | os.PathLike | None = None) -> AdversarialCopies:
    """Perturbed copies of a seeded share of `rows` (xadv QA rows) per `spec` (see the module docstring)."""
    from xadv.paths import data_dir as resolve_data_dir

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise XadvError(f"a seed must be a whole number >= 0, got {seed!r}")
    params = {"data_dir": str(resolve_data_dir(data_dir))}
    plans = []
    for item in spec.items:
        atk = item.attack.build(item.attack.params_for(params))
        target = (item.attack.target or Target.AUTO).resolve(tuple(atk.targets))
        plans.append((item, atk, target, CopyCounts(str(item.attack), target, item.rate, rows=len(rows))))
    ids = {str(r["id"]) for r in rows}
    out: list[dict] = []
    for row in rows:
        for item, atk, target, counts in plans:
            if not chosen(seed, str(row["id"]), str(item.attack), item.rate):
                continue
            counts.selected += 1
            copy, why, partner = _copy(row, atk, target, spec.strength, seed)
            if copy is None:
                counts.skipped[why] += 1
                continue
            copy["id"] = f"{row['id']}#adv-{item.attack}"
            if copy["id"] in ids:
                raise XadvError(f"the copy id {copy['id']!r} is already an id of the data: augment it once")
            counts.made += 1
            if partner:
                counts.partners[partner] = counts.partners.get(partner, 0) + 1
            out.append(copy)
    return AdversarialCopies(tuple(out), tuple(p[3] for p in plans), spec, seed)


def _copy(row: Mapping, atk: Attack, target: str, strength: float, seed: int) -> tuple[dict | None, str, str]:
    """(the copy, "", partner) or (None, why it was skipped, "")."""
    lang = str(row.get("lang", ""))
    partner = ""
    if lang == "en" and "partner" in atk.describe()["params"] and atk.refusal("en"):
        rng = make_rng(seed, str(row["id"]), f"{atk.name}#partner")
        partner = PARTNERS[rng.randrange(len(PARTNERS))]
        atk = with_params(atk, partner=partner)
    try:
        p = atk.perturb(dict(row), target, strength, seed)
    except EditRefused:
        return None, "answer_lost", ""
    except XadvError:
        return None, "refused", ""
    if not p.edits:
        return None, "unchanged", ""
    ans, ctx = p.example["answers"], p.example["context"]
    if list(ans["text"]) != list(row["answers"]["text"]) or any(
            ctx[s:s + len(t)] != t for t, s in zip(ans["text"], ans["answer_start"])):
        return None, "answer_lost", ""
    return dict(p.example), "", partner
