"""SQuAD-format data augmentation: every example plus K perturbed copies (seeds seed..seed+K-1).

A copy of example `x` made with seed `k` has the id `x#<attack>#k` and is exactly what `xadv perturb --seed k`
writes for `x` (seeds are per (seed, original id, attack)), answers remapped; copies follow their original,
so the SQuAD file keeps one paragraph per context. The edit log beside the file has one line per copy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from attacks.base import Attack
from attacks.dataset import resolve_static, row_langs
from attacks.run import log_record, write_with_log
from xadv.errors import XadvError
from xadv.types import Target

MAX_COPIES = 100


@dataclass(frozen=True)
class Augmented:
    """What `augment` wrote: the files and the counts (`changed`: copies the attack actually edited)."""

    out: Path
    edit_log: Path
    attack: str
    target: str
    strength: float
    seeds: tuple[int, ...]
    originals: int
    copies: int
    changed: int

    def to_dict(self) -> dict:
        return {"out": str(self.out), "edit_log": str(self.edit_log), "attack": self.attack, "target": self.target,
                "strength": self.strength, "seeds": list(self.seeds), "originals": self.originals,
                "copies": self.copies, "changed": self.changed, "examples": self.originals + self.copies}


def check_copies(copies: object) -> int:
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        raise XadvError(f"--copies must be a whole number from 1 to {MAX_COPIES}, got {copies!r}")
    return copies


def augment(rows: Sequence[Mapping], attack: Attack | str, out: str | os.PathLike, *, copies: int = 1,
            target: str | Target = "question", strength: float = 0.2, seed: int = 0,
            data_dir: str | os.PathLike | None = None) -> Augmented:
    """Write `rows` and `copies` perturbed copies of each to `out` (SQuAD v1.1) with `out`'s edit log."""
    check_copies(copies)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise XadvError(f"a seed must be a whole number >= 0, got {seed!r}")
    if not rows:
        raise XadvError("no examples to augment")
    atk, concrete = resolve_static(attack, target, strength, row_langs(rows), data_dir)
    seeds = tuple(range(seed, seed + copies))
    ids = {r["id"] for r in rows}
    examples: list[dict] = []
    log: list[dict] = []
    for row in rows:
        examples.append(dict(row))
        for k in seeds:
            p = atk.perturb(dict(row), concrete, strength, k)
            new_id = f"{row['id']}#{atk.name}#{k}"
            if new_id in ids:
                raise XadvError(f"the copy id {new_id!r} is already an id of the data: augment it once")
            examples.append({**p.example, "id": new_id})
            log.append(log_record(p, source_id=row["id"], seed=k) | {"id": new_id})
    json_path, log_path = write_with_log(examples, log, out)
    return Augmented(json_path, log_path, atk.name, concrete, strength, seeds, len(rows), len(log),
                     sum(1 for rec in log if rec["edits"]))
