"""Benchmark model-in-the-loop search: does it beat random perturbation, and how fast is it vs TextAttack?

Two parts, both on the same model, examples, transformation family and query budget:

``random``   xadv greedy search (TextAttack's GreedyWordSwapWIR over xadv's transformation, loss-guided
             QA goal) against `RandomSampling` (the same transformation applied at random, same
             constraints and budget), per language: ASR with its denominator, F1/EM, queries, seconds.

``textattack``  xadv's search against TextAttack's own pipeline configured as closely as it allows:
             `textattack.Attacker` + `Attack(goal, [RepeatModification, InputColumnModification (question
             only), MaxNumWordsModified(k)], WordSwapRandomCharacterDeletion(random_one=False),
             GreedyWordSwapWIR("delete"))` through a plain HF-style wrapper (TextAttack's
             `HuggingFaceModelWrapper` tokenisation: every input padded to the tokenizer's maximum
             length, batches of 32, no prediction cache beyond one example's LRU, answer = best span
             of the one truncated window). TextAttack has no QA goal function, so it gets the
             minimal one (success: EM flip; score 1 - F1; the same scorer). Three rows:
               ta-pipeline         TextAttack end to end (as above);
               xadv-engine+ta-swap TextAttack's search and transformation over xadv's `QAText`,
                                   unguided QA goal and engine: only the model path differs (length-
                                   sorted batches, per-batch padding, windows, prediction cache);
               xadv                xadv's own configuration: `GreedyWIR`, `char-delete` family,
                                   loss-guided.

    PYTHONPATH=. python benchmarks/bench_search.py random --model default --langs sw,ru --n 40
    PYTHONPATH=. python benchmarks/bench_search.py random --langs sw,ru --start 200 --n 100 --budget 30 \
        --curve 10,20 --max-share 1.0 --max-words 1     # a selection slice (questions 200-299)
    PYTHONPATH=. python benchmarks/bench_search.py textattack --model default --lang sw --n 20

Writes benchmarks/results/bench_search_<part>.json (summary per row, machine load, settings) and
prints a table. The CPU may be shared: the load average before and after each row is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from xadv.io import atomic_write_text  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def load_model(name: str):
    from xadv.models.loading import UntrainedHeadWarning, load_qa_model

    untrained = name == "me5-small"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)
        loaded = load_qa_model(name, allow_untrained_head=untrained)
    return loaded, untrained


def first_rows(lang: str, n: int, data_dir: str | None, start: int = 0):
    """Dev questions start .. start+n-1 of `lang`, in file order."""
    from xadv.data import load_qa

    ds = load_qa(f"tydiqa:{lang}:dev", data_dir=data_dir)
    return [dict(r) for r in ds.select(range(min(start, len(ds)), min(start + n, len(ds))))]


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "torch_threads": torch.get_num_threads(), "platform": platform.platform()}


def engine_for(loaded, args):
    from xadv.qa.engine import EngineConfig, QAEngine

    return QAEngine.from_loaded(loaded, EngineConfig(batch_size=args.batch_size, int8=args.int8,
                                                     num_threads=args.threads))


def summarise(run, curve: list[int] = ()) -> dict:
    s = run.summary(n_resamples=1000)
    keep = ("n", "criterion", "asr", "asr_successes", "asr_denominator", "clean_f1", "adv_f1", "clean_em",
            "adv_em", "skipped", "succeeded", "mean_queries", "mean_share_changed", "seconds",
            "seconds_per_example", "examples_per_second")
    out = {k: s.get(k) for k in keep}
    out["asr_ci"] = s.get("ci", {}).get("asr")
    out["mean_queries_to_success"] = s.get("mean_queries_to_success")
    out["asr_at_budget"] = {b: run.asr_at(b) for b in curve}
    out["forward_passes"] = run.engine.get("forward_passes")
    out["cache_hits"] = run.engine.get("cache_hits")
    return out


# --------------------------------------------------------------------------- part 1: greedy vs random


def part_random(args) -> dict:
    from attacks.search import SearchSpec, run_search

    loaded, untrained = load_model(args.model)
    curve = sorted({*map(int, args.curve.split(",")), args.budget})
    rows_out = []
    for lang in args.langs.split(","):
        rows = first_rows(lang, args.n, args.data_dir, args.start)
        for search in ("greedy", "random"):
            engine = engine_for(loaded, args)  # a fresh cache: neither search inherits the other's queries
            before = load()
            spec = SearchSpec(search, goal=args.goal, budget=args.budget, max_share=args.max_share,
                              max_words=args.max_words, candidates=args.candidates, wir=args.wir)
            run = run_search(engine, rows, spec, transformation=args.transformation, target=args.target,
                             seed=args.seed, progress=True,
                             attack_params={"data_dir": args.data_dir} if args.data_dir else None)
            row = {"lang": lang, "search": search, **summarise(run, curve), "load_before": before,
                   "load_after": load()}
            rows_out.append(row)
            print(f"{lang:3} {search:7} ASR {fmt(row['asr'])} ({row['asr_successes']}/{row['asr_denominator']})  "
                  f"F1 {row['clean_f1']:.1f}->{row['adv_f1']:.1f}  queries {fmt(row['mean_queries'])}  "
                  f"share {fmt(row['mean_share_changed'], 3)}  {row['seconds_per_example']:.2f} s/ex  "
                  f"load {row['load_after']}\n    ASR at budget: "
                  + "  ".join(f"{b}: {fmt(a)}" for b, a in row["asr_at_budget"].items()), flush=True)
            if args.save_examples:
                out = RESULTS / f"bench_search_{lang}_{search}_adv.json"
                run.write_squad(out)
    return {"part": "random", "model": loaded.name, "fingerprint": loaded.fingerprint,
            "untrained_head": untrained, "settings": settings(args), "rows": rows_out}


# --------------------------------------------------------------------------- part 2: vs TextAttack


def ta_pipeline(loaded, rows, args) -> dict:
    """TextAttack's own Attacker over a plain HF-style QA wrapper and a minimal QA goal function."""
    from attacks.search.bootstrap import ensure_textattack

    ensure_textattack()
    import numpy as np
    import textattack
    import torch
    from textattack.constraints.pre_transformation import (
        InputColumnModification,
        MaxNumWordsModified,
        RepeatModification,
    )
    from textattack.goal_function_results import TextToTextGoalFunctionResult
    from textattack.goal_functions import GoalFunction
    from textattack.models.wrappers import HuggingFaceModelWrapper
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapRandomCharacterDeletion

    from xadv.score.metrics import best_em_f1
    from xadv.score.normalize import normalize

    class PlainQAWrapper(HuggingFaceModelWrapper):
        """TextAttack's HF wrapper tokenisation (pad to max length), decoding the best span per input."""

        calls = 0

        def __call__(self, text_input_list):
            questions = [q for q, _ in text_input_list]
            contexts = [c for _, c in text_input_list]
            enc = self.tokenizer(questions, contexts, add_special_tokens=True, padding="max_length",
                                 max_length=self.tokenizer.model_max_length, truncation="only_second",
                                 return_tensors="pt", return_offsets_mapping=True)
            offsets = enc.pop("offset_mapping")
            seq_ids = [enc.sequence_ids(i) for i in range(len(questions))]
            with torch.no_grad():
                out = self.model(**enc)
            type(self).calls += 1
            answers = []
            for i, ctx in enumerate(contexts):
                s = out.start_logits[i].numpy()
                e = out.end_logits[i].numpy()
                idx = np.array([k for k, sid in enumerate(seq_ids[i]) if sid == 1])
                best, span = -np.inf, (0, 0)
                for a in idx:
                    for b in idx[(idx >= a) & (idx < a + 30)]:
                        if s[a] + e[b] > best:
                            best, span = s[a] + e[b], (int(offsets[i][a][0]), int(offsets[i][b][1]))
                answers.append(ctx[span[0]:span[1]].strip())
            return answers

    class PlainQAGoal(GoalFunction):
        """The least a QA goal needs: success when the exact match flips; score 1 - F1."""

        def _golds(self):
            return json.loads(self.ground_truth_output)

        def _em_f1(self, text):
            golds, lang = self._golds()
            return best_em_f1(normalize(text, "squad", lang), [normalize(g, "squad", lang) for g in golds])

        def _is_goal_complete(self, model_output, _):
            return self._em_f1(model_output)[0] < 1.0

        def _get_score(self, model_output, _):
            return 1.0 - self._em_f1(model_output)[1]

        def _goal_function_result_type(self):
            return TextToTextGoalFunctionResult

        def _process_model_outputs(self, inputs, outputs):
            return outputs

    wrapper = PlainQAWrapper(loaded.model, loaded.tokenizer)
    goal = PlainQAGoal(wrapper, query_budget=args.budget)
    constraints = [RepeatModification(), InputColumnModification(["question", "context"], {"context"}),
                   MaxNumWordsModified(args.max_words)]
    attack = textattack.Attack(goal, constraints, WordSwapRandomCharacterDeletion(random_one=False),
                               GreedyWordSwapWIR(wir_method="delete"))
    dataset = textattack.datasets.Dataset(
        [((r["question"], r["context"]),
          json.dumps([r["answers"]["text"], r["lang"]], ensure_ascii=False)) for r in rows],
        input_columns=["question", "context"])
    attack_args = textattack.AttackArgs(num_examples=len(rows), query_budget=args.budget, random_seed=args.seed,
                                        disable_stdout=True, silent=True)
    attacker = textattack.Attacker(attack, dataset, attack_args)
    before = load()
    t0 = time.perf_counter()
    results = attacker.attack_dataset()
    seconds = time.perf_counter() - t0
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    attacked = [r for r in results if not isinstance(r, SkippedAttackResult)]
    succ = sum(isinstance(r, SuccessfulAttackResult) for r in attacked)
    return {"row": "ta-pipeline", "n": len(results), "asr": 100.0 * succ / len(attacked) if attacked else None,
            "asr_successes": succ, "asr_denominator": len(attacked),
            "mean_queries": sum(r.num_queries for r in attacked) / len(attacked) if attacked else None,
            "seconds": round(seconds, 3), "seconds_per_example": seconds / len(results),
            "examples_per_second": len(results) / seconds, "forward_passes": PlainQAWrapper.calls,
            "load_before": before, "load_after": load()}


