"""`AttackSpec`: the one grammar for naming attacks, shared by the CLI, suite files, records and searches.

    keyboard                      one attack (aliases resolve: typo -> keyboard)
    keyboard,codemix,distractor   a list: one cell per item
    keyboard+word-swap            one cell combining attacks: a static cell applies them in order
                                  (a composition); a search draws candidate edits from each
    keyboard:question             an item may pin its target after ':' (question, context, both, auto)
    codemix:partner=sw            an item may set parameters after ':' as NAME=VALUE (code-mix English
                                  text with Swahili); a parameter goes to every part that has one of that
                                  name (`a+b:p=v`) and at least one must
    codemix:partner=de:question   both: options after the name, each after its own ':', in any order

An option with '=' is a parameter, one without is the target, so the two never collide; ',' only ever
separates items and '+' parts. Values are read as the parameter's type (text, a number, true/false) and
checked when parsed (an unknown parameter, a bad value, a partner without a dictionary: one line), so a
typo fails before any model loads. Paths (`data_dir`) are not attack parameters: `--data-dir` sets them.

Names are checked against the registry, and the spec's `name` is the canonical spelling that cell keys
hash (`typo` and `keyboard` are one cell). Parameters set here are part of the cell key
(`cell_params`): `codemix:partner=sw` and `codemix:partner=de` are two cells; a spec without parameters
hashes exactly as before parameters existed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xadv.errors import XadvError
from xadv.types import Target, parse_items

from .base import Attack
from .registry import canonical_name, get_attack

GRAMMAR = ("Comma-separated attacks, one cell each (see `xadv attacks list`); a+b combines attacks in one "
           "cell: applied in order by a static attack, candidate edits from both in a search. Options after "
           "':' set a parameter (codemix:partner=sw: English code-mixed with Swahili) or pin the target "
           "(keyboard:question). Aliases (typo = keyboard, ...) name the same cell.")

PATH_PARAMS = frozenset({"data_dir"})  # set by the environment (--data-dir), never part of a cell


def _value(attack: str, key: str, text: str, default: Any) -> Any:
    """`text` read as the type of the parameter's default; XadvError (one line) when it is not one."""
    bad = f"attack {attack!r}: parameter {key}={text!r}"
    if isinstance(default, bool):
        if text.lower() not in ("true", "false"):
            raise XadvError(f"{bad} must be true or false")
        return text.lower() == "true"
    if isinstance(default, (int, float)):
        try:
            value = int(text) if isinstance(default, int) else float(text)
        except ValueError:
            raise XadvError(f"{bad} must be a {'whole number' if isinstance(default, int) else 'number'}") from None
        if not math.isfinite(value):
            raise XadvError(f"{bad} must be a finite number")
        return value
    if isinstance(default, str):
        if not text:
            raise XadvError(f"{bad} is empty")
        return text
    raise XadvError(f"attack {attack!r}: parameter {key!r} cannot be set in an attack name (use the Python API)")


def _settable(attack: Attack) -> dict[str, Any]:
    """The parameters an item may set on `attack`, with their defaults (paths excluded)."""
    out = {k: v for k, v in attack.describe()["params"].items() if k not in PATH_PARAMS}
    if attack.can_edit_answers:
        out["edits_answers"] = attack.edits_answers
    return out


