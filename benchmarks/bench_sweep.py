"""Wall time of one 16-cell suite through `xadv sweep`: 1 local worker, 2 local workers, Ray with 2 workers.

The suite: the default model, sw and fi, keyboard / char-noise / homoglyph / distractor, seeds 0 and 1, the
first N TyDi dev questions per language (default 100): 16 cells in 2 tasks (one per language). Every run is a
fresh `xadv sweep` process with an empty results directory and an empty prediction cache, so each computes
all 16 cells; the records of all runs are compared (per-example outcomes must be equal).

    PYTHONPATH=. python benchmarks/bench_sweep.py            # writes benchmarks/results/bench_sweep.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xadv.io import atomic_write_text  # noqa: E402
from xadv.runs.store import ResultsStore  # noqa: E402

SUITE = """models = ["default"]
langs = ["sw", "fi"]
attacks = ["keyboard", "char-noise", "homoglyph", "distractor"]
seeds = [0, 1]
n = {n}
"""
RUNS = {"local x1": ["--workers", "1"], "local x2": ["--workers", "2"], "ray x2": ["--engine", "ray", "--workers", "2"]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--data-dir", default=os.environ.get("XADV_DATA_DIR") or str(REPO.parent / "shared" / "data"))
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "bench_sweep.json"))
    args = p.parse_args(argv)
    rows, outcomes = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.toml"
        suite.write_text(SUITE.format(n=args.n), encoding="utf-8")
        for name, extra in RUNS.items():
            results, cache = Path(tmp) / f"r-{name.replace(' ', '')}", Path(tmp) / f"c-{name.replace(' ', '')}"
            env = {**os.environ, "XADV_CACHE_DIR": str(cache), "XADV_DATA_DIR": args.data_dir,
                   "PYTHONPATH": str(REPO)}
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, str(REPO / "cli.py"), "sweep", str(suite), "--results",
                                   str(results), "--json", *extra], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if done.returncode != 0:
                sys.exit(f"{name}: exit {done.returncode}: {done.stderr[-2000:]}")
            report = json.loads(done.stdout)
            outcomes[name] = {rec["cell"]["key"]: rec["examples"] for _, rec in ResultsStore(results).records()}
            rows.append({"run": name, "args": extra, "wall_s": round(wall, 1), "sweep_s": report["seconds"],
                         "computed": report["computed"], "tasks": report["tasks"]})
            print(f"{name}: {wall:.1f} s wall ({report['seconds']:.1f} s in the sweep), {report['computed']} cells",
                  flush=True)
    base = rows[0]["wall_s"]
    for r in rows:
        r["speedup_vs_local_x1"] = round(base / r["wall_s"], 2)
    first = next(iter(outcomes.values()))
    result = {
        "what": "wall time of a 16-cell suite (default model, sw+fi, 4 attacks, 2 seeds) through xadv sweep",
        "command": f"PYTHONPATH=. python benchmarks/bench_sweep.py --n {args.n}",
        "n_per_lang": args.n, "cells": 16,
        "machine": {"cpu": platform.processor() or _cpu_name(), "cores": len(os.sched_getaffinity(0))},
        "runs": rows,
        "same_outcomes": all(o == first for o in outcomes.values()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