def part_textattack(args) -> dict:
    from attacks.search import SearchSpec, run_search

    loaded, untrained = load_model(args.model)
    rows = first_rows(args.lang, args.n, args.data_dir)
    out_rows = []

    def report(row):
        out_rows.append(row)
        print(f"{row['row']:20} ASR {fmt(row['asr'])} ({row['asr_successes']}/{row['asr_denominator']})  "
              f"queries/ex {fmt(row['mean_queries'])}  forward passes {row['forward_passes']}  "
              f"{row['examples_per_second']:.3f} ex/s  load {row['load_after']}", flush=True)

    report(ta_pipeline(loaded, rows, args))

    from attacks.search.bootstrap import ensure_textattack

    ensure_textattack()
    import textattack
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapRandomCharacterDeletion

    from attacks.search import build_attack
    from attacks.search.records import SearchRun
    from attacks.search.run import attack_one

    # TextAttack's search and transformation, with xadv's engine, QAText and (unguided) goal function
    engine = engine_for(loaded, args)
    parts = build_attack(engine, SearchSpec("greedy", goal="em-flip", budget=args.budget, max_share=1.0,
                                            max_words=args.max_words, guided=False),
                         transformation="char-delete", target="question", seed=args.seed)
    attack = textattack.Attack(parts.goal_function, parts.pre_transformation_constraints + parts.constraints,
                               WordSwapRandomCharacterDeletion(random_one=False), GreedyWordSwapWIR("delete"))
    before = load()
    t0 = time.perf_counter()
    outcomes = [attack_one(attack, dict(r, lang=r["lang"]), "question", args.seed) for r in rows]
    run = SearchRun(config={"goal": "em-flip"}, outcomes=outcomes, seconds=time.perf_counter() - t0,
                    engine=engine.stats.as_dict())
    report({"row": "xadv-engine+ta-swap", **summarise(run), "load_before": before, "load_after": load()})

    engine = engine_for(loaded, args)
    before = load()
    run = run_search(engine, rows, SearchSpec("greedy", goal="em-flip", budget=args.budget, max_share=1.0,
                                              max_words=args.max_words, candidates=args.candidates, guided=True),
                     transformation="char-delete", target="question", seed=args.seed)
    report({"row": "xadv", **summarise(run), "load_before": before, "load_after": load()})
    return {"part": "textattack", "model": loaded.name, "fingerprint": loaded.fingerprint,
            "untrained_head": untrained, "lang": args.lang, "settings": settings(args), "rows": out_rows}


