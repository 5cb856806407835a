"""Perturbing rows: the entry points the CLI and the evaluation use.

Seeds are per example (`make_rng(seed, id, attack)`), so a row's output does not depend on which
other rows are perturbed with it or in which order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
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


def edit_log_path(out: str | Path) -> Path:
    """Where the edit log of a perturbed SQuAD file lives: `x.json` -> `x.edits.jsonl`."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".json") + ".edits.jsonl")


def write_perturbed(results: list[PerturbedExample], out: str | Path) -> tuple[Path, Path]:
    """Write perturbed rows as SQuAD v1.1 JSON (same ids) and their edit log beside it (JSON lines).

    The SQuAD file can be scored or attacked again like any dataset; the log says, per example,
    which attack touched which characters and the strength requested vs applied."""
    return write_with_log([r.example for r in results], [log_record(r) for r in results], out)


def log_record(result: PerturbedExample, **extra) -> dict:
    """One line of an edit log: the example's id and language, `extra`, then what the attack did."""
    rec = {k: v for k, v in result.to_dict().items() if k != "example"}
    return {"id": result.example["id"], "lang": result.example.get("lang"), **extra, **rec}


def write_with_log(examples: list[dict], log: list[dict], out: str | Path) -> tuple[Path, Path]:
    """Write rows as SQuAD v1.1 JSON to `out` and `log` as JSON lines to `edit_log_path(out)`, as one pair."""
    from xadv.data import to_squad
    from xadv.io import atomic_open, check_output_path

    out = Path(out)
    log_path = edit_log_path(out)
    for path in (out, log_path):  # both refused before either is written: never half a pair
        check_output_path(path)
    obj = to_squad(examples, version="1.1")
    # Both temp files are written and synced before either is renamed into place, so a full disk (or any
    # write error) leaves the old pair, not a new JSON beside an old edit log.
    with atomic_open(out) as squad_fh, atomic_open(log_path) as log_fh:
        json.dump(obj, squad_fh, ensure_ascii=False)
        for rec in log:
            log_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        for fh in (squad_fh, log_fh):
            fh.flush()
            os.fsync(fh.fileno())
    return out, log_path
