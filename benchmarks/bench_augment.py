"""Benchmark adversarial training: the same recipe, budget and seed trained without and with
`--augment keyboard:0.3,codemix:0.2`, both attacked on TyDi QA GoldP dev, then gated against each other.

Attacks are reported in two groups: *trained* (the families the copies were made with) and *held-out*
(char-noise, homoglyph, distractor: families training never saw), so a gain on the trained attacks is not
mistaken for robustness in general. Both models are evaluated by `xadv.runs.suite.run_suite` (what `xadv
attack` runs) under one model name, so the regress gate (`xadv.leaderboard.regress`, baseline = without,
current = with, per language) matches their cells; its verdict says whether augmentation made the model
*easier* to attack anywhere, beyond tolerance. Same budget: the augmented arm trains the plain arm's number of
target steps (`phases.target.max_steps`), so its copies replace some original windows in the batches rather
than adding compute.

    PYTHONPATH=. python benchmarks/bench_augment.py --n 300      # preset default, 2 CPU cores: per model ~40 min
                                                                 # training + ~25 min attacking (44 cells)
    PYTHONPATH=. python benchmarks/bench_augment.py --smoke      # smoke preset, en+sw, n=10: checks the script

Runs and records go to --runs (default runs/bench_augment/, git-ignored; training resumes, cells are reused).
Writes --out/summary.json and summary.md (default benchmarks/results/augment; with --smoke, runs/.../results).
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

TRAINED = ("keyboard", "codemix")
HELD_OUT = ("char-noise", "homoglyph", "distractor")
MODEL_NAME = "bench-augment"  # both models: the gate matches cells by name, the fingerprints differ
ARMS = ("plain", "augmented")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300,
                   help="questions per language (first N of TyDi dev, all where fewer: bn 113; default 300)")
    p.add_argument("--smoke", action="store_true", help="smoke preset, n=10: a quick check that the script works")
    p.add_argument("--preset", default=None, help="training preset (default: default; smoke with --smoke)")
    p.add_argument("--augment", default=",".join(f"{a}:{r}" for a, r in zip(TRAINED, (0.3, 0.2))))
    p.add_argument("--augment-strength", type=float, default=0.2)
    p.add_argument("--strength", type=float, default=0.2, help="attack strength of the evaluation")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--significance", type=float, default=0.05,
                   help="the gate's p-value threshold (as `xadv regress --significance`); 0 = tolerance only")
    p.add_argument("--langs", default=None, help="evaluation languages (default: the nine TyDi ones; smoke: en,sw)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="any training config override, as for `xadv train --set`")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--runs", default=None, help="default runs/bench_augment/<preset>-seed<seed>")
    p.add_argument("--out", default=None, help="default benchmarks/results/augment (smoke: under --runs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.smoke:
        args.preset = args.preset or "smoke"
        args.n = 10
        args.langs = args.langs or "en,sw"  # a CPU cell of 10 questions takes ~5 s: two languages keep it short
        # the smoke recipe straight from base to target: the point is the script, not the numbers
        args.sets = ["intermediate=[]", "phases.target.max_steps=12", *args.sets]
    args.preset = args.preset or "default"
    args.langs = args.langs or ",".join(TYDI_LANGS)
    args.runs = Path(args.runs or REPO / "runs" / "bench_augment" / f"{args.preset}-seed{args.seed}")
    args.out = Path(args.out or (args.runs / "results" if args.smoke else REPO / "benchmarks" / "results" / "augment"))
    return args


def train_arm(args: argparse.Namespace, arm: str, steps: int | None = None) -> dict:
    """Train one arm (resumes); the train-time evaluation is skipped, the suite below measures clean F1.
    `steps`: the target phase's step count, so the augmented arm trains exactly as many steps as the plain
    one (with an epochs-based preset its copies would otherwise add steps, and the comparison more compute)."""
    from xadv.train import load_config
    from xadv.train.pipeline import train

    overrides: dict = {"seed": args.seed}
    if arm == "augmented":
        overrides["augment"] = {"attacks": args.augment, "strength": args.augment_strength}
    budget = [f"phases.target.max_steps={steps}"] if steps else []
    config = load_config(args.preset, overrides=overrides, sets=[*args.sets, *budget, "eval.data=''"])
    out = args.runs / arm
    print(f"== {arm}: training into {out} (config {config.digest()[:12]})", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    card = train(config, out, data_dir=args.data_dir, progress=not args.quiet,
                 log=lambda m: print(f"   {m}", file=sys.stderr, flush=True)).card
    return {"checkpoint": str(out), "config_digest": config.digest(),
            "train_minutes": round(card["wall_seconds"] / 60, 2),
            "wall_minutes": round((time.perf_counter() - t0) / 60, 2),
            "steps": {p["name"]: p["steps"] for p in card["phases"]},
            "target_examples": next(t["examples"] for t in card["tasks"] if t["task"] == "target"),
            "augmentation": card["augmentation"]}


def attack_arm(args: argparse.Namespace, arm: str, checkpoint: str) -> Path:
    """Every attack of both groups on the first n TyDi dev questions per language; records into one folder."""
    from attacks.spec import AttackSpec
    from xadv.runs.suite import EvalSuite, ModelRef, run_suite

    # one folder per evaluation setting: the tables and the gate read whole folders, so a rerun with other
    # languages, n or strength must not pick up cells of an earlier one
    results = args.runs / f"results-{arm}-{args.langs.replace(',', '-')}-n{args.n}-s{args.strength:g}"
    suite = EvalSuite(models=(ModelRef(checkpoint, MODEL_NAME),), langs=tuple(args.langs.split(",")),
                      attacks=AttackSpec.parse_list([*TRAINED, *HELD_OUT]), strength=args.strength, n=args.n,
                      results=results, seeds=(0,))
    print(f"== {arm}: attacking ({len(suite.langs)} languages x {len(suite.attacks)} attacks, n={args.n})",
          file=sys.stderr, flush=True)
    run = run_suite(suite, data_dir=args.data_dir, progress=not args.quiet)
    skipped = [f"{o.lang}/{o.attack}: {o.reason}" for o in run.outcomes if o.status == "skipped"]
    for line in skipped:
        print(f"   skipped {line}", file=sys.stderr)
    return results


def cell_rows(results: Path) -> dict[tuple[str, str], dict]:
    """(lang, attack) -> the record's summary (every record checked by the leaderboard loader)."""
    from xadv.leaderboard.regress import current_cells, summary_of

    return {(c.slot["lang"], c.slot["attack"]): summary_of(c.right, c.flipped, c.adv_f1, c.clean_f1)
            for c in current_cells(results)}


