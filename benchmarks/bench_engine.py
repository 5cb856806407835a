"""The QA engine side by side with what users run today, in one process, on the same questions and model.

Rows (embedded default model, the same TyDi dev questions drawn at random across the 9 languages):
  (a) hf-forward:   a bare Hugging Face loop: the tokenizer's windows (384/128, as xadv) batched in input
                    order through the model, a vectorised argmax start / end (end >= start) per window, the
                    best window per question; no n-best decoding, no length limit. What a user writes first.
  (b) hf-pipeline:  `transformers.pipeline("question-answering")` with the same model and tokenizer
                    (its own windows, n-best and decoding), `batch_size` as given.
  (c) xadv-fp32:    `QAEngine` at fp32 (length-sorted batches, exhaustive n-best span decoding, cache off).
  (d) xadv-auto:    `QAEngine` at `--precision auto` (`xadv.device.inference_precision`: bf16 only where the
                    hardware computes it natively and its F1 cost is accepted; fp32 otherwise, then it equals c).
Each reports seconds, questions/s, real tokens/s (a-c-d: tokens through the model; b: the same count, as
its windows are the same length), F1/EM under the official SQuAD normalisation, and ratios to (b).
A GPU row is added with `--device cuda` when one is present (never a test dependency).

    PYTHONPATH=. python benchmarks/bench_engine.py [--n 300] [--batch-size 16] [--out ...]

Never time it while other jobs share the CPU.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from xadv.io import atomic_write_text  # noqa: E402


def _rows(data_dir: str, n: int, seed: int) -> list[dict]:
    from xadv.data import load_qa

    rows = [dict(r) for r in load_qa("tydiqa:all:dev", data_dir=data_dir)]
    return random.Random(seed).sample(rows, min(n, len(rows)))


def _score(rows, preds: dict) -> dict:
    from xadv.score import GoldAnswers, score_predictions

    res = score_predictions(GoldAnswers.from_rows(rows), preds, mode="squad")
    return {"f1": round(float(res.f1), 2), "em": round(float(res.exact_match), 2)}


def _windows(tok, rows, max_len=384, stride=128):
    return tok([r["question"].lstrip() for r in rows], [r["context"] for r in rows], truncation="only_second",
               max_length=max_len, stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
               padding=False)


def hf_forward(model, tok, rows, batch_size: int) -> tuple[dict, float, int]:
    """(predictions, seconds, real tokens): windows in input order, argmax start/end per window, best window."""
    import torch

    t0 = time.perf_counter()
    enc = _windows(tok, rows)
    best: dict[int, tuple[float, str]] = {}
    tokens = 0
    n = len(enc["input_ids"])
    for lo in range(0, n, batch_size):
        ids = enc["input_ids"][lo : lo + batch_size]
        width = max(map(len, ids))
        batch = torch.full((len(ids), width), tok.pad_token_id)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, x in enumerate(ids):
            batch[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = 1
        tokens += int(mask.sum())
        with torch.inference_mode():
            out = model(input_ids=batch, attention_mask=mask)
        ctx = torch.zeros((len(ids), width), dtype=torch.bool)
        for i in range(len(ids)):
            seq = enc.sequence_ids(lo + i)
            ctx[i, : len(seq)] = torch.tensor([x == 1 for x in seq])
        neg = torch.finfo(out.start_logits.dtype).min
        s_log = out.start_logits.masked_fill(~ctx, neg)
        e_log = out.end_logits.masked_fill(~ctx, neg)
        s_idx = s_log.argmax(-1)
        after = torch.arange(width)[None, :] >= s_idx[:, None]  # the end at or after the start
        e_idx = e_log.masked_fill(~after, neg).argmax(-1)
        scores = s_log.gather(1, s_idx[:, None])[:, 0] + e_log.gather(1, e_idx[:, None])[:, 0]
        for i in range(len(ids)):
            w = lo + i
            ex = enc["overflow_to_sample_mapping"][w]
            offs = enc["offset_mapping"][w]
            text = rows[ex]["context"][offs[int(s_idx[i])][0] : offs[int(e_idx[i])][1]]
            if ex not in best or float(scores[i]) > best[ex][0]:
                best[ex] = (float(scores[i]), text)
    return {rows[i]["id"]: best.get(i, (0, ""))[1] for i in range(len(rows))}, time.perf_counter() - t0, tokens


def hf_pipeline(model, tok, rows, batch_size: int, device) -> tuple[dict, float]:
    from transformers import pipeline

    qa = pipeline("question-answering", model=model, tokenizer=tok, device=device)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = qa(question=[r["question"] for r in rows], context=[r["context"] for r in rows],
                  batch_size=batch_size, max_seq_len=384, doc_stride=128, max_answer_len=30)
    if isinstance(outs, dict):
        outs = [outs]
    return {r["id"]: o["answer"] for r, o in zip(rows, outs)}, time.perf_counter() - t0


def xadv_engine(loaded, rows, precision: str, batch_size: int) -> tuple[dict, float, dict]:
    from xadv.qa.engine import EngineConfig, QAEngine

    engine = QAEngine.from_loaded(loaded, EngineConfig(batch_size=batch_size, precision=precision, cache=False))
    t0 = time.perf_counter()
    preds = {i: p.text for i, p in engine.predict(rows).items()}
    seconds = time.perf_counter() - t0
    return preds, seconds, {"tokens": engine.stats.tokens, "settings": engine.settings_key()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "bench_engine.json"))
    args = ap.parse_args(argv)

    from xadv.device import cpu_has_native_bf16, inference_precision, resolve_device
    from xadv.models.card import software
    from xadv.models.loading import load_qa_model
    from xadv.provenance import cpu_model

    device = resolve_device(args.device)
    loaded = load_qa_model("default", device=device)
    rows = _rows(args.data_dir, args.n, args.seed)
    results = {}
    preds, secs, tokens = hf_forward(loaded.model, loaded.tokenizer, rows, args.batch_size)
    results["hf-forward"] = {"seconds": secs, "tokens": tokens, **_score(rows, preds)}
    preds, secs = hf_pipeline(loaded.model, loaded.tokenizer, rows, args.batch_size, loaded.model.device)
    results["hf-pipeline"] = {"seconds": secs, "tokens": tokens, **_score(rows, preds)}
    for name, precision in (("xadv-fp32", "fp32"), ("xadv-auto", "auto")):
        preds, secs, info = xadv_engine(loaded, rows, precision, args.batch_size)
        results[name] = {"seconds": secs, "tokens": info["tokens"], "engine": info["settings"], **_score(rows, preds)}
    base = results["hf-pipeline"]["seconds"]
    for name, r in results.items():
        r["questions_per_second"] = round(len(rows) / r["seconds"], 2)
        r["tokens_per_second"] = round(r["tokens"] / r["seconds"])
        r["speed_vs_pipeline"] = round(base / r["seconds"], 2)
        r["seconds"] = round(r["seconds"], 2)
        print(f"{name:12s} {r['seconds']:7.1f} s  {r['questions_per_second']:6.2f} q/s  {r['tokens_per_second']:6d} "
              f"tok/s  F1 {r['f1']:5.2f}  EM {r['em']:5.2f}  x{r['speed_vs_pipeline']} vs pipeline", flush=True)
    auto = inference_precision("auto", device.split(":")[0])
    doc = {"what": "xadv's QA engine vs a bare HF loop and HF pipeline, same model and questions, one process",
           "command": "PYTHONPATH=. python benchmarks/bench_engine.py " + " ".join(argv or sys.argv[1:]),
           "machine": {"device": device, "cpu": cpu_model(), "native_bf16": cpu_has_native_bf16()},
           "auto_precision": {"precision": auto.name, "reason": auto.why},
           "n": len(rows), "batch_size": args.batch_size, "results": results,
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "software": software()}
    atomic_write_text(Path(args.out), json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
