"""`xadv attacks list`, `xadv attacks validate` and `xadv perturb` (library: attacks, xadv.runs.validate)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import _typer, check_out, print_json, progress
from xadv.commands.options import DataDirOpt, JsonOpt, StrengthOpt, TargetOpt, out_file
from xadv.errors import XadvError

app = _typer("List the attacks: what each one perturbs, on which targets, in which languages.")

DataOpt = Annotated[str, typer.Option("--data", help="Dataset name (tydiqa:sw:dev) or SQuAD JSON path.")]
AttackOpt = Annotated[str, typer.Option("--attack", help="Attack name (see `xadv attacks list`); a+b composes.")]
OutOpt = Annotated[Path, typer.Option("--out", parser=out_file,
                                      help="Output SQuAD JSON; the edit log goes beside it (x.json -> x.edits.jsonl).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (per example, order-independent; a whole number >= 0).")]
NOpt = Annotated[Optional[int], typer.Option("--n", min=1, help="Only the first N examples of each language.")]


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


@app.command("validate")
def attacks_validate_command(
    data: DataOpt,
    attack: Annotated[str, typer.Option("--attack", help="Attacks, comma-separated (a+b composes), or 'all'.")] = "all",
    target: Annotated[str, typer.Option("--target", help="question, context, both, or all (each target an attack serves).")] = "all",
    n: Annotated[Optional[int], typer.Option("--n", min=1, help="The first N examples of each language.")] = None,
    strength: StrengthOpt = 0.2,
    seed: SeedOpt = 0,
    threshold: Annotated[float, typer.Option("--threshold", help="Similarity below which a perturbed question counts as drifted (0, 1].")] = 0.85,
    no_similarity: Annotated[bool, typer.Option("--no-similarity", help="Skip the similarity measure (no encoder is loaded).")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE", show_default=False, parser=out_file, help="Also write the table to FILE: .md (a readable table) or .json (every figure), with the command and settings.")] = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Measure attack validity on a data sample: changed share, edit size, question similarity (me5-small), foreign-script letters, language ID kept, answer sentence untouched, gold answers in inserted sentences.

    Perturbs exactly as `xadv attack` does (same seed and strength); no QA model is run.

    Example: xadv attacks validate --data tydiqa:sw:dev --attack keyboard,codemix --target question --n 100
    """
    from xadv.models.similarity import check_threshold
    from xadv.runs.validate import TARGETS

    if target not in (*TARGETS, "all"):
        raise XadvError(f"unknown target {target!r} (question, context, both or all)")
    if seed < 0:
        raise XadvError(f"a seed must be a whole number >= 0, got {seed}")
    threshold = check_threshold(threshold, "--threshold") or 0.85
    if out is not None and out.suffix not in (".md", ".json"):
        raise XadvError(f"--out must end in .md or .json: {out}")
    check_out(out)
    doc, cells = _validate(data, attack, target, n, strength, seed, threshold, not no_similarity, data_dir)
    if out is not None:
        import json

        from xadv.io import atomic_write_text
        from xadv.runs.validate import validity_markdown

        atomic_write_text(out, validity_markdown(doc) if out.suffix == ".md"
                          else json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    if json_out:
        print_json(doc)
        return
    _print_validity(cells, threshold)


def _validate(data, attack, target, n, strength, seed, threshold, similarity, data_dir):
    """(the JSON document, the cells) of one `xadv attacks validate` run."""
    import shlex

    from attacks import list_attacks
    from attacks.spec import AttackSpec
    from xadv.data import load_qa
    from xadv.models.similarity import ENCODER_ID
    from xadv.paths import data_dir as resolve_data_dir
    from xadv.qa.evaluation import first_n_per_language
    from xadv.runs.validate import validate_attacks

    specs = (tuple(AttackSpec.parse(a.name) for a in list_attacks()) if attack.strip() == "all"
             else AttackSpec.parse_list(attack))
    params = {"data_dir": str(resolve_data_dir(data_dir))}
    for spec in specs:  # unknown names are one line before any data is read
        spec.build(spec.params_for(params))
    rows = [dict(r) for r in first_n_per_language(list(load_qa(data, data_dir)), n)]
    encoder = None
    if similarity:
        from xadv.models.similarity import shared_encoder

        encoder = shared_encoder()
    cells = validate_attacks(rows, specs, target, strength=strength, seed=seed, params=params, encoder=encoder,
                             encoder_id=ENCODER_ID if encoder else "", threshold=threshold)
    if not cells:
        raise XadvError(f"no attack of {attack!r} serves the languages of {data} with target {target!r}")
    command = shlex.join(["xadv", "attacks", "validate", "--data", data, "--attack", attack, "--target", target,
                          *(["--n", str(n)] if n is not None else []), "--strength", f"{strength:g}",
                          "--seed", str(seed), *(["--threshold", f"{threshold:g}"] if encoder else ["--no-similarity"])])
    doc = {"command": command, "data": data, "n_per_language": n, "strength": strength, "seed": seed,
           "target": target, "similarity": {"encoder": ENCODER_ID, "threshold": threshold} if encoder else None,
           "cells": [c.to_dict() for c in cells]}
    return doc, cells


@app.command("audit")
def attacks_audit_command(
    lang: Annotated[Optional[str], typer.Option("--lang", help="TyDi language: the sheet draws from tydiqa:LANG:dev (or give --data).")] = None,
    attack: Annotated[Optional[str], typer.Option("--attack", help="Attacks, comma-separated, or 'all' (those serving the language).")] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Changed pairs per attack.")] = 50,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE", show_default=False, parser=out_file, help="The sheet: .csv (to fill in) or .html (to read).")] = None,
    score: Annotated[Optional[Path], typer.Option("--score", metavar="SHEET", show_default=False, help="Score a filled .csv sheet instead: valid share (same meaning and same answer) with a 95% Wilson interval.")] = None,
    data: Annotated[Optional[str], typer.Option("--data", help="Dataset name or SQuAD JSON (default: tydiqa:LANG:dev).")] = None,
    target: Annotated[str, typer.Option("--target", help="question, context, both, or auto (the question where the attack edits it, else the context).")] = "auto",
    strength: StrengthOpt = 0.2,
    seed: SeedOpt = 0,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a seeded, stratified sheet of before/after pairs for people to judge, or score a filled one.

    Example: xadv attacks audit --lang en --attack keyboard,distractor --n 50 --out en-audit.csv

    Then fill in same_meaning, same_answer, fluent (y/n) and annotator, and: xadv attacks audit --score en-audit.csv
    """
    from attacks.audit import read_sheet, score_sheet

    if score is not None:
        if out is not None and out.suffix != ".json":
            raise XadvError(f"with --score, --out writes the scores as .json: {out}")
        check_out(out)
        scores = score_sheet(read_sheet(score), str(score))
        doc = {"sheet": str(score), "scores": [s.to_dict() for s in scores]}
        if out is not None:
            import json

            from xadv.io import atomic_write_text

            atomic_write_text(out, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        if json_out:
            print_json(doc)
            return
        _print_audit(scores)
        return
    _write_audit_sheet(lang, attack, n, out, data, target, strength, seed, data_dir, json_out)


def _write_audit_sheet(lang, attack, n, out, data, target, strength, seed, data_dir, json_out) -> None:
    from attacks import list_attacks
    from attacks.audit import audit_sheet, write_sheet
    from attacks.spec import AttackSpec
    from xadv.data import load_qa
    from xadv.paths import data_dir as resolve_data_dir
    from xadv.types import Target

    if out is None:
        raise XadvError("give --out SHEET.csv (or .html) for a new sheet, or --score SHEET.csv to score one")
    if out.suffix not in (".csv", ".html"):
        raise XadvError(f"an audit sheet must end in .csv (to fill in) or .html (to read): {out}")
    if not lang and not data:
        raise XadvError("give --lang L (or --data NAME)")
    if seed < 0:
        raise XadvError(f"a seed must be a whole number >= 0, got {seed}")
    wanted = Target.parse(target)
    check_out(out)
    params = {"data_dir": str(resolve_data_dir(data_dir))}
    names = [a.name for a in list_attacks()] if (attack or "all").strip() == "all" else None
    specs = AttackSpec.parse_list(",".join(names) if names else attack)
    ds = load_qa(data or f"tydiqa:{lang}:dev", data_dir)
    rows = [dict(r) for r in ds if not lang or r["lang"] == lang]
    if not rows:
        raise XadvError(f"no {lang} examples in {data}")
    langs = sorted({r["lang"] for r in rows})
    pairs = []
    for spec in specs:
        atk = spec.build(spec.params_for(params))
        why = next((w for w in map(atk.refusal, langs) if w), None)
        if why:
            if names:
                continue  # 'all': the attacks that serve the language
            raise XadvError(why)
        pairs.append((atk, wanted.resolve(tuple(atk.targets))))
    items, unchanged = audit_sheet(rows, pairs, n=n, strength=strength, seed=seed)
    if not items:
        raise XadvError("no attack changed any example: nothing to audit")
    write_sheet(items, out, header_note=f"xadv audit sheet: {len(items)} pairs, seed {seed}, strength {strength}")
    per = {}
    for it in items:
        per[it.attack] = per.get(it.attack, 0) + 1
    summary = {"out": str(out), "pairs": len(items), "per_attack": per, "unchanged": unchanged}
    if json_out:
        print_json(summary)
    else:
        typer.echo(f"wrote {len(items)} pairs ({', '.join(f'{k} {v}' for k, v in per.items())}) to {out}; fill in "
                   f"same_meaning, same_answer, fluent (y/n) and annotator, then: xadv attacks audit --score {out}")


def _print_audit(scores) -> None:
    from rich.table import Table

    from xadv.commands.common import fmt_share, stdout_console

    table = Table(title="human validity (valid = same meaning and same answer; 95% Wilson interval)")
    for col in ("attack", "lang", "target", "judged", "valid", "valid share [95% CI]", "same meaning",
                "same answer", "fluent", "annotators"):
        table.add_column(col)
    for s in scores:
        ci = f" [{100 * s.ci[0]:.1f}, {100 * s.ci[1]:.1f}]" if s.ci else ""
        table.add_row(s.attack, s.lang, s.target, f"{s.judged}/{s.n}", str(s.valid), fmt_share(s.valid_share) + ci,
                      fmt_share(s.same_meaning), fmt_share(s.same_answer), fmt_share(s.fluent),
                      ", ".join(s.annotators) or "-")
    stdout_console().print(table)


def _print_validity(cells, threshold: float) -> None:
    from rich.table import Table

    from xadv.commands.common import fmt_share, stdout_console
    from xadv.runs.validate import validity_headers, validity_row

    table = Table(title="attack validity (model-free; similarity: me5-small cosine of the questions)")
    for col in validity_headers(threshold):
        table.add_column(col, justify="left" if col in ("attack", "lang", "target") else "right")
    for c in cells:
        table.add_row(*validity_row(c.to_dict(), fmt_share))
    stdout_console().print(table)


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
    from attacks.dataset import resolve_static, row_langs
    from attacks.run import edit_log_path, iter_perturbed, write_perturbed
    from xadv.data import load_qa
    from xadv.qa.evaluation import first_n_indices

    if target not in ("question", "context", "both"):
        raise XadvError(f"unknown target {target!r} (question, context or both)")
    if seed < 0:
        raise XadvError(f"a seed must be a whole number >= 0, got {seed}")
    check_out(out)
    check_out(edit_log_path(out))
    ds = load_qa(data, data_dir)
    if n is not None:  # per language, as everywhere else (eval, attack, augment, xadv.load_data)
        ds = ds.select(first_n_indices(ds["lang"], n))
    # the one attack grammar (codemix:partner=sw), refused up front per (context, question) language
    atk, target = resolve_static(attack, target, strength, row_langs(ds), data_dir)
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


def augment_command(
    data: DataOpt,
    attack: AttackOpt,
    out: OutOpt,
    copies: Annotated[int, typer.Option("--copies", help="Perturbed copies per example (seeds SEED..SEED+K-1).")] = 1,
    target: TargetOpt = "question",
    strength: StrengthOpt = 0.2,
    seed: SeedOpt = 0,
    n: Annotated[Optional[int], typer.Option("--n", min=1, help="Only the first N examples of each language.")] = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Augment a dataset for training: every example plus K perturbed copies, as one SQuAD JSON file.

    A copy made with seed k has the id ID#ATTACK#k and is exactly what `xadv perturb --seed k` writes for that example; answers are remapped. The edit log (one line per copy) goes to OUT.edits.jsonl.

    Example: xadv augment --data tydiqa:sw:dev --attack keyboard --copies 3 --out sw-aug.json
    """
    from attacks.augment import check_copies
    from attacks.run import edit_log_path
    from xadv.api import augment

    check_copies(copies)  # one line, before the data is read
    check_out(out)
    check_out(edit_log_path(out))
    done = augment(data, attack, out, copies=copies, target=target, strength=strength, seed=seed, n=n,
                   data_dir=data_dir)
    if json_out:
        print_json(done.to_dict())
        return
    typer.echo(f"wrote {done.originals} examples + {done.copies} {done.attack} copies ({done.changed} changed) to "
               f"{done.out}; edit log: {done.edit_log}")
