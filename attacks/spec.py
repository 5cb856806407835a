"""`AttackSpec`: the one grammar for naming attacks, shared by the CLI, suite files, records and searches.

    keyboard                      one attack (aliases resolve: typo -> keyboard)
    keyboard,codemix,distractor   a list: one cell per item
    keyboard+word-swap            one cell combining attacks: a static cell applies them in order
                                  (a composition); a search draws candidate edits from each
    keyboard:question             a suite-file item may pin its target after ':' (question, context, both, auto)

Names are checked against the registry when parsed, so a typo fails before any model loads, and the
spec's `name` is the canonical spelling that cell keys hash (`typo` and `keyboard` are one cell).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xadv.errors import XadvError
from xadv.types import Target, parse_items

from .base import Attack
from .registry import canonical_name, get_attack

GRAMMAR = ("Comma-separated attacks, one cell each (see `xadv attacks list`); a+b combines attacks in one "
           "cell: applied in order by a static attack, candidate edits from both in a search. Aliases "
           "(typo = keyboard, ...) name the same cell.")


@dataclass(frozen=True)
class AttackSpec:
    """One cell's attack: canonical registered names in order, and an optional pinned target."""

    parts: tuple[str, ...]
    target: Target | None = None

    @property
    def name(self) -> str:
        return "+".join(self.parts)

    def __str__(self) -> str:
        return self.name if self.target is None else f"{self.name}:{self.target}"

    @classmethod
    def parse(cls, text: str | AttackSpec) -> AttackSpec:
        """One item (`a`, `a+b`, `a+b:context`); XadvError naming the bad part."""
        if isinstance(text, AttackSpec):
            return text
        body, sep, target = str(text).strip().partition(":")
        parts = tuple(p.strip() for p in body.split("+"))
        if not body.strip() or not all(parts):
            raise XadvError(f"attack {text!r}: empty name (write a or a+b, see `xadv attacks list`)")
        for p in parts:
            get_attack(p)  # unknown name: one line, listing the known ones
        return cls(tuple(canonical_name(body).split("+")), Target.parse(target) if sep else None)

    @classmethod
    def parse_list(cls, text: str | Sequence[str]) -> tuple[AttackSpec, ...]:
        """`a,b+c` (or a list of items) -> specs in order, repeats dropped; XadvError when empty."""
        return parse_items(text, cls.parse, "no attack given (e.g. --attack keyboard; see `xadv attacks list`)")

    def params_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The subset of `params` (e.g. data_dir) that some part of this attack takes."""
        accepted = set().union(*(get_attack(p).describe()["params"] for p in self.parts))
        return {k: v for k, v in params.items() if k in accepted}

    def cell_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters a cell key hashes: those given (paths excluded), plus `attack_version` when a part's
        behaviour changed under its name (`distractor/2`), so an old record never passes for a new cell;
        attacks at version 1 add nothing, so existing keys are unchanged."""
        out = {k: v for k, v in self.params_for(params).items() if k != "data_dir"}  # paths don't change a cell
        versions = "+".join(f"{p}/{get_attack(p).version}" for p in self.parts if get_attack(p).version != 1)
        return {**out, "attack_version": versions} if versions else out

    def build(self, params: Mapping[str, Any] | None = None) -> Attack:
        """The static attack (a composition for a+b), with the parameters it takes."""
        mine = self.params_for(params or {})
        return get_attack(self.name, **mine) if mine else get_attack(self.name)
