"""What each inference precision costs the embedded default model in F1/EM, per language, against fp32
evaluated in the same process on the same questions (all 5,077 TyDi GoldP dev questions by default).

`auto` (xadv.device.inference_precision) may only pick a precision whose entry here is measured on all of
dev with an overall F1 cost <= 0.3 and no language worse by more than 1.0 (`xadv.device.cost_violations`);
`xadv.device.ACCEPTED` names the file, and tests/test_device.py re-checks it.

    PYTHONPATH=. python benchmarks/precision_cost.py --precision bf16 [--n-per-lang N] [--device auto]
        [--out benchmarks/results/precision_cost.json]

The arithmetic, not the speed, decides the cost, so any machine can measure it; the tokens/s it records
are that machine's (bf16 is slow on CPUs without AMX / AVX512-BF16: see xadv/device.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from xadv.io import atomic_write_text  # noqa: E402


def _run(loaded, dataset, precision: str, batch_size: int, n_per_lang):
    from xadv.qa.engine import EngineConfig
    from xadv.qa.evaluation import evaluate

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "bf16 is slower than fp32 here" on CPUs without native bf16
        report = evaluate(loaded, dataset, data_name="tydiqa:all:dev", mode="squad", n_per_lang=n_per_lang,
                          config=EngineConfig(batch_size=batch_size, precision=precision, cache=False))
    seconds = time.perf_counter() - t0
    d = report.to_dict()
    return d, seconds


def _row(d: dict, seconds: float) -> dict:
    return {"n": d["n"], "f1": round(d["overall"]["f1"], 2), "em": round(d["overall"]["exact_match"], 2),
            "languages": {lang: {"n": v["n"], "f1": round(v["f1"], 2), "em": round(v["exact_match"], 2)}
                          for lang, v in d["languages"].items()},
            "seconds": round(seconds, 1), "tokens_per_second": d["engine"]["tokens_per_second"],
            "device": d["engine"]["device"], "threads": d["engine"]["threads"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", action="append", choices=["bf16", "fp16", "int8"], required=True)
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--n-per-lang", type=int, default=None, help="first N questions per language (default: all)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "precision_cost.json"))
    args = ap.parse_args(argv)

    from xadv.data import load_qa
    from xadv.device import cost_violations, resolve_device
    from xadv.models.card import software
    from xadv.models.loading import load_qa_model
    from xadv.provenance import cpu_model

    device = resolve_device(args.device)
    loaded = load_qa_model("default", device=device)
    dataset = load_qa("tydiqa:all:dev", data_dir=args.data_dir)
    base, base_s = _run(loaded, dataset, "fp32", args.batch_size, args.n_per_lang)
    fp32 = _row(base, base_s)
    out: dict = {
        "what": "F1/EM cost of each inference precision vs fp32, embedded default model, TyDi GoldP dev, squad mode",
        "command": "PYTHONPATH=. python benchmarks/precision_cost.py " + " ".join(argv or sys.argv[1:]),
        "machine": {"device": device, "cpu": cpu_model()}, "fp32": fp32,
    }
    for precision in args.precision:
        d, seconds = _run(loaded, dataset, precision, args.batch_size, args.n_per_lang)
        row = _row(d, seconds)
        row["overall_f1_cost"] = round(fp32["f1"] - row["f1"], 2)
        row["language_f1_cost"] = {lang: round(fp32["languages"][lang]["f1"] - v["f1"], 2)
                                   for lang, v in row["languages"].items()}
        row["violations"] = cost_violations(row)
        out[precision] = row
        print(f"{precision}: F1 {row['f1']} vs fp32 {fp32['f1']} (cost {row['overall_f1_cost']}), worst language "
              f"{max(row['language_f1_cost'].items(), key=lambda kv: kv[1])}, {row['tokens_per_second']} tokens/s "
              f"vs {fp32['tokens_per_second']}; auto may pick it: {not row['violations']}", flush=True)
    out["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out["software"] = software()
    atomic_write_text(Path(args.out), json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