@dataclass(frozen=True)
class AttackSpec:
    """One cell's attack: canonical registered names in order, the parameters set in the item (sorted by
    name, typed) and an optional pinned target."""

    parts: tuple[str, ...]
    target: Target | None = None
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return "+".join(self.parts)

    @property
    def label(self) -> str:
        """The attack with its parameters, without the target: `codemix:partner=sw` (tells cells apart)."""
        return "".join([self.name, *(f":{k}={_show(v)}" for k, v in self.params)])

    def __str__(self) -> str:
        return self.label if self.target is None else f"{self.label}:{self.target}"

    @classmethod
    def parse(cls, text: str | AttackSpec) -> AttackSpec:
        """One item (`a`, `a+b`, `a+b:context`, `a:k=v:question`); XadvError naming the bad part."""
        if isinstance(text, AttackSpec):
            return text
        body, *options = str(text).strip().split(":")
        parts = tuple(p.strip() for p in body.split("+"))
        if not body.strip() or not all(parts):
            raise XadvError(f"attack {text!r}: empty name (write a or a+b, see `xadv attacks list`)")
        for p in parts:
            get_attack(p)  # unknown name: one line, listing the known ones
        names = tuple(canonical_name(body).split("+"))
        target: Target | None = None
        given: dict[str, str] = {}
        for opt in (o.strip() for o in options):
            key, eq, value = (s.strip() for s in opt.partition("="))
            if not eq:
                if target is not None:
                    raise XadvError(f"attack {text!r}: two targets ({target}, {opt}); give one")
                target = Target.parse(opt)
            elif not key:
                raise XadvError(f"attack {text!r}: option {opt!r} has no parameter name (write NAME=VALUE)")
            elif key in given:
                raise XadvError(f"attack {text!r}: parameter {key!r} given twice")
            else:
                given[key] = value
        return cls(names, target, _typed_params(text, names, given))

    @classmethod
    def parse_list(cls, text: str | Sequence[str]) -> tuple[AttackSpec, ...]:
        """`a,b+c` (or a list of items) -> specs in order, repeats dropped; XadvError when empty."""
        return parse_items(text, cls.parse, "no attack given (e.g. --attack keyboard; see `xadv attacks list`)")

    def params_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The subset of `params` (e.g. data_dir) that some part of this attack takes, and the item's own
        parameters (which win)."""
        accepted = set().union(*(get_attack(p).describe()["params"] for p in self.parts))
        return {**{k: v for k, v in params.items() if k in accepted}, **dict(self.params)}

    def cell_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters a cell key hashes: those given (paths excluded) and the item's own, plus
        `attack_version` when a part's behaviour changed under its name (`distractor/2`), so an old record
        never passes for a new cell; attacks at version 1 add nothing, so existing keys are unchanged."""
        out = {k: v for k, v in self.params_for(params).items() if k not in PATH_PARAMS}  # paths don't change a cell
        versions = "+".join(f"{p}/{get_attack(p).version}" for p in self.parts if get_attack(p).version != 1)
        return {**out, "attack_version": versions} if versions else out

    def build(self, params: Mapping[str, Any] | None = None) -> Attack:
        """The static attack (a composition for a+b), with the parameters it takes."""
        mine = self.params_for(params or {})
        return get_attack(self.name, **mine) if mine else get_attack(self.name)


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _typed_params(text: Any, names: tuple[str, ...], given: Mapping[str, str]) -> tuple[tuple[str, Any], ...]:
    """The item's parameters typed and checked: each taken by at least one part, of its type, and accepted
    by every part that takes it (an attack checks its own values when built)."""
    if not given:
        return ()
    attacks = [get_attack(n) for n in names]
    settable = [_settable(a) for a in attacks]
    typed: dict[str, Any] = {}
    for key, value in given.items():
        takers = [s for s in settable if key in s]
        if key in PATH_PARAMS:
            raise XadvError(f"attack {text!r}: {key} is a path, not an attack parameter (set it with --data-dir)")
        if not takers:
            known = sorted(set().union(*settable))
            raise XadvError(f"attack {text!r}: no parameter {key!r} (parameters: {', '.join(known) or 'none'})")
        typed[key] = _value("+".join(names), key, value, takers[0][key])
    for attack, s in zip(attacks, settable):
        mine = {k: v for k, v in typed.items() if k in s}
        if mine:
            try:
                get_attack(attack.name, **mine)  # the attack's own checks (a partner without a dictionary)
            except XadvError as exc:
                raise XadvError(f"attack {text!r}: {exc}") from None
    return tuple(sorted(typed.items()))
