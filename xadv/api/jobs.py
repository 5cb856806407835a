"""The API's jobs: clean evaluation, attack cells, the leaderboard and augmentation, each one call into the
code the CLI runs (so the same settings give the same numbers and the same record keys)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attacks.augment import Augmented
from attacks.augment import augment as write_augmented
from xadv.api.inputs import as_model, as_rows
from xadv.errors import XadvError
from xadv.leaderboard import build_leaderboard
from xadv.qa.evaluation import EvalReport
from xadv.runs.suite import ENGINE_KEYS, EvalSuite, ModelRef, SuiteRun, run_suite

__all__ = ["attack", "augment", "build_leaderboard", "evaluate"]

# EvalSuite settings `attack(**settings)` takes; models, data and n have arguments of their own.
SUITE_SETTINGS = ("mode", "criterion", "f1_threshold", "search", "engine", "bootstrap", "device", "min_similarity",
                  "write_adversarial", "allow_pickle")


def _cache_path(cache: bool) -> Path | None:
    from xadv.qa.cache import default_cache_path

    return default_cache_path() if cache else None


def evaluate(model: Any, data: Any, *, n: int | None = None, mode: str = "squad",
             data_dir: str | os.PathLike | None = None, cache: bool = True, progress: bool = False,
             **engine: Any) -> EvalReport:
    """Clean F1/EM per language with 95% bootstrap intervals (what `xadv eval` prints). `engine`: EngineConfig
    settings (batch_size, max_seq_length, doc_stride, precision, num_threads, ...); `cache`: the on-disk
    prediction cache that later attacks of the same model reuse."""
    from xadv.qa.engine import EngineConfig
    from xadv.qa.evaluation import evaluate as run_eval

    unknown = sorted(set(engine) - set(ENGINE_KEYS))
    if unknown:
        raise XadvError(f"evaluate: unknown engine setting(s) {', '.join(unknown)} (known: {', '.join(ENGINE_KEYS)})")
    rows, name = as_rows(data, data_dir, n)
    config = EngineConfig(**engine, cache_path=_cache_path(cache), progress=progress)
    return run_eval(as_model(model), rows, data_name=name, mode=mode, config=config)


def attack(model: Any, data: Any, attacks: str | list[str] = "keyboard", *, targets: str | list[str] = "auto",
           strength: float = 0.2, seeds: int | list[int] = 0, results: str | os.PathLike | None = None,
           n: int | None = None, data_dir: str | os.PathLike | None = None, cache: bool = True,
           progress: bool = False, **settings: Any) -> SuiteRun:
    """Clean vs adversarial cells (language x attack x target x seed), scored and recorded as `xadv attack`
    does (`xadv.runs.run_suite`). `results`: a directory to store the records in and reuse finished cells
    from (None: records stay in memory). `settings`: mode, criterion, f1_threshold, search (a mapping: search,
    goal, budget, ...), engine (a mapping), bootstrap, device, min_similarity, write_adversarial, allow_pickle."""
    unknown = sorted(set(settings) - set(SUITE_SETTINGS))
    if unknown:
        raise XadvError(f"attack: unknown setting(s) {', '.join(unknown)} (known: {', '.join(SUITE_SETTINGS)})")
    rows, name = as_rows(data, data_dir, n)
    layer = {"attacks": attacks, "targets": targets, "strength": strength, "seeds": seeds, "data": name,
             "results": results, "langs": sorted({r["lang"] for r in rows}) or None, **settings}
    suite = EvalSuite.build(layer, where="xadv.attack")
    if results is None:
        suite = suite.override(results=None)
    loader = None
    if isinstance(model, (str, os.PathLike)):
        suite = suite.override(models=(ModelRef(str(model)),))
    else:
        loaded = as_model(model)
        suite = suite.override(models=(ModelRef(loaded.name),))
        loader = lambda ref: loaded  # noqa: E731 - the caller's model, not loaded again
    return run_suite(suite, data_dir=data_dir, rows=rows, loader=loader, progress=progress,
                     cache_path=_cache_path(cache))


def augment(data: Any, attack: str, out: str | os.PathLike, *, copies: int = 1, target: str = "question",
            strength: float = 0.2, seed: int = 0, n: int | None = None,
            data_dir: str | os.PathLike | None = None) -> Augmented:
    """SQuAD-format augmentation (`xadv augment`): every example plus `copies` perturbed copies, seeds
    seed..seed+copies-1, ids `id#attack#seed`, answers remapped, the edit log beside `out`."""
    from xadv.io import check_output_path

    check_output_path(out)  # a bad --out fails before the data is read
    rows, _ = as_rows(data, data_dir, n)
    return write_augmented(rows, attack, out, copies=copies, target=target, strength=strength, seed=seed,
                           data_dir=data_dir)
