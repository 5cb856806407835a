"""The registry: every attack by name, with its parameters, and `+` for composition.

`get_attack("keyboard")`, `get_attack("codemix", partner="sw")`, `get_attack("keyboard+word-swap")`
(a composition; a parameter given to it goes to every step that has one of that name);
`list_attacks()` lists the registered attacks in a stable order.
"""

from __future__ import annotations

from collections.abc import Iterable

from xadv.errors import XadvError

from .base import Attack, Composite, with_params
from .base import compose as compose_steps

_REGISTRY: dict[str, Attack] = {}
# Short names users reach for first; `xadv attacks list` shows them next to the attack.
ALIASES: dict[str, str] = {"typo": "keyboard", "noise": "char-noise", "reorder": "sentence-reorder",
                           "addsent": "distractor", "zero-width": "invisible"}
_LOADED = False


def canonical_name(name: str) -> str:
    """`typo+noise` -> `keyboard+char-noise`: aliases resolved, so one attack is one cell (records written
    before aliases were resolved are read under their canonical name)."""
    return "+".join(ALIASES.get(p.strip(), p.strip()) for p in name.split("+"))


def register(attack: Attack) -> Attack:
    if not attack.name or "+" in attack.name:
        raise ValueError(f"invalid attack name {attack.name!r}")
    _REGISTRY[attack.name] = attack
    return attack


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from .codemix import CodeMix
    from .distractor import Distractor, DistractorConflict
    from .homoglyph import Homoglyph
    from .invisible import Invisible
    from .keyboard import KeyboardTypo
    from .noise import OPS, CharNoise, single_op
    from .normalization import Decompose, StripDiacritics
    from .reorder import SentenceReorder
    from .word import WordDelete, WordSwap

    for attack in (KeyboardTypo(), CharNoise(), *(single_op(op) for op in OPS), Homoglyph(),
                   Invisible(), Decompose(), StripDiacritics(), WordDelete(), WordSwap(),
                   SentenceReorder(), CodeMix(), Distractor(), DistractorConflict()):
        register(attack)


def list_attacks() -> list[Attack]:
    """All registered attacks, in registration order."""
    _load()
    return list(_REGISTRY.values())


def get_attack(name: str, **params) -> Attack:
    """The attack called `name` (with `params` changed); `a+b` composes a then b.

    Raises XadvError with one line for an unknown name or parameter."""
    _load()
    if "+" in name:
        # a parameter goes to every step that has it (e.g. data_dir for codemix)
        steps = [get_attack(part.strip()) for part in name.split("+")]
        for key in params:
            if not any(key in s.describe()["params"] for s in steps):
                raise XadvError(f"no step of {name!r} has a parameter {key!r}")
        steps = [with_params(s, **{k: v for k, v in params.items() if k in s.describe()["params"]})
                 for s in steps]
        return compose_steps(steps, name=name)
    name = ALIASES.get(name.strip(), name.strip())
    attack = _REGISTRY.get(name)
    if attack is None:
        raise XadvError(f"unknown attack {name!r} (known: {', '.join(_REGISTRY)})")
    return with_params(attack, **params) if params else attack


def compose(attacks: Iterable[Attack | str], name: str | None = None) -> Composite:
    """One attack that applies `attacks` (registered names or attacks) in order."""
    return compose_steps([get_attack(a) if isinstance(a, str) else a for a in attacks], name=name)
