"""What a static attack cell costs next to a clean evaluation of the same examples (the #16 target: <= 1.3x).

A static cell perturbs every example, predicts only those whose input changed (the rest reuse the clean
pass's predictions through the engine's cache) and scores clean vs adversarial. This times, in one process
on the embedded default model: the clean pass (fresh engine, no disk cache), then each attack cell on the
same engine (`xadv.runs.attack.run_attacks`, no results store), and records seconds, the ratio, and the
record's own `computed` / `reused` counts.

    PYTHONPATH=. python benchmarks/bench_static_cell.py [--lang sw] [--n 200] [--attack keyboard:question ...]
        [--out benchmarks/results/bench_static_cell.json]

Never run it while other jobs share the CPU: the ratio is a timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from xadv.io import atomic_write_text  # noqa: E402

DEFAULT_CELLS = ("keyboard:question", "codemix:question", "char-noise:context", "distractor:context")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="sw")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--attack", action="append", help="ATTACK:TARGET (repeatable)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "bench_static_cell.json"))
    args = ap.parse_args(argv)

    from attacks.spec import AttackSpec
    from xadv.data import load_qa
    from xadv.models.card import software
    from xadv.models.loading import load_qa_model
    from xadv.provenance import cpu_model
    from xadv.qa.engine import EngineConfig, QAEngine
    from xadv.runs.attack import CellSettings, run_attacks
    from xadv.types import Target

    loaded = load_qa_model("default")
    rows = [dict(r) for r in load_qa(f"tydiqa:{args.lang}:dev", data_dir=args.data_dir)][: args.n]
    engine = QAEngine.from_loaded(loaded, EngineConfig(batch_size=args.batch_size))
    t0 = time.perf_counter()
    engine.predict(rows)
    clean_s = time.perf_counter() - t0
    cells = []
    for item in args.attack or DEFAULT_CELLS:
        name, _, target = item.partition(":")
        settings = CellSettings(attacks=AttackSpec.parse_list(name), targets=(Target.parse(target or "auto"),),
                                strength=0.2, seed=0, n_resamples=1000)
        t0 = time.perf_counter()
        [out] = run_attacks(loaded, rows, settings, engine=engine,
                            attack_params={"data_dir": args.data_dir})
        seconds = time.perf_counter() - t0
        env = out.record.env
        cells.append({"attack": name, "target": out.target, "seconds": round(seconds, 2),
                      "ratio_to_clean": round(seconds / clean_s, 3), "computed": env.computed, "reused": env.reused})
        print(f"{name}/{out.target}: {seconds:.1f} s = {seconds / clean_s:.2f}x clean ({env.computed} predicted, "
              f"{env.reused} reused)", flush=True)
    doc = {"what": "seconds of a static attack cell vs a clean evaluation of the same examples (default model)",
           "command": "PYTHONPATH=. python benchmarks/bench_static_cell.py " + " ".join(argv or sys.argv[1:]),
           "machine": {"cpu": cpu_model(), "threads": engine.num_threads}, "lang": args.lang, "n": len(rows),
           "clean_seconds": round(clean_s, 2), "cells": cells,
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "software": software()}
    atomic_write_text(Path(args.out), json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