def group_of(attack: str) -> str:
    return "trained" if attack in TRAINED else "held_out"


def per_language(cells: dict, flips: dict) -> dict:
    """Per arm, group and language: clean F1, adversarial F1, ASR (means over the group's cells) and the
    jointly-correct flip rate (pooled over the group's cells, from the gate's paired checks)."""
    out: dict = {}
    for arm in ARMS:
        for (lang, attack), s in sorted(cells[arm].items()):
            row = out.setdefault(arm, {}).setdefault(group_of(attack), {}).setdefault(
                lang, {"cells": 0, "clean_f1": 0.0, "adv_f1": 0.0, "asr": 0.0, "asr_cells": 0})
            row["cells"] += 1
            row["clean_f1"] += s["clean_f1"]
            row["adv_f1"] += s["adv_f1"]
            if s.get("asr") is not None:
                row["asr"] += s["asr"]
                row["asr_cells"] += 1
    for arm, groups in out.items():
        for group, langs in groups.items():
            for lang, row in langs.items():
                n, k = row.pop("cells"), row.pop("asr_cells")
                row.update(clean_f1=round(row["clean_f1"] / n, 2), adv_f1=round(row["adv_f1"] / n, 2),
                           asr=round(row["asr"] / k, 2) if k else None, attacks=n)
                f = flips.get((group, lang))
                row["flip_rate"] = round(f[arm] / f["joint"] * 100, 2) if f and f["joint"] else None
    return out


