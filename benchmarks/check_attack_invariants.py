"""Every attack x every supported target on ALL examples of a dataset's languages (default: TyDi QA GoldP
dev, all 9 languages): count invariant violations (see `attacks.invariants`) and refusals, and time them.

    python benchmarks/check_attack_invariants.py --data-dir ../shared/data [--strength 0.2] [--n N]
    python benchmarks/check_attack_invariants.py --data xquad:all:test \
        --out benchmarks/results/attack_invariants_xquad.json

Writes benchmarks/results/attack_invariants.json. The test suite samples (hypothesis); this runs all.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attacks import get_attack, list_attacks  # noqa: E402
from attacks.invariants import violations  # noqa: E402
from xadv.data import load_qa  # noqa: E402
from xadv.errors import XadvError  # noqa: E402
from xadv.io import atomic_write_text  # noqa: E402
from xadv.langs import TYDI_LANGS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--data", default="tydiqa:all:dev", help="dataset name (its languages are all checked)")
    ap.add_argument("--strength", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=None, help="first N examples per language (default: all)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "attack_invariants.json"))
    args = ap.parse_args()

    rows_by_lang = defaultdict(list)
    for r in load_qa(args.data, args.data_dir):
        if args.n is None or len(rows_by_lang[r["lang"]]) < args.n:
            rows_by_lang[r["lang"]].append(r)
    cells, failures = [], []
    t_all = time.perf_counter()
    for base in list_attacks():
        for lang in sorted(rows_by_lang, key=lambda x: (x not in TYDI_LANGS, x)):
            params = {"data_dir": args.data_dir, "partner": "sw" if lang == "en" else ""} \
                if base.name == "codemix" else {}
            attack = get_attack(base.name, **params)
            for target in attack.targets:
                rows = rows_by_lang[lang]
                try:
                    attack.check(lang, target, args.strength)
                except XadvError as exc:
                    cells.append({"attack": base.name, "lang": lang, "target": target, "refused": str(exc)})
                    continue
                t0 = time.perf_counter()
                bad, applied, edited = Counter(), 0.0, 0
                for row in rows:
                    res = attack.perturb(row, target, args.strength, args.seed)
                    problems = violations(attack, row, target, args.strength, args.seed, res)
                    applied += res.strength_applied
                    edited += bool(res.edits)
                    for p in problems:
                        bad[p.split(":")[0]] += 1
                        if len(failures) < 50:
                            failures.append({"attack": base.name, "lang": lang, "target": target,
                                             "id": row["id"], "problem": p})
                secs = time.perf_counter() - t0
                cells.append({"attack": base.name, "lang": lang, "target": target, "n": len(rows),
                              "violations": sum(bad.values()), "kinds": dict(bad),
                              "edited_share": round(edited / len(rows), 4),
                              "strength_applied_mean": round(applied / len(rows), 4),
                              "examples_per_s": round(len(rows) / secs, 1) if secs else None})
                print(f"{base.name:17s} {lang} {target:8s} n={len(rows):4d} violations={sum(bad.values())} "
                      f"applied={applied / len(rows):.3f} ({len(rows) / secs:.0f} ex/s)", flush=True)
    run = [c for c in cells if "n" in c]
    summary = {
        "command": " ".join(["python", *sys.argv]), "data": args.data,
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "strength": args.strength, "seed": args.seed,
        "cells_run": len(run), "cells_refused": len(cells) - len(run),
        "perturbations": sum(c["n"] for c in run) * 2,  # each is perturbed twice (determinism check)
        "violations": sum(c["violations"] for c in run),
        "seconds": round(time.perf_counter() - t_all, 1),
        "cells": cells, "first_failures": failures,
    }
    atomic_write_text(Path(args.out), json.dumps(summary, ensure_ascii=False, indent=1))
    print(f"{summary['cells_run']} cells, {summary['perturbations']} perturbations, "
          f"{summary['violations']} violations, {summary['cells_refused']} refused cells, "
          f"{summary['seconds']} s -> {args.out}")
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
