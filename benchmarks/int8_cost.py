"""What `--int8` costs the embedded default model in F1/EM: all 5,077 TyDi GoldP dev questions, squad mode.

The fp32 side is the evaluation recorded in the default model's card (the same engine, all of dev); the
int8 side is evaluated here with the engine's int8 scheme (`xadv.qa.engine.INT8_SCHEME`: dynamic int8
for every nn.Linear but the feed-forward down-projections).

    PYTHONPATH=. python benchmarks/int8_cost.py [--data-dir ../shared/data] [--out benchmarks/results/int8_f1_cost.json]
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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "int8_f1_cost.json"))
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args(argv)

    from xadv.data import load_qa
    from xadv.models.card import read_card, software
    from xadv.models.loading import load_qa_model
    from xadv.qa.engine import INT8_SCHEME, EngineConfig
    from xadv.qa.evaluation import evaluate

    loaded = load_qa_model("default")
    fp32 = read_card(loaded.path)["evaluation"]
    t0 = time.perf_counter()
    report = evaluate(loaded, load_qa("tydiqa:all:dev", data_dir=args.data_dir), data_name="tydiqa:all:dev",
                      mode="squad", config=EngineConfig(batch_size=args.batch_size, int8=True, cache=False))
    seconds = time.perf_counter() - t0
    int8 = report.to_dict()
    rows = {lang: {"fp32_f1": round(fp32["languages"][lang]["f1"], 1), "int8_f1": round(v["f1"], 1),
                   "fp32_em": round(fp32["languages"][lang]["exact_match"], 1), "int8_em": round(v["exact_match"], 1)}
            for lang, v in int8["languages"].items()}
    out = {
        "what": "F1/EM cost of --int8 on the embedded default model, all 5,077 TyDi GoldP dev questions, squad mode",
        "int8_scheme": INT8_SCHEME,
        "command": "PYTHONPATH=. python benchmarks/int8_cost.py",
        "fp32_source": "xadv/assets/default/xadv_card.json evaluation",
        "int8_seconds": round(seconds, 1), "int8_examples_per_second": round(int8["n"] / seconds, 1),
        "languages": rows,
        "overall": {"fp32_f1": round(fp32["overall"]["f1"], 1), "int8_f1": round(int8["overall"]["f1"], 1),
                    "fp32_em": round(fp32["overall"]["exact_match"], 1),
                    "int8_em": round(int8["overall"]["exact_match"], 1)},
        "macro": {"fp32_f1": round(fp32["macro"]["f1"], 1), "int8_f1": round(int8["macro"]["f1"], 1),
                  "fp32_em": round(fp32["macro"]["exact_match"], 1), "int8_em": round(int8["macro"]["exact_match"], 1)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "software": software(),
    }
    atomic_write_text(Path(args.out), json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("overall", "macro", "int8_seconds")}))


if __name__ == "__main__":
    main()
