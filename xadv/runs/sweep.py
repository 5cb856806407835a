"""`run_sweep`: an `EvalSuite` run as tasks on existing engines: this process, local worker processes, or Ray.

A task (`xadv.runs.plan.SweepTask`) is the cells of one model and one language. Every engine calls the same
worker function, `run_task`, which loads the model once per worker process (kept while the next task needs
the same one), runs each cell through `run_attacks` (so a record is byte-for-byte what `xadv attack` would
write, under the same cell key) and writes it to the results directory as soon as it is finished (atomic,
keyed: a shared directory works directly, and a re-run or a retried task skips what is there).

- `local`: tasks in this process, or in `workers` spawned processes (`concurrent.futures`), each with
  cores / workers threads unless the suite sets `[engine] num_threads`.
- `ray`: tasks as Ray tasks (`num_cpus`, `num_gpus`, `max_retries` from the suite's `[sweep]` table), on
  `ray.init(address)`; a task whose worker dies is retried by Ray and skips the cells it had finished.
  Workers also return their records, so a driver without the workers' filesystem still stores them.
- a shard (`--shard I/N`) runs only its slice of the plan, with either engine.

The driver re-checks every record a worker hands back (`xadv.runs.verify.check_record`: digest, seal,
cell key, summary) before counting it: results are checked, not trusted, wherever they were computed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from xadv.device import resolve_device
from xadv.errors import XadvError
from xadv.io import check_output_dir
from xadv.paths import data_dir as resolve_data_dir
from xadv.progress import Bar
from xadv.runs.attack import CellOutcome, run_attacks
from xadv.runs.plan import SweepPlan, SweepTask, row_pair
from xadv.runs.seal import results_key
from xadv.runs.store import ResultsStore
from xadv.runs.suite import EvalSuite, engine_for, load_model, suite_rows
from xadv.runs.verify import FAILING, check_record
from xadv.types import Target

ENGINES = ("local", "ray")


@dataclass
class SweepResult:
    """What a sweep (or one shard of it) did: the plan, the tasks run here, every cell's outcome in plan
    order, and leftovers of interrupted writers found in the results directory."""

    plan: SweepPlan
    tasks: list[SweepTask]
    outcomes: list[CellOutcome]
    engine: str
    workers: int
    seconds: float
    partial_files: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"computed": 0, "cached": 0, "skipped": 0}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out


# --- the worker ---------------------------------------------------------------------------------------

_LOADED: dict[tuple, tuple[Any, Any]] = {}  # per worker process: the last model and its engine
_ROWS: dict[tuple, list[Mapping]] = {}


def run_task(suite: EvalSuite, task: SweepTask, *, data_dir: str | None = None,
             cache_path: str | None = None) -> list[CellOutcome]:
    """Run one task's cells (the worker side of every engine); records go to `suite.results` when set."""
    ref = suite.models[task.model]
    mkey = (ref, suite.allow_pickle, suite.device, suite.engine, cache_path)
    if mkey not in _LOADED:
        _LOADED.clear()  # one model per worker at a time: tasks come grouped by model
        loaded = load_model(ref, suite)
        _LOADED[mkey] = (loaded, engine_for(loaded, suite, cache_path=cache_path))
    loaded, engine = _LOADED[mkey]
    rkey = (suite.data, task.lang, suite.n, data_dir)
    if rkey not in _ROWS:
        _ROWS.clear()
        _ROWS[rkey] = suite_rows(replace(suite, langs=(task.lang,)), data_dir)
    rows = [r for r in _ROWS[rkey] if row_pair(r) == (task.lang, task.question_lang)]
    store = ResultsStore(suite.results) if suite.results is not None else None
    params = {"data_dir": str(resolve_data_dir(data_dir))}
    out: list[CellOutcome] = []
    for cell in task.cells:
        settings = replace(suite.cell_settings(cell.seed), attacks=(cell.attack,),
                           targets=(Target.parse(cell.target),))
        out += run_attacks(loaded, rows, settings, attack_params=params, store=store, engine=engine,
                           write_adversarial=suite.write_adversarial)
    return out


def _release() -> None:
    _LOADED.clear()
    _ROWS.clear()


# --- engines --------------------------------------------------------------------------------------------


def run_sweep(suite: EvalSuite, plan: SweepPlan, tasks: Sequence[SweepTask], *, engine: str = "local", workers: int = 1,
              address: str | None = None, data_dir: str | os.PathLike | None = None,
              cache_path: str | os.PathLike | None = None, progress: bool = False,
              on_task: Callable[[SweepTask, list[CellOutcome]], None] | None = None) -> SweepResult:
    """Run `tasks` (all of the plan's, or one shard's) on `engine` and check what comes back."""
    if engine not in ENGINES:
        raise XadvError(f"unknown engine {engine!r} (use {' or '.join(ENGINES)})")
    if workers < 1:
        raise XadvError(f"--workers must be >= 1, got {workers}")
    suite = portable(suite)
    for folder in (suite.results, suite.write_adversarial):  # a bad output folder fails now, not after computing
        if folder is not None:
            check_output_dir(folder)
    if engine == "local":
        resolve_device(suite.device)  # an absent GPU is an error now (Ray nodes have their own devices)
    dd = str(Path(data_dir).resolve()) if data_dir is not None else None
    cp = str(cache_path) if cache_path is not None else None
    key = results_key()
    store = ResultsStore(suite.results) if suite.results is not None else None
    t0 = time.perf_counter()
    done: dict[int, list[CellOutcome]] = {}
    total = sum(len(t.cells) for t in tasks)

    with Bar("sweep cells", total, enabled=progress) as bar:
        def finish(task: SweepTask, outcomes: list[CellOutcome]) -> None:
            for o in outcomes:
                _accept(o, store, key)
            done[task.index] = outcomes
            bar.advance(len(task.cells))
            if on_task:
                on_task(task, outcomes)

        if engine == "ray":
            _run_ray(suite, tasks, finish, address=address, workers=workers, data_dir=dd)
        elif workers == 1 or len(tasks) <= 1:
            try:
                for t in tasks:
                    finish(t, run_task(suite, t, data_dir=dd, cache_path=cp))
            finally:
                _release()
        else:
            _run_processes(suite, tasks, finish, workers=workers, data_dir=dd, cache_path=cp)
    outcomes = [o for t in sorted(tasks, key=lambda t: t.index) for o in done.get(t.index, [])]
    partial = sorted(suite.results.glob(".*.part")) if suite.results is not None and suite.results.is_dir() else []
    return SweepResult(plan, list(tasks), outcomes, engine, workers, round(time.perf_counter() - t0, 2), partial)


