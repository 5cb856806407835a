"""The v2 pilot (benchmarks/experiment-v2.md, section 4): measure, apply the registered rules, record.

Run alone on the CPU, in parts (each resumes: finished trainings are reused, results merge into one file):

    python benchmarks/experiment_v2_pilot.py --part learnability  # 4a: XNLI-en / PAWS-X-en at I and 2I, QA-en
    python benchmarks/experiment_v2_pilot.py --part budget        # 4c: B0 seed 13 at T = 237 and 474
    python benchmarks/experiment_v2_pilot.py --part seeds         # 4b: B0 seeds 13-15 on the evaluation sample

Models go to runs/experiment/v2-pilot/ (the B0 runs of the chosen T to runs/experiment/v2/, where the main
grid reuses them: same config, same digest); results to benchmarks/results/experiment/v2/pilot.json.
On the 2-core AVX2 CPU (fp32): learnability about 40 min, budget about 65 min, seeds about 2 hours.
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

import xadv  # noqa: E402
from xadv.experiments.pilot import T_FULL, T_HALF, diverged, keep_task, seed_noise, target_steps  # noqa: E402
from xadv.experiments.runner import eval_rows, train_cell  # noqa: E402
from xadv.experiments.sample import evaluation_sample  # noqa: E402
from xadv.experiments.spec import GridCell, plan_grid, train_config  # noqa: E402
from xadv.experiments.store import read_json  # noqa: E402
from xadv.io import atomic_write_text  # noqa: E402
from xadv.models.card import read_card  # noqa: E402
from xadv.train.data import load_task  # noqa: E402
from xadv.train.heldout import pair_accuracy  # noqa: E402

CONFIG = REPO / "benchmarks" / "experiment-v2.toml"
ZERO_SHOT = ("ar", "bn", "fi", "id", "ko", "ru", "sw", "te")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _train(config, out: Path, data_dir: Path) -> dict:
    """Train (or reuse, or resume) one model; its card (whose `wall_seconds` are the training seconds summed
    over the parts it was trained in, not this invocation's share)."""
    card, _ = train_cell(config, out, data_dir=data_dir, quiet=True, log=_log)
    return card


def _macro(model_dir: Path, rows: list[dict]) -> tuple[float, dict]:
    report = xadv.evaluate(str(model_dir), rows, cache=False).to_dict()
    f1 = {lang: v["f1"] for lang, v in report["languages"].items()}
    return round(sum(f1[lang] for lang in ZERO_SHOT) / len(ZERO_SHOT), 2), f1


def _held_out_en(task: str, config, data_dir: Path) -> list[dict]:
    """The English rows of the task's held-out items: never trained by any arm or seed (plan, section 4a)."""
    return [r for r in load_task(task, config.sources[task], mix="en", en_share=0.5, max_examples=0, seed=13,
                                 data_dir=data_dir, content_matched=True, holdout=config.holdout).held_out
            if r["lang"] == "en"]


def learnability(settings, budget, data_dir: Path, runs: Path) -> dict:
    inter = train_config(GridCell("en", "qa", 13, ("qa",)), settings, budget).intermediate_phase
    steps_i = inter.max_steps
    out: dict = {"I": steps_i, "tasks": {}}
    for name, task in (("nli", "xnli"), ("paraphrase", "pawsx")):
        for steps in (steps_i, 2 * steps_i):
            config = train_config(GridCell("en", name, 13, (task,)), settings, budget,
                                  extra_sets=[f"phases.intermediate.max_steps={steps}", "phases.target.max_steps=1"])
            model = runs / f"learn-{task}-{steps}"
            secs = float(_train(config, model, data_dir)["wall_seconds"])
            held = _held_out_en(task, config, data_dir)
            result = pair_accuracy(model / "phases" / "intermediate", task, held,
                                   pooling=config.intermediate_phase.pair_pooling,
                                   max_seq_length=config.intermediate_phase.max_seq_length)
            out["tasks"].setdefault(task, {})[str(steps)] = {**result, "train_seconds": secs}
            _log(f"{task} {steps} steps: held-out accuracy {result['accuracy']} (chance {result['chance']})")
        at_2i = out["tasks"][task][str(2 * steps_i)]
        out["tasks"][task]["keep"] = keep_task(at_2i["accuracy"], at_2i["chance"])
    config = train_config(GridCell("en", "qa", 13, ("qa",)), settings, budget,
                          extra_sets=["phases.target.max_steps=1"])
    model = runs / f"learn-qa-{steps_i}"
    secs = float(_train(config, model, data_dir)["wall_seconds"])
    held = _held_out_en("qa", config, data_dir)
    report = xadv.evaluate(str(model / "phases" / "intermediate"), held, cache=False).to_dict()
    out["tasks"]["qa"] = {"n": len(held), "f1": report["overall"]["f1"], "em": report["overall"]["exact_match"],
                          "train_seconds": secs}
    return out


def budget_rule(settings, budget, data_dir: Path, runs: Path, main_runs: Path) -> dict:
    dev = eval_rows(data_dir, 0)
    sample = evaluation_sample(dev)
    tuning = [r for r in dev if r["id"] in sample.tuning_ids()]
    out: dict = {"questions": len(tuning), "macro_f1": {}, "per_language": {}, "train_seconds": {}}
    for steps in (474, 237):
        config, model = _b0(13, steps, settings, budget, runs, main_runs)
        out["train_seconds"][str(steps)] = float(_train(config, model, data_dir)["wall_seconds"])
        macro, per = _macro(model, tuning)
        out["macro_f1"][str(steps)], out["per_language"][str(steps)] = macro, per
        _log(f"B0 T={steps}: macro zero-shot F1 on the tuning questions {macro}")
    out["T"] = target_steps({int(k): v for k, v in out["macro_f1"].items()})  # by F1; amendment 5 adds stability
    return out


def _b0(seed: int, steps: int, settings, budget, runs: Path, main_runs: Path):
    """B0's config at T = `steps` and its directory: the main grid's cell when it is the grid's config (the
    grid reuses it), else a pilot directory."""
    config = train_config(GridCell(None, None, seed), settings, budget,
                          extra_sets=[f"phases.target.max_steps={steps}"])
    grid_b0 = train_config(GridCell(None, None, seed), settings, budget)
    return config, (main_runs / f"baseline-s{seed}" if config.digest() == grid_b0.digest()
                    else runs / f"baseline-t{steps}-s{seed}")


def seeds_rule(settings, budget, data_dir: Path, runs: Path, main_runs: Path, steps: int) -> dict:
    """4b at T = `steps`: B0 seeds 13-15 on the evaluation sample; a seed whose training diverged
    (amendment 5) is reported and stood in for by seed + 10."""
    rows = eval_rows(data_dir, 0, "registered")
    out: dict = {"T": steps, "questions": len(rows), "macro_f1": {}, "diverged": {}, "train_seconds": {},
                 "replaced": {}}
    for seed in (13, 14, 15):
        for s in (seed, seed + 10):
            config, model = _b0(s, steps, settings, budget, runs, main_runs)
            card = _train(config, model, data_dir)
            out["train_seconds"][str(s)], out["diverged"][str(s)] = float(card["wall_seconds"]), diverged(card)
            out["macro_f1"][str(s)], _ = _macro(model, rows)
            _log(f"B0 T={steps} seed {s}: macro zero-shot clean F1 {out['macro_f1'][str(s)]}"
                 + (" (diverged)" if out["diverged"][str(s)] else ""))
            if not out["diverged"][str(s)]:
                break
            if s == seed:
                out["replaced"][str(seed)] = seed + 10
    counted = {int(k): v for k, v in out["macro_f1"].items() if not out["diverged"][k]}
    try:
        out["qa_arm_seeds"] = seed_noise(counted, {})
    except ValueError as exc:  # hours of training are still recorded; the rule's failure is named, not raised
        out["qa_arm_seeds"], out["undecided"] = None, f"rule 4b: {exc} ({len(counted)} trained without diverging)"
    return out


def _legacy_seeds(record: dict, runs: Path, main_runs: Path) -> None:
    """pilot.json before amendment 5 kept one `seeds` entry (T = 237, without divergence flags): file it under
    `seeds-T237` and read each seed's divergence from its card, as the seeds part now records it."""
    old = record.pop("seeds", None)
    if not old:
        return
    t = old["T"]
    flags = {}
    for seed in old["macro_f1"]:
        card = next(filter(None, (read_card(d) for d in (runs / f"baseline-t{t}-s{seed}",
                                                          main_runs / f"baseline-s{seed}"))), None)
        flags[seed] = diverged(card) if card else None
    record[f"seeds-T{t}"] = {**old, "diverged": flags,
                             "note": "recorded before amendment 5 under `seeds`; divergence read from the cards"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("learnability", "budget", "seeds"), required=True)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--runs", default=str(REPO / "runs" / "experiment" / "v2-pilot"))
    ap.add_argument("--main-runs", default=str(REPO / "runs" / "experiment" / "v2"))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "experiment" / "v2" / "pilot.json"))
    ap.add_argument("--base", default=None, help="another base checkpoint (smoke runs only)")
    ap.add_argument("--set", action="append", default=[], help="a training override (smoke runs only)")
    ap.add_argument("--t", type=int, choices=(T_HALF, T_FULL), default=None,
                    help="seeds part: this T instead of the one rule 4c (amendment 5) picks")
    args = ap.parse_args()
    settings, budget, _ = plan_grid(CONFIG, "v2")
    if args.base:  # a smoke run on a tiny checkpoint (the registered pilot uses the TOML's base)
        budget.base = args.base
    budget.sets = [*budget.sets, *args.set]
    data_dir, runs, main_runs, out = Path(args.data_dir), Path(args.runs), Path(args.main_runs), Path(args.out)
    record = read_json(out, {})
    t0 = time.perf_counter()
    if args.part == "learnability":
        result = learnability(settings, budget, data_dir, runs)
    elif args.part == "budget":
        result = budget_rule(settings, budget, data_dir, runs, main_runs)
    else:
        if "budget" not in record:
            raise SystemExit("run --part budget first: the seed-noise runs use the target budget it picks")
        _legacy_seeds(record, runs, main_runs)
        atomic_write_text(out, json.dumps(record, indent=1, ensure_ascii=False) + "\n")  # the migration, at once
        half = record.get(f"seeds-T{T_HALF}", {}).get("diverged", {})
        steps = args.t or target_steps({int(k): v for k, v in record["budget"]["macro_f1"].items()},
                                       [bool(v) for v in half.values()])
        result = seeds_rule(settings, budget, data_dir, runs, main_runs, steps)
    key = f"seeds-T{result['T']}" if args.part == "seeds" else args.part
    record[key] = {**result, "command": " ".join(["python", *sys.argv]),
                         "machine": f"{platform.machine()} {platform.processor()}".strip(),
                         "wall_seconds": round(time.perf_counter() - t0, 1)}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    _log(f"-> {out}")
    if result.get("undecided"):
        _log(f"error: {result['undecided']}: the plan's rule cannot pick the seeds; the measurements are recorded")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
