"""Paired comparison of two `xadv attack --search` runs on the same examples (e.g. greedy vs random).

Reads the run files that `xadv attack ... --out FILE` wrote (or single records), pairs their cells by
language, target and attack (same model, data hash, criterion and budget required), and per language
reports ASR with its denominator for both, the discordant counts (questions only A flipped, only B
flipped), McNemar's exact two-sided p-value on them, and a paired bootstrap interval of the ASR
difference (`xadv.score.bootstrap.paired_bootstrap_arrays` over the questions right on clean input).
Both searches see the same clean predictions, so their ASR denominators are the same questions.

    PYTHONPATH=. python benchmarks/search_paired.py A.json B.json --out benchmarks/results/x.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from xadv.io import atomic_write_text  # noqa: E402


def records(path: Path) -> list[dict]:
    obj = json.loads(path.read_text(encoding="utf-8"))
    return obj["records"] if obj.get("schema") == "xadv.attack-run/1" else [obj]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: binomial(b + c, 1/2) on the discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def flipped(rec: dict) -> dict[str, bool | None]:
    """Per example id: True/False (flipped or not) for questions right on clean input, None otherwise."""
    from xadv.score.criterion import Criterion

    criterion = Criterion.parse(rec["criterion"])

    def right(em, f1):
        return bool(criterion.right(em, f1))

    return {e["id"]: (not right(e["adv_em"], e["adv_f1"])) if right(e["clean_em"], e["clean_f1"]) else None
            for e in rec["examples"]}


def side(rec: dict) -> dict:
    s = rec["summary"]
    keep = ("n", "asr", "asr_successes", "asr_denominator", "clean_f1", "adv_f1", "clean_em", "adv_em",
            "mean_queries", "mean_queries_to_success", "mean_share_changed", "seconds_per_example")
    return {"search": rec["cell"]["search"]["search"], **{k: s.get(k) for k in keep},
            "asr_ci": s.get("ci", {}).get("asr"), "seconds": rec["env"].get("seconds")}


def compare_pair(a: dict, b: dict, n_resamples: int = 10000) -> dict:
    import numpy as np

    from xadv.score.bootstrap import paired_bootstrap_arrays

    for what in ("model_fingerprint", "data_sha256", "criterion", "target", "lang", "engine"):
        if a["cell"][what] != b["cell"][what]:
            raise SystemExit(f"cells differ in {what}: {a['cell'][what]!r} vs {b['cell'][what]!r}")
    sa, sb = dict(a["cell"]["search"]), dict(b["cell"]["search"])
    for k in ("search", "wir", "beam_width"):
        sa.pop(k), sb.pop(k)
    if sa != sb:
        raise SystemExit(f"search settings other than the search itself differ: {sa} vs {sb}")
    fa, fb = flipped(a), flipped(b)
    ids = [i for i in fa if fa[i] is not None]
    if ids != [i for i in fb if fb[i] is not None]:
        raise SystemExit("the two runs do not have the same questions right on clean input")
    xa = np.array([fa[i] for i in ids], dtype=float)
    xb = np.array([fb[i] for i in ids], dtype=float)
    only_a, only_b = int(((xa == 1) & (xb == 0)).sum()), int(((xa == 0) & (xb == 1)).sum())
    test = paired_bootstrap_arrays(xa, xb, metric="asr", scale=100.0, n_resamples=n_resamples, seed=0)
    return {"lang": a["cell"]["lang"], "attack": a["cell"]["attack"], "target": a["cell"]["target"],
            "criterion": a["cell"]["criterion"], "settings": sa, "a": side(a), "b": side(b),
            "denominator": len(ids), "both": int(((xa == 1) & (xb == 1)).sum()), "only_a": only_a,
            "only_b": only_b, "neither": int(((xa == 0) & (xb == 0)).sum()),
            "mcnemar_exact_p": mcnemar_exact(only_a, only_b),
            "asr_diff": test.diff, "asr_diff_ci95": [test.ci_low, test.ci_high],
            "paired_bootstrap_p": test.p_value, "bootstrap_resamples": n_resamples}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a", type=Path, help="run file of search A (e.g. greedy)")
    p.add_argument("b", type=Path, help="run file of search B (e.g. random)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--resamples", type=int, default=10000)
    args = p.parse_args()
    ra = {(r["cell"]["lang"], r["cell"]["target"], r["cell"]["attack"]): r for r in records(args.a)}
    rb = {(r["cell"]["lang"], r["cell"]["target"], r["cell"]["attack"]): r for r in records(args.b)}
    rows = [compare_pair(ra[k], rb[k], args.resamples) for k in ra if k in rb]
    for r in rows:
        a, b = r["a"], r["b"]
        print(f"{r['lang']} {r['attack']}/{r['target']} {r['criterion']}: {a['search']} ASR {a['asr']:.1f} "
              f"({a['asr_successes']}/{a['asr_denominator']}) vs {b['search']} {b['asr']:.1f} "
              f"({b['asr_successes']}/{b['asr_denominator']}); only {a['search']} {r['only_a']}, only "
              f"{b['search']} {r['only_b']}, McNemar p={r['mcnemar_exact_p']:.3f}; diff {r['asr_diff']:+.1f} pp "
              f"[{r['asr_diff_ci95'][0]:+.1f}, {r['asr_diff_ci95'][1]:+.1f}]")
    if args.out:
        atomic_write_text(args.out, json.dumps({"a": str(args.a), "b": str(args.b), "pairs": rows}, indent=1,
                                       ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
