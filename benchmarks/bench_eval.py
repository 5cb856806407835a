"""Benchmark clean evaluation: the QA engine against the bare forward passes it cannot beat.

For fp32 and int8 it times
  engine: `QAEngine.predict` end to end (tokenise + windows, length-sorted batches, forward, span decoding;
          prediction cache off), and
  raw:    the very same padded batches through the model and nothing else (inputs built beforehand),
and records examples/s, tokens/s (real, unpadded tokens) and the peak resident memory of each phase.
engine/raw is the share of the achievable throughput the engine keeps (target: >= 0.8).

The model is the imported me5-small encoder with its untrained (seeded random) QA head: the answers are
meaningless, the cost is exactly that of a fine-tuned me5-small.

    PYTHONPATH=. python benchmarks/bench_eval.py                   # all 5,077 TyDi dev questions (~15 min)
    PYTHONPATH=. python benchmarks/bench_eval.py --n 200 --langs sw,fi

Writes benchmarks/results/bench_eval.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import threading
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xadv.io import atomic_write_text  # noqa: E402
from xadv.langs import TYDI_LANGS  # noqa: E402


class PeakRSS:
    """Peak resident set size (MiB) while the block runs, sampled every 20 ms (psutil if present)."""

    def __init__(self):
        try:
            import psutil

            self._rss = psutil.Process().memory_info
        except ImportError:  # Linux fallback
            page = os.sysconf("SC_PAGE_SIZE")
            self._rss = lambda: type("M", (), {"rss": int(open("/proc/self/statm").read().split()[1]) * page})()
        self.peak = 0

    def __enter__(self):
        self._stop = threading.Event()
        self.peak = self._rss().rss
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss().rss)
        self.mib = self.peak / 2**20


def pick_rows(data_dir: Path, langs: list[str], n: int | None) -> list[dict]:
    """`n` questions in total, the first n/len(langs) of each language (all when n is None)."""
    from xadv.data import load_qa

    ds = load_qa(f"tydiqa:{','.join(langs)}:dev", data_dir=data_dir)
    rows = list(ds)
    if n is None:
        return rows
    per, extra = divmod(n, len(langs))
    quota = {lang: per + (k < extra) for k, lang in enumerate(langs)}
    out = []
    for row in rows:
        if quota.get(row["lang"], 0) > 0:
            quota[row["lang"]] -= 1
            out.append(row)
    return out


def raw_forward(model, feats, batch_size: int, pad_id: int) -> dict:
    """Only the forward passes of the engine's batches (inputs prepared untimed)."""
    import torch

    from xadv.qa.engine import collate, length_sorted_batches

    batches = [collate([feats[i] for i in idx], pad_id) for idx in length_sorted_batches(feats, batch_size)]
    tokens = sum(len(f) for f in feats)
    with PeakRSS() as mem, torch.inference_mode():
        t0 = time.perf_counter()
        for inputs in batches:
            model(**inputs)
        seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "tokens": tokens, "tokens_per_s": round(tokens / seconds, 1),
            "peak_rss_mib": round(mem.mib, 1)}