def pooled_flips(cell_checks: list[dict]) -> dict:
    """(group, lang) -> jointly-correct questions and flips per arm, summed over the group's cells."""
    out: dict = {}
    for c in cell_checks:
        if not c["joint"]:
            continue
        key = (group_of(c["attack"]), c["lang"])
        acc = out.setdefault(key, {"joint": 0, "plain": 0.0, "augmented": 0.0})
        acc["joint"] += c["joint"]
        acc["plain"] += c["joint"] * (c["base_flip"] or 0.0) / 100
        acc["augmented"] += c["joint"] * (c["cur_flip"] or 0.0) / 100
    return out


def run(args: argparse.Namespace) -> dict:
    from xadv.leaderboard.regress import current_cells, gate, run_gate, write_baseline
    from xadv.models.card import software

    models = {"plain": train_arm(args, "plain")}
    models["augmented"] = train_arm(args, "augmented", steps=models["plain"]["steps"]["target"])
    results = {arm: attack_arm(args, arm, models[arm]["checkpoint"]) for arm in ARMS}
    baseline = results["plain"].with_name(results["plain"].name.replace("results-", "baseline-") + ".json")
    write_baseline(current_cells(results["plain"]), baseline, source=str(results["plain"]))
    significance = args.significance or None
    # the CI verdict, exactly `xadv regress --baseline B --current DIR --per-lang --significance S`
    verdict = run_gate(baseline, results["augmented"], level="lang", significance=significance)
    base_cells, cur_cells = current_cells(results["plain"]), current_cells(results["augmented"])
    by_group = {group: gate([c for c in base_cells if group_of(c.slot["attack"]) == group],
                            [c for c in cur_cells if group_of(c.slot["attack"]) == group],
                            level="lang", significance=significance)
                for group in ("trained", "held_out")}
    by_cell = gate(base_cells, cur_cells, level="cell")
    cells = {arm: cell_rows(results[arm]) for arm in ARMS}
    table = per_language(cells, pooled_flips([c.to_dict() for c in by_cell.checks]))
    return {
        "benchmark": "bench_augment", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "preset": args.preset, "seed": args.seed, "augment": args.augment, "augment_strength": args.augment_strength,
        "eval": {"data": "tydiqa:<lang>:dev", "n_per_lang": args.n, "strength": args.strength, "seed": 0,
                 "trained_attacks": list(TRAINED), "held_out_attacks": list(HELD_OUT)},
        "models": models, "results_dirs": {arm: str(p) for arm, p in results.items()},
        "per_language": table, "macro": macro(table),
        "gate": {"baseline": "plain", "current": "augmented", "level": "lang", "passed": verdict.passed,
                 "regressed": [c.group for c in verdict.regressed], "missing": verdict.missing,
                 "improved": [c.group for c in verdict.improved],
                 "checks": [c.to_dict() for c in verdict.checks], "tolerances": verdict.tolerances,
                 "command": f"xadv regress --baseline {baseline.relative_to(args.runs)} --current "
                            f"{results['augmented'].relative_to(args.runs)} --per-lang"
                            + (f" --significance {significance:g}" if significance else ""),
                 "by_group": {group: {"passed": r.passed, "checks": [c.to_dict() for c in r.checks]}
                              for group, r in by_group.items()}},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or None},
        "software": software(),
    }


def macro(table: dict) -> dict:
    """Per arm and group: the mean over languages of each per-language number (None values left out)."""
    out: dict = {}
    for arm, groups in table.items():
        for group, langs in groups.items():
            agg = {}
            for key in ("clean_f1", "adv_f1", "asr", "flip_rate"):
                vals = [r[key] for r in langs.values() if r[key] is not None]
                agg[key] = round(sum(vals) / len(vals), 2) if vals else None
            out.setdefault(arm, {})[group] = agg
    return out