def portable(suite: EvalSuite) -> EvalSuite:
    """The suite with every local path absolute, so a worker whose working directory differs (a Ray worker, a
    spawned process) reads and writes the same files."""
    def absolute(p: Path | None) -> Path | None:
        return p.resolve() if p is not None else None

    models = tuple(replace(m, path=str(Path(m.path).resolve())) if Path(m.path).exists() else m for m in suite.models)
    data = suite.data
    if data is not None and Path(data).exists():
        data = str(Path(data).resolve())
    return replace(suite, models=models, data=data, results=absolute(suite.results),
                   write_adversarial=absolute(suite.write_adversarial))


def _accept(o: CellOutcome, store: ResultsStore | None, key: bytes | None) -> None:
    """Check a record a worker computed (or found); store it here when the worker's copy is not visible."""
    if o.record is None:
        return
    raw = o.record.to_dict()
    bad = [f for f in check_record(raw, key=key) if f.kind in FAILING]
    if bad:
        hint = " (set XADV_RESULTS_KEY on every worker as on this machine)" if bad[0].kind == "unsealed" else ""
        raise XadvError(f"a worker's record for {o.lang}/{o.attack}/{o.target} failed its check: {bad[0].kind}: "
                        f"{bad[0].message}{hint}")
    if store is not None and not store.path_for(o.record.cell).exists():
        o.path = store.put(o.record)


def _threads_each(suite: EvalSuite, workers: int) -> EvalSuite:
    if suite.engine.num_threads is not None:
        return suite
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return replace(suite, engine=replace(suite.engine, num_threads=max(1, cores // workers)))


def _run_processes(suite: EvalSuite, tasks: Sequence[SweepTask], finish: Callable, *, workers: int,
                   data_dir: str | None, cache_path: str | None) -> None:
    suite = _threads_each(suite, workers)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=get_context("spawn")) as pool:
        pending = {pool.submit(run_task, suite, t, data_dir=data_dir, cache_path=cache_path): t for t in tasks}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                finish(task, fut.result())  # an XadvError in a worker comes back as itself


def _run_ray(suite: EvalSuite, tasks: Sequence[SweepTask], finish: Callable, *, address: str | None, workers: int,
             data_dir: str | None) -> None:
    """Ray tasks; each worker keeps its predictions in memory (no prediction cache: a sqlite file shared
    between nodes is neither safe nor useful)."""
    try:
        import ray
    except ImportError:
        raise XadvError("--engine ray needs Ray: pip install -e '.[ray]'") from None
    res = suite.sweep
    if suite.engine.num_threads is None:
        suite = replace(suite, engine=replace(suite.engine, num_threads=max(1, int(res.num_cpus))))
    # Ray prints worker failures ("(raylet) Task ... failed") on stdout: stdout stays ours (--json)
    with contextlib.redirect_stdout(sys.stderr):
        _ray_tasks(ray, suite, tasks, finish, address=address, workers=workers, data_dir=data_dir)


def _ray_tasks(ray: Any, suite: EvalSuite, tasks: Sequence[SweepTask], finish: Callable, *, address: str | None,
               workers: int, data_dir: str | None) -> None:
    res = suite.sweep
    started = not ray.is_initialized()
    if started:
        try:
            if address is None:
                ray.init(num_cpus=workers * max(1, int(res.num_cpus)), include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise XadvError(f"cannot reach the Ray cluster at {address or 'a new local instance'}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    try:
        remote = ray.remote(num_cpus=res.num_cpus, num_gpus=res.num_gpus, max_retries=res.max_retries,
                            retry_exceptions=False)(run_task)
        suite_ref = ray.put(suite)
        pending = {remote.remote(suite_ref, t, data_dir=data_dir): t for t in tasks}
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                task = pending.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)  # the exception the task raised
                    if isinstance(cause, XadvError):
                        raise XadvError(str(cause)) from None
                    raise XadvError(f"task {task.index} ({task.lang}) failed on a Ray worker: "
                                    f"{str(exc).strip().splitlines()[-1]}") from None
                except ray.exceptions.RayError as exc:  # the worker died more often than max_retries
                    raise XadvError(f"task {task.index} ({task.lang}) lost its Ray worker "
                                    f"{res.max_retries + 1} time(s): {type(exc).__name__}; re-run the sweep to "
                                    f"resume (finished cells are kept)") from None
                finish(task, outcomes)
    finally:
        if started:
            ray.shutdown()