def engine_run(engine, rows: list[dict]) -> tuple:
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        preds = engine.predict(rows, gold=False)
        seconds = time.perf_counter() - t0
    st = engine.stats
    return preds, {"seconds": round(seconds, 3), "examples": len(rows), "features": st.features,
                   "tokens": st.tokens, "padded_tokens": st.padded_tokens,
                   "examples_per_s": round(len(rows) / seconds, 3), "tokens_per_s": round(st.tokens / seconds, 1),
                   "forward_seconds": round(st.forward_seconds, 3),
                   # everything but the model: tokenising, windows, collation, decoding (robust to a busy CPU)
                   "overhead_seconds": round(seconds - st.forward_seconds, 3),
                   "peak_rss_mib": round(mem.mib, 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=None, help="questions in total, spread evenly over the languages")
    ap.add_argument("--langs", default="all", help="comma list of TyDi languages (default: all 9)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the engine's choice)")
    ap.add_argument("--precisions", default="fp32,int8", help="comma-separated: fp32, bf16, fp16 (GPU), int8")
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bench_eval.json")
    args = ap.parse_args(argv)

    import torch

    from xadv.models.loading import UntrainedHeadWarning, load_qa_model
    from xadv.qa.engine import EngineConfig, QAEngine, collate, configure_threads
    from xadv.qa.features import FeatureConfig, build_features

    langs = list(TYDI_LANGS) if args.langs == "all" else args.langs.split(",")
    rows = pick_rows(args.data_dir, langs, args.n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)
        loaded = load_qa_model("me5-small", allow_untrained_head=True)
    threads = configure_threads(args.threads)
    tok = loaded.tokenizer
    feats = build_features([r["question"] for r in rows], [r["context"] for r in rows], tok, FeatureConfig())
    results: dict = {
        "what": "clean TyDi QA GoldP dev evaluation, me5-small (untrained QA head), 384/128 windows",
        "questions": len(rows), "langs": langs, "windows": len(feats), "tokens": sum(len(f) for f in feats),
        "batch_size": args.batch_size, "threads": threads,
        "machine": {"cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
                    "platform": platform.platform(), "torch": torch.__version__,
                    "loadavg_start": os.getloadavg()},
        "model_fingerprint": loaded.fingerprint, "runs": {},
    }
    preds = {}
    for precision in args.precisions.split(","):
        config = EngineConfig(batch_size=args.batch_size, num_threads=threads, cache=False, precision=precision)
        engine = QAEngine(loaded.model, tok, loaded.fingerprint, config)
        with torch.inference_mode():  # warm-up: first-call allocations and kernel selection
            engine.model(**collate(feats[:args.batch_size], tok.pad_token_id))
        raw = raw_forward(engine.model, feats, args.batch_size, tok.pad_token_id)
        preds[precision], eng = engine_run(engine, rows)
        results["runs"][precision] = {"engine": eng, "raw": raw,
                                      "engine_vs_raw": round(eng["tokens_per_s"] / raw["tokens_per_s"], 3)}
        print(f"{precision}: engine {eng['tokens_per_s']:.0f} tok/s, raw {raw['tokens_per_s']:.0f} tok/s",
              file=sys.stderr)
    if "fp32" in preds and "int8" in preds:
        same = sum(preds["fp32"][i].text == preds["int8"][i].text for i in preds["fp32"])
        results["int8_same_answer_as_fp32"] = round(same / len(rows), 4)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["peak_rss_process_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    atomic_write_text(args.out, json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"written to {args.out}", file=sys.stderr)
    return results


def print_table(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"clean eval, me5-small: {results['questions']} questions, {results['windows']} windows, "
                        f"{results['tokens']:,} tokens, batch {results['batch_size']}, {results['threads']} threads",
                  title_justify="left",
                  caption="engine: predict() end to end; raw: the same padded batches through the model only; "
                          "eng/raw: share of the raw throughput kept (target >= 0.8)", caption_justify="left")
    for col in ("", "phase", "s", "non-model s", "ex/s", "tok/s", "RSS MiB", "eng/raw"):
        table.add_column(col, justify="left" if col in ("", "phase") else "right")
    for precision, run in results["runs"].items():
        eng, raw = run["engine"], run["raw"]
        table.add_row(precision, "engine", f"{eng['seconds']:.1f}", f"{eng['overhead_seconds']:.2f}",
                      f"{eng['examples_per_s']:.2f}",
                      f"{eng['tokens_per_s']:,.0f}", f"{eng['peak_rss_mib']:.0f}", f"{run['engine_vs_raw']:.2f}")
        table.add_row("", "raw", f"{raw['seconds']:.1f}", "", "", f"{raw['tokens_per_s']:,.0f}",
                      f"{raw['peak_rss_mib']:.0f}", "")
    Console().print(table)


if __name__ == "__main__":
    main()
