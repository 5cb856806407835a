"""`xadv attacks list` and `xadv perturb` (library: attacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import _typer, check_out, print_json, progress
from xadv.commands.options import DataDirOpt, JsonOpt, StrengthOpt, TargetOpt
from xadv.errors import XadvError

app = _typer("List the attacks: what each one perturbs, on which targets, in which languages.")

DataOpt = Annotated[str, typer.Option("--data", help="Dataset name (tydiqa:sw:dev) or SQuAD JSON path.")]
AttackOpt = Annotated[str, typer.Option("--attack", help="Attack name (see `xadv attacks list`); a+b composes.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output SQuAD JSON; the edit log goes to OUT.edits.jsonl.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (per example, order-independent; a whole number >= 0).")]
NOpt = Annotated[Optional[int], typer.Option("--n", min=1, help="Only the first N examples.")]


@app.command("list")
def attacks_list_command(json_out: JsonOpt = False) -> None:
    """Every attack with its description, targets, unit and languages (aliases in brackets)."""
    from attacks import list_attacks
    from attacks.registry import ALIASES

    infos = [a.describe() for a in list_attacks()]
    for info in infos:
        info["aliases"] = sorted(k for k, v in ALIASES.items() if v == info["name"])
    if json_out:
        print_json(infos)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="xadv attacks", show_lines=True)
    for col in ("attack", "what it does", "targets", "unit", "languages"):
        table.add_column(col, overflow="fold")
    for info in infos:
        name = info["name"] + (f" [{', '.join(info['aliases'])}]" if info["aliases"] else "")
        table.add_row(name, info["description"], ", ".join(info["targets"]), info["unit"],
                      " ".join(info["languages"]))
    Console().print(table)
    typer.echo("Compose with '+', e.g. --attack keyboard+word-swap. Seeded: the same seed gives the same output.")


def perturb_command(
    data: DataOpt,
    attack: AttackOpt,
    out: OutOpt,
    target: TargetOpt = "question",
    strength: StrengthOpt = 0.2,
    seed: SeedOpt = 0,
    n: NOpt = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Perturb a dataset with an attack (no model needed): same ids, answers still findable.

    Example: xadv perturb --data tydiqa:sw:dev --attack typo --target question --seed 0 --out sw-typo.json
    """
    from attacks import get_attack
    from attacks.run import edit_log_path, iter_perturbed, write_perturbed
    from xadv.data import load_qa
    from xadv.paths import data_dir as resolve_data_dir

    if target not in ("question", "context", "both"):
        raise XadvError(f"unknown target {target!r} (question, context or both)")
    if seed < 0:
        raise XadvError(f"a seed must be a whole number >= 0, got {seed}")
    check_out(out)
    check_out(edit_log_path(out))
    ds = load_qa(data, data_dir)
    if n is not None:
        ds = ds.select(range(min(n, len(ds))))
    params = {}
    if "codemix" in attack:
        params["data_dir"] = str(resolve_data_dir(data_dir))
    atk = get_attack(attack, **params)
    for lang in sorted(set(ds["lang"])):  # refuse up front, not after half the file
        atk.check(lang, target, strength)
    results = list(progress(iter_perturbed(ds, atk, target, strength, seed), len(ds),
                            f"perturbing {attack}", quiet=json_out))
    json_path, log_path = write_perturbed(results, out)
    applied = sum(r.strength_applied for r in results) / max(len(results), 1)
    summary = {"out": str(json_path), "edit_log": str(log_path), "n": len(results), "attack": attack,
               "target": target, "strength_requested": strength, "strength_applied_mean": round(applied, 4),
               "seed": seed, "edits": sum(len(r.edits) for r in results)}
    if json_out:
        print_json(summary)
    else:
        typer.echo(f"wrote {summary['n']} examples to {json_path} ({summary['edits']} edits, "
                   f"mean strength applied {applied:.3f} of {strength}); edit log: {log_path}")