# --------------------------------------------------------------------------- main


def fmt(x, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def settings(args) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("func",)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="part", required=True)
    for name in ("random", "textattack"):
        q = sub.add_parser(name)
        q.add_argument("--model", default="default", help="default, a checkpoint dir, or me5-small (untrained "
                                                          "head: plumbing only, never for claims)")
        q.add_argument("--n", type=int, default=40)
        q.add_argument("--budget", type=int, default=100)
        q.add_argument("--max-share", type=float, default=0.2)
        q.add_argument("--candidates", type=int, default=4)
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--batch-size", type=int, default=16)
        q.add_argument("--threads", type=int, default=None)
        q.add_argument("--int8", action="store_true")
        q.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
        q.add_argument("--out", type=Path, default=None)
    r = sub.choices["random"]
    r.add_argument("--langs", default="sw,ru")
    r.add_argument("--transformation", default="keyboard")
    r.add_argument("--goal", default="em-flip")
    r.add_argument("--target", default="question")
    r.add_argument("--save-examples", action="store_true")
    r.add_argument("--start", type=int, default=0,
                   help="first dev question (0-based): a selection slice such as 200 with --n 100 keeps settings "
                        "apart from reported examples")
    r.add_argument("--max-words", type=int, default=None, help="at most this many words changed (with --max-share)")
    r.add_argument("--wir", default="transform", help="greedy word ranking: transform (xadv) or delete (TextAttack)")
    r.add_argument("--curve", default="10,20,30,50", help="also report the ASR these smaller budgets give")
    t = sub.choices["textattack"]
    t.add_argument("--lang", default="sw")
    t.add_argument("--max-words", type=int, default=2, help="words of the question each search may change")
    args = p.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    t0 = time.time()
    result = part_random(args) if args.part == "random" else part_textattack(args)
    result.update({"machine": machine(), "load_end": load(), "wall_seconds": round(time.time() - t0, 1),
                   "date": time.strftime("%Y-%m-%d %H:%M:%S")})
    out = args.out or RESULTS / f"bench_search_{args.part}.json"
    atomic_write_text(out, json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
