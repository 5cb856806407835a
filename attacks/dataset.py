"""Attacks as Hugging Face dataset transforms: `perturb_dataset(ds, "keyboard")` is a batched `.map`.

Each row is perturbed exactly as `xadv perturb` and `xadv attack` perturb it (seeds per (seed, example id,
attack), answers remapped by `attacks.text`), so the output for an id depends neither on the order of the
rows nor on which other rows are in the dataset. The edits are a list-of-structs column (`edits`: field,
start, end, old, new, kind, attack), which Arrow stores typed, plus `strength_applied`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from attacks.base import Attack
from attacks.spec import AttackSpec
from xadv.types import Target

if TYPE_CHECKING:
    from datasets import Dataset

EDIT_FIELDS = ("field", "start", "end", "old", "new", "kind", "attack")


def resolve_static(attack: Attack | str, target: str | Target, strength: float,
                   langs: Iterable[str | tuple[str, str]], data_dir: str | os.PathLike | None = None,
                   ) -> tuple[Attack, str]:
    """The attack (a name, `a+b`, `codemix:partner=sw`, or an Attack) and its concrete target (`auto`: the
    question where the attack edits it, else the context), checked against every language (or (context,
    question) language pair: each field in its own) before any row is touched."""
    from xadv.paths import data_dir as resolve_data_dir

    if isinstance(attack, str):
        spec = AttackSpec.parse(attack)
        atk = spec.build(spec.params_for({"data_dir": str(resolve_data_dir(data_dir))}))
        wanted = spec.target or Target.parse(target)
    else:
        atk, wanted = attack, Target.parse(target)
    concrete = wanted.resolve(tuple(atk.targets))
    for pair in sorted({(x, x) if isinstance(x, str) else (x[0], x[1] or x[0]) for x in langs}):
        atk.check(pair[0], concrete, strength, pair[1])  # refuse up front (one line), not after half the rows
    return atk, concrete


def row_langs(rows: Any) -> list[tuple[str, str]]:
    """(context, question) language of every row (a Dataset or dicts); the question's is the context's
    where the rows have no `question_lang`."""
    if hasattr(rows, "column_names"):
        ql = rows["question_lang"] if "question_lang" in rows.column_names else rows["lang"]
        return [(c, q or c) for c, q in zip(rows["lang"], ql)]
    return [(r["lang"], r.get("question_lang") or r["lang"]) for r in rows]


def _edit_features() -> Any:
    from datasets import Value

    return [{"field": Value("string"), "start": Value("int32"), "end": Value("int32"), "old": Value("string"),
             "new": Value("string"), "kind": Value("string"), "attack": Value("string")}]


def perturb_dataset(ds: Dataset, attack: Attack | str, target: str | Target = "question", strength: float = 0.2,
                    seed: int = 0, data_dir: str | os.PathLike | None = None) -> Dataset:
    """`ds` (xadv QA rows, e.g. from `xadv.load_data`) with every row perturbed; columns `edits` and
    `strength_applied` added (an existing `edits` column, from an earlier transform, is extended)."""
    from datasets import Value

    from xadv.data import QA_COLUMNS
    from xadv.errors import XadvError

    missing = [c for c in QA_COLUMNS if c not in ds.column_names]
    if missing:
        raise XadvError(f"perturb_dataset needs xadv QA rows (xadv.load_data); missing column(s): {', '.join(missing)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise XadvError(f"a seed must be a whole number >= 0, got {seed!r}")
    atk, concrete = resolve_static(attack, target, strength, row_langs(ds), data_dir)
    features = ds.features.copy()
    features["edits"] = _edit_features()
    features["strength_applied"] = Value("float64")
    # The fingerprint names the transform itself (datasets would otherwise try to hash the attack object).
    tag = f"{ds._fingerprint}|{atk!r}|{concrete}|{strength!r}|{seed}"
    fingerprint = hashlib.blake2b(tag.encode(), digest_size=8).hexdigest()
    return ds.map(_perturb_batch, batched=True, features=features, new_fingerprint=fingerprint,
                  fn_kwargs={"attack": atk, "target": concrete, "strength": strength, "seed": seed})


def _perturb_batch(batch: dict[str, list], attack: Attack, target: str, strength: float, seed: int) -> dict:
    n = len(batch["id"])
    out: dict[str, list] = {k: list(v) for k, v in batch.items()}
    before = batch.get("edits") or [[] for _ in range(n)]
    out["edits"], out["strength_applied"] = [], []
    for i in range(n):
        p = attack.perturb({k: v[i] for k, v in batch.items()}, target, strength, seed)
        for k in ("lang", "context", "question", "answers"):
            out[k][i] = p.example[k]
        out["edits"].append(list(before[i] or []) + [e.to_dict() for e in p.edits])
        out["strength_applied"].append(p.strength_applied)
    return out