def markdown(report: dict) -> str:
    def num(x) -> str:
        return "-" if x is None else f"{x:.1f}"

    m = report["models"]
    lines = [f"# Adversarial training: `--augment {report['augment']}` vs none",
             "",
             f"Preset `{report['preset']}`, seed {report['seed']}, augmentation strength {report['augment_strength']}; "
             f"TyDi dev, first {report['eval']['n_per_lang']} questions per language (all, where fewer), "
             f"attack strength "
             f"{report['eval']['strength']}. Trained attacks: {', '.join(report['eval']['trained_attacks'])}; "
             f"held-out: {', '.join(report['eval']['held_out_attacks'])}.",
             "",
             "| model | train min | steps | target examples | adversarial copies |",
             "|---|---|---|---|---|"]
    for arm in ARMS:
        aug = m[arm]["augmentation"]
        lines.append(f"| {arm} | {m[arm]['train_minutes']:.1f} | {m[arm]['steps'].get('target')} | "
                     f"{m[arm]['target_examples']} | {aug['copies'] if aug else 0} |")
    for group in ("trained", "held_out"):
        lines += ["", f"## {group.replace('_', '-')} attacks (clean F1 / adv F1 / ASR / flip rate, plain → augmented)",
                  "", "| lang | clean F1 | adv F1 | ASR | flip rate |", "|---|---|---|---|---|"]
        langs = sorted(set(report["per_language"]["plain"].get(group, {}))
                       | set(report["per_language"]["augmented"].get(group, {})))
        for lang in [*langs, "macro"]:
            rows = [report["macro"][a].get(group, {}) if lang == "macro"
                    else report["per_language"][a].get(group, {}).get(lang, {}) for a in ARMS]
            lines.append(f"| {lang} | " + " | ".join(
                f"{num(rows[0].get(k))} → {num(rows[1].get(k))}" for k in ("clean_f1", "adv_f1", "asr", "flip_rate"))
                + " |")
    g = report["gate"]
    tol = g["tolerances"]
    lines += ["", f"## Gate (baseline plain, current augmented, per language): "
                  f"**{'passed' if g['passed'] else 'FAILED'}**", "",
              f"`{g['command']}` (in the runs folder). Tolerances ASR +{100 * tol['max_asr_increase']:.0f} pp, "
              f"adversarial F1 -{tol['max_f1_drop']:g}"
              + (f", a change counts only at paired-bootstrap p < {tol['significance']:g}" if tol["significance"]
                 else "") + "; *improved* = beyond the same tolerances the other way, nothing worse. "
              "The gate pools all five attacks (the verdict); the trained and held-out columns gate each group alone.",
              "", "| lang | all attacks (verdict) | trained | held-out |", "|---|---|---|---|"]

    def cell(check: dict | None) -> str:
        if check is None:
            return "-"
        why = check["reasons"] or check["improvements"] or check["notes"]
        word = {"within tolerance (not significant)": "ok, n.s."}.get(check["status"], check["status"])
        return f"**{word}**: " + ("; ".join(why) if why else
                                  f"ASR {check['asr_change']:+.1f} pp, adv F1 {-check['adv_f1_drop']:+.1f}")

    checks = {"all": {c["lang"]: c for c in g["checks"]},
              **{k: {c["lang"]: c for c in v["checks"]} for k, v in g.get("by_group", {}).items()}}
    for lang in sorted(checks["all"]):
        lines.append(f"| {lang} | " + " | ".join(cell(checks.get(k, {}).get(lang))
                                                 for k in ("all", "trained", "held_out")) + " |")
    if g["regressed"]:
        lines += ["", "Regressed: " + ", ".join(r["lang"] for r in g["regressed"])]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    args = parse_args(argv)
    report = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "summary.json", json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    atomic_write_text(args.out / "summary.md", markdown(report))
    print(markdown(report))
    print(f"written to {args.out}/summary.json and summary.md", file=sys.stderr)


if __name__ == "__main__":
    main()
