"""Benchmark the data mixes: train en, multi and mixed models with the same budget and seed, then record
clean TyDi QA GoldP dev F1/EM per language for each (the research question of xadv.train).

Every mix trains the same intermediate tasks for the same number of steps on the same number of examples
per task (only their languages differ), then the same target fine-tuning on English TyDi train. Languages
whose TyDi QA train data a mix used (ko, sw under multi/mixed with the qa task) are NOT zero-shot for that
model: the table marks them with *, and `zero_shot_macro_f1` averages only the zero-shot languages the
three models share.

    PYTHONPATH=. python benchmarks/bench_train.py                    # cpu preset: about 1 h per mix on 2 cores
    PYTHONPATH=. python benchmarks/bench_train.py --preset gpu       # the XTREME recipe, on a GPU
    PYTHONPATH=. python benchmarks/bench_train.py --intermediate xnli,pawsx   # unaligned tasks only
    # a quick check that the script works (tiny budget, a few questions per language):
    PYTHONPATH=. python benchmarks/bench_train.py --preset smoke --n-per-lang 5 --results /tmp/b.json

Runs are kept in --runs (default runs/bench_train/<preset>-<mix>-seed<seed>) and resume when interrupted.
Writes --results (default benchmarks/results/bench_train.json) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xadv.io import atomic_write_text  # noqa: E402
from xadv.langs import TYDI_LANGS  # noqa: E402

MIXES = ("en", "multi", "mixed")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="cpu", help="training preset (default: cpu)")
    p.add_argument("--mixes", default=",".join(MIXES), help="comma-separated mixes (default: en,multi,mixed)")
    p.add_argument("--intermediate", default=None, help="intermediate tasks, e.g. qa or xnli,pawsx (default: preset's)")
    p.add_argument("--en-share", type=float, default=0.5, help="English share of the mixed mix (default 0.5)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--base", default=None, help="base checkpoint (default: the preset's, me5-small)")
    p.add_argument("--n-per-lang", type=int, default=0, help="evaluate only the first N questions per language")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="any config override, as for `xadv train --set`")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--runs", default=str(REPO / "runs" / "bench_train"),
                   help="where the trained models go (default runs/bench_train/, git-ignored)")
    p.add_argument("--results", default=str(REPO / "benchmarks" / "results" / "bench_train.json"))
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    from xadv.models.card import software
    from xadv.train import load_config
    from xadv.train.pipeline import train

    mixes = [m.strip() for m in args.mixes.split(",") if m.strip()]
    overrides: dict = {"seed": args.seed, "en_share": args.en_share}
    if args.base:
        overrides["base"] = args.base
    if args.intermediate is not None:
        overrides["intermediate"] = [t for t in args.intermediate.split(",") if t and t != "none"]
    sets = [*args.sets, *([f"eval.n_per_lang={args.n_per_lang}"] if args.n_per_lang else [])]
    results: dict = {}
    for mix in mixes:
        config = load_config(args.preset, overrides={**overrides, "mix": mix}, sets=sets)
        out = Path(args.runs) / f"{args.preset}-{mix}-seed{args.seed}"
        t0 = time.perf_counter()
        print(f"== {mix}: training into {out}", file=sys.stderr, flush=True)
        result = train(config, out, data_dir=args.data_dir, progress=not args.quiet,
                       log=lambda m: print(f"   {m}", file=sys.stderr, flush=True))
        card = result.card
        ev = card["evaluation"]
        results[mix] = {
            "checkpoint": str(out), "config_digest": config.digest(),
            "train_seconds": card["wall_seconds"], "wall_seconds": round(time.perf_counter() - t0, 1),
            "steps": {p["name"]: p["steps"] for p in card["phases"]},
            "examples": {f"{t['phase']}:{t['task']}": t["examples_per_language"] for t in card["tasks"]},
            "seen_qa_languages": card["seen_languages"]["eval_qa"],
            "languages": ev["languages"], "macro": ev["macro"], "overall": ev["overall"],
            "eval_fingerprint": ev["fingerprint"],
        }
    _check_same_budget(results)
    shared_zero_shot = [lang for lang in TYDI_LANGS
                        if all(lang not in r["seen_qa_languages"] for r in results.values())]
    for r in results.values():
        zs = [r["languages"][lang]["f1"] for lang in shared_zero_shot if lang in r["languages"]]
        r["shared_zero_shot_macro_f1"] = round(sum(zs) / len(zs), 2) if zs else None
    first = load_config(args.preset, overrides={**overrides, "mix": mixes[0]}, sets=sets)
    return {
        "benchmark": "bench_train", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "preset": args.preset, "seed": args.seed, "en_share": args.en_share,
        "intermediate": first.intermediate, "base": first.base, "budget": first.to_dict()["budget"],
        "phases": first.to_dict()["phases"], "eval": {"data": first.eval.data, "n_per_lang": args.n_per_lang or None},
        "shared_zero_shot_languages": shared_zero_shot,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or None,
                    "cpus": _cpus()}, "software": software(), "mixes": results,
    }


def _cpus() -> int | None:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _check_same_budget(results: dict) -> None:
    """The comparison is only fair if every mix trained the same steps on the same number of examples."""
    steps = {json.dumps(r["steps"], sort_keys=True) for r in results.values()}
    sizes = {json.dumps({k: sum(v.values()) for k, v in r["examples"].items()}, sort_keys=True)
             for r in results.values()}
    if len(steps) > 1 or len(sizes) > 1:
        print(f"warning: the mixes did not train on the same budget (steps {steps}, examples {sizes})",
              file=sys.stderr)


def print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    mixes = list(report["mixes"])
    table = Table(title=f"clean TyDi dev F1 / EM per mix  ·  preset {report['preset']}  ·  seed {report['seed']}  ·  "
                        f"intermediate {','.join(report['intermediate']) or 'none'}  (* = QA data seen in training)",
                  title_justify="left")
    table.add_column("lang")
    for mix in mixes:
        table.add_column(mix, justify="right")
    langs = list(next(iter(report["mixes"].values()))["languages"])
    for lang in langs:
        cells = []
        for mix in mixes:
            row = report["mixes"][mix]["languages"][lang]
            cells.append(f"{row['f1']:.1f} / {row['exact_match']:.1f}{'' if row['zero_shot'] else ' *'}")
        table.add_row(lang, *cells)
    table.add_section()
    macros = [report["mixes"][m]["macro"] for m in mixes]
    table.add_row("macro", *[f"{x['f1']:.1f} / {x['exact_match']:.1f}" if x else "-" for x in macros])
    table.add_row("zero-shot (shared)", *[str(report["mixes"][m]["shared_zero_shot_macro_f1"]) for m in mixes])
    Console().print(table)


def main(argv=None) -> None:
    args = parse_args(argv)
    report = run(args)
    out = Path(args.results)
    atomic_write_text(out, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print_table(report)
    print(f"results written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
