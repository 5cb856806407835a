"""Running the grid, resumably: train every cell (`xadv.train`), evaluate every cell clean and under the
budget's attack cells (`xadv.runs.run_suite`), then export the records, models and run record and render
the table. `plan` shows the same grid and what is already done, running nothing."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attacks.spec import AttackSpec
from xadv.data import load_qa
from xadv.experiments.contrasts import REGISTERED
from xadv.experiments.ledger import LEDGER_DIR, FinishedCell, Ledger
from xadv.experiments.machine import (
    cpu_seconds,
    describe_device,
    device_info,
    is_main_process,
    load_average,
    machine_info,
    now,
    threads,
)
from xadv.experiments.parts import PARTS_FILE, PartsLog, RunPart
from xadv.experiments.pilot import diverged, stand_in_seed
from xadv.experiments.registration import plan_commit
from xadv.experiments.report import render
from xadv.experiments.sample import evaluation_sample
from xadv.experiments.spec import (
    EVAL_DATA,
    Budget,
    ExperimentError,
    GridCell,
    Settings,
    data_label,
    plan_grid,
    seen_qa_languages,
    train_config,
)
from xadv.experiments.store import (
    READING_PLACEHOLDER,
    RUN_FILE,
    RUN_SCHEMA,
    TIMINGS_FILE,
    export,
    model_entry,
    read_json,
    write_json,
)
from xadv.io import git_commit
from xadv.models.card import read_card, software
from xadv.qa.engine import EngineConfig
from xadv.qa.evaluation import first_n_per_language
from xadv.runs import EvalSuite, ModelRef, ResultsStore, run_suite
from xadv.train import TrainConfig
from xadv.train import pipeline as train_pipeline

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class RunOptions:
    """The options of one run (or plan) of the grid, as the command line gives them.

    `root` is the repository: the default models and results directories live under it and the paths a run
    records are relative to it. `command` is what run.json records as the command line."""

    budget: str
    config: Path
    root: Path
    data_dir: Path
    base: str | None = None
    mixes: str | None = None
    tasks: str | None = None
    seeds: str | None = None
    no_baseline: bool = False
    n_per_lang: int | None = None
    sets: list[str] = field(default_factory=list)
    runs: Path | None = None
    store: Path | None = None
    results: Path | None = None
    quiet: bool = False
    command: str = ""


@dataclass
class Prepared:
    """A checked grid with its training configs, directories and device."""

    settings: Settings
    budget: Budget
    grid: list[GridCell]
    configs: dict[str, TrainConfig]
    runs: Path
    store: Path
    results: Path
    device: dict


def rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "base"


def resolve_paths(budget: Budget, *, root: Path, base: str | None = None, runs: Path | None = None,
                  store: Path | None = None, results: Path | None = None) -> tuple[Path, Path, Path]:
    """runs/experiment/<budget>[-<base>]/, its records/, benchmarks/results/experiment/<budget>[-<base>]/ (under
    `root`), unless given."""
    base = base or budget.base
    name = budget.name if not base else f"{budget.name}-{_slug(Path(base).name if os.sep in base else base)}"
    runs = Path(runs) if runs else root / "runs" / "experiment" / name
    store = Path(store) if store else runs / "records"
    results = Path(results) if results else root / "benchmarks" / "results" / "experiment" / name
    return runs, store, results


# --- training ---------------------------------------------------------------------------------------

def training_state(out: Path, digest: str) -> str:
    """'done' (a finished run of this config with its card), 'partial' (resumable) or 'new'.

    A directory holding a run of a different config is an error: reusing it would mix recipes."""
    run_file = out / train_pipeline.RUN_FILE
    if not run_file.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise ExperimentError(f"{out} is not empty and holds no xadv training run: choose another --runs")
        return "new"
    record = read_json(run_file, None)
    if not isinstance(record, dict):
        raise ExperimentError(f"{run_file}: unreadable training record; delete {out} to retrain")
    if record.get("digest") != digest:
        raise ExperimentError(f"{out} holds a model trained with a different config (digest "
                              f"{str(record.get('digest'))[:12]}, now {digest[:12]}): delete it or choose "
                              f"another --runs")
    return "done" if "target" in record.get("done", {}) and read_card(out) is not None else "partial"


def train_cell(config: TrainConfig, out: Path, *, data_dir: Path, quiet: bool, log: Log) -> tuple[dict, bool]:
    """Train (or resume) one model; a finished one is skipped. Returns its card and whether it trained now."""
    if training_state(out, config.digest()) == "done":
        return read_card(out), False
    result = train_pipeline.train(config, out, data_dir=data_dir, progress=not quiet, evaluate=False,
                                  log=lambda m: log(f"   {m}"))
    return result.card, True


# --- evaluation under attack ---------------------------------------------------------------------------

def eval_rows(data_dir: Path, n_per_lang: int, sample: str = "first") -> list[dict]:
    """The dev questions every model is evaluated on: the first N per language (all with N = 0), or the
    registered v2 sample (`xadv.experiments.sample`)."""
    rows = list(load_qa(EVAL_DATA, data_dir))
    if sample == "registered":
        return list(evaluation_sample(rows).rows(rows))
    return list(first_n_per_language(rows, n_per_lang or None))


def evaluate_cell(cell: GridCell, model_dir: Path, rows: list[dict], store: ResultsStore, budget: Budget, *,
                  device: str, data_dir: Path, quiet: bool, log: Log) -> dict:
    """Clean and adversarial evaluation of one model, one record per language x attack cell (resumable):
    one `run_suite` over the budget's attack cells, the model loaded once.

    Returns {"records": [...], "computed": n, "cached": n, "skipped": [(lang, label, reason)]}."""
    specs = [AttackSpec.parse(f"{ac.attack}:{ac.target}") for ac in budget.attacks]
    suite = EvalSuite(models=(ModelRef(str(model_dir), name=cell.id),),  # records name the grid cell
                      langs=tuple(dict.fromkeys(r["lang"] for r in rows)), attacks=tuple(specs),
                      seeds=(budget.attack_seed,), strength=budget.strength, mode="squad",
                      data=data_label(budget.n_per_lang, budget.sample),
                      engine=EngineConfig(batch_size=budget.eval_batch_size),
                      results=store.root, device=device)
    outcomes = run_suite(suite, data_dir=data_dir, rows=rows, progress=not quiet).outcomes
    out: dict[str, Any] = {"records": [], "computed": 0, "cached": 0, "skipped": []}
    for ac, spec in zip(budget.attacks, specs):
        mine = [o for o in outcomes if (o.attack, o.target) == (spec.label, ac.target)]
        out["skipped"] += [(o.lang, ac.label, o.reason) for o in mine if o.status == "skipped"]
        done = [o for o in mine if o.record is not None]
        for o in done:
            out[o.status] += 1
            out["records"].append(o.record.to_dict())
        if done:
            clean = sum(o.record.summary["clean_f1"] for o in done) / len(done)
            robust = sum(o.record.summary["robust_f1"] for o in done) / len(done)
            log(f"   {ac.label}: {sum(o.status == 'computed' for o in done)} computed, "
                f"{sum(o.status == 'cached' for o in done)} cached; mean clean F1 {clean:.1f}, robust F1 {robust:.1f}")
    return out


# --- the run -------------------------------------------------------------------------------------------

def prepare(opts: RunOptions, say: Log) -> Prepared:
    """Check the options, build every cell's training config, find the device and say what will run."""
    settings, budget, grid = plan_grid(opts.config, opts.budget, mixes=opts.mixes, tasks=opts.tasks,
                                       seeds=opts.seeds, n_per_lang=opts.n_per_lang, no_baseline=opts.no_baseline)
    runs, store, results = resolve_paths(budget, root=opts.root, base=opts.base, runs=opts.runs, store=opts.store,
                                         results=opts.results)
    configs = {c.id: train_config(c, settings, budget, base=opts.base, extra_sets=opts.sets) for c in grid}
    dev = device_info()
    say(f"device: {describe_device(dev)}")
    if budget.name == "full" and dev["type"] == "cpu":
        say("warning: --budget full is sized for a GPU; on this CPU it would take days (use --budget small)")
    first = next(iter(configs.values()))
    say(f"budget {budget.name}: preset {budget.preset}, base {first.base}, {len(grid)} models "
        f"({', '.join(c.id for c in grid)}), dev {data_label(budget.n_per_lang, budget.sample)}, attacks "
        f"{', '.join(a.label for a in budget.attacks)}")
    say(f"models in {rel(runs, opts.root)}/, records in {rel(store, opts.root)}/, outputs in "
        f"{rel(results, opts.root)}/")
    return Prepared(settings, budget, grid, configs, runs, store, results, dev)


def _stand_in(cell: GridCell, card: dict, p: Prepared) -> GridCell | None:
    """Amendment 5 of the v2 plan (`stand_ins = true` in the TOML): a diverged training of one of the budget's
    seeds gets a stand-in, the same arm with seed + 10; a stand-in that diverges gets none."""
    if not p.settings.stand_ins or cell.seed not in p.budget.seeds or not diverged(card):
        return None
    return GridCell(cell.mix, cell.task, stand_in_seed(cell.seed), cell.intermediate)


def run_order(grid: list[GridCell], registered: bool) -> list[GridCell]:
    """The order a run takes the models in. Under a registered plan, the models of the registered contrasts
    (`contrasts.REGISTERED`) come first, seed by seed as the grid lists them, then the exploratory ones: a run
    cut short (a budget of CPU-days) has answered the registered questions first. Outputs keep the grid's order."""
    if not registered:
        return list(grid)
    arms = {group for c in REGISTERED for group in (*c.plus, *c.minus)}
    return sorted(grid, key=lambda c: c.group not in arms)


def _add_time(timings: dict, cell_id: str, kind: str, t0: float, c0: float, runs: Path) -> None:
    """Add this part's wall and CPU seconds since (t0, c0) to a cell's `kind` (train | eval) time in
    timings.json: a cell resumed over several parts sums them, including a part killed inside it."""
    t = timings.setdefault(cell_id, {})
    t[f"{kind}_wall_seconds"] = round(t.get(f"{kind}_wall_seconds", 0.0) + time.perf_counter() - t0, 1)
    t[f"{kind}_cpu_seconds"] = round(t.get(f"{kind}_cpu_seconds", 0.0) + cpu_seconds() - c0, 1)
    write_json(runs / TIMINGS_FILE, timings)


def plan(opts: RunOptions, say: Log = _stderr) -> list[dict]:
    """The grid and what is done: per model its id, training state (new, partial, done, or diverged with the
    id of its stand-in, which follows in the list), intermediate tasks and the TyDi languages whose QA data it
    trains on (not zero-shot), the minutes its training and evaluation took so far (summed over parts) and its
    records (in the ledger once it is finished, else in the store). Runs nothing."""
    p = prepare(opts, say)
    ledger = Ledger(p.results / LEDGER_DIR)
    timings = read_json(p.runs / TIMINGS_FILE, {})
    records: dict[str, int] = {}
    if p.store.is_dir():
        for _, rec in ResultsStore(p.store).records():
            name = str((rec.get("model") or {}).get("name"))
            records[name] = records.get(name, 0) + 1
    rows = []
    for c in p.grid:  # grows by the stand-ins of diverged trainings (amendment 5) as they are found
        entry = ledger.get(c.id, p.configs[c.id].digest())
        state = "done" if entry else training_state(p.runs / c.id, p.configs[c.id].digest())
        card = entry.card if entry else read_card(p.runs / c.id) if state == "done" else None
        stand_in = _stand_in(c, card, p) if card else None
        if stand_in is not None and stand_in.id not in p.configs:
            p.grid.append(stand_in)
            p.configs[stand_in.id] = train_config(stand_in, p.settings, p.budget, base=opts.base, extra_sets=opts.sets)
            state = "diverged"
        rows.append({"id": c.id, "state": state, "intermediate": list(c.intermediate),
                     "seen_qa_languages": seen_qa_languages(p.configs[c.id], opts.data_dir),
                     **_minutes(entry.timing if entry else timings.get(c.id, {})),
                     "records": len(entry.records) if entry else records.get(c.id, 0),
                     **({"stand_in": stand_in.id} if stand_in is not None else {})})
    return rows


def _minutes(timing: dict) -> dict[str, float | None]:
    return {f"{kind}_minutes": (round(timing[f"{kind}_wall_seconds"] / 60, 1)
                                if f"{kind}_wall_seconds" in timing else None) for kind in ("train", "eval")}


@dataclass(frozen=True)
class Progress:
    """How far a grid is, from `plan`'s rows: models trained and with records, trainings and evaluations left
    (a partial training counts half), the measured mean minutes of each, and the hours left at that pace."""

    models: int
    trained: int
    evaluated: int
    train_left: float
    eval_left: int
    train_minutes: float | None  # mean over the trained models whose time timings.json holds
    eval_minutes: float | None

    @classmethod
    def of(cls, rows: list[dict]) -> Progress:
        trained = [r for r in rows if r["state"] in ("done", "diverged")]
        evaluated = [r for r in rows if r["records"]]
        train = [r["train_minutes"] for r in trained if r["train_minutes"]]
        ev = [r["eval_minutes"] for r in evaluated if r["eval_minutes"]]
        return cls(len(rows), len(trained), len(evaluated),
                   sum({"new": 1.0, "partial": 0.5}.get(r["state"], 0.0) for r in rows),
                   len(rows) - len(evaluated), sum(train) / len(train) if train else None,
                   sum(ev) / len(ev) if ev else None)

    def line(self) -> str:
        def left(n: float, mean: float | None, what: str) -> str:
            if not n:
                return f"no {what} left"
            if mean is None:
                return f"{n:g} {what}s left, not yet timed"
            return f"{n:g} {what}s left at {mean:.0f} min: about {n * mean / 60:.1f} h"

        return (f"{self.trained}/{self.models} trained, {self.evaluated}/{self.models} with records; "
                f"{left(self.train_left, self.train_minutes, 'training')}; "
                f"{left(self.eval_left, self.eval_minutes, 'evaluation')}")


def run(opts: RunOptions, say: Log | None = None) -> dict | None:
    """Train and evaluate the grid (resuming), export records.json.gz, models.json, run.json and render
    results.md and plots/. Returns run.json's content (None in a process other than process 0).

    One process takes the models one at a time, training then evaluating each and writing its ledger entry
    (`xadv.experiments.ledger`), so that every finished model survives the loss of `runs/`; several processes
    (accelerate launch, torchrun) train every model first, then process 0 evaluates them."""
    main = is_main_process()
    if say is None:
        say = _stderr if main else (lambda m: None)
    p = prepare(opts, say)
    budget, grid, configs, runs, root = p.budget, p.grid, p.configs, p.runs, opts.root
    data_dir = Path(opts.data_dir)
    registered = plan_commit(p.settings.plan) if p.settings.plan else None  # refuses an uncommitted plan
    if registered:
        say(f"registered plan {registered.path} at commit {registered.commit[:12]} ({registered.committed})")

    t_start = time.perf_counter()
    started = now()
    load_start = load_average()
    runs.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(p.results / LEDGER_DIR)
    timings = read_json(runs / TIMINGS_FILE, {})
    # every entry is checked before this part is logged: a ledger that refuses the config (another digest,
    # damage) stops the run here, not after parts.json has gained a part that did nothing
    earlier = {c.id: ledger.get(c.id, configs[c.id].digest()) for c in grid} if main else {}
    parts = PartsLog(ledger.root / PARTS_FILE, RunPart(
        started=started, last=started, wall_seconds=0.0, command=opts.command, git_commit=git_commit(),
        cpu=machine_info().get("processor"), device=describe_device(p.device), threads=threads().get("torch"))) \
        if main else None
    processes = int(os.environ.get("WORLD_SIZE", "1") or 1)  # > 1: accelerate launch / torchrun
    one_by_one = processes == 1
    with parts.recording() if parts else nullcontext():  # a killed part keeps its last moment
        cards: dict[str, dict] = {}
        finished: dict[str, FinishedCell] = {}
        stands_in: dict[str, str] = {}  # stand-in id -> the diverged model's id (amendment 5)
        rows = eval_rows(data_dir, budget.n_per_lang, budget.sample) if main else []
        store = ResultsStore(p.store)
        eval_device = "cuda" if p.device["type"] == "cuda" else "cpu"

        def evaluate(k: int, cell: GridCell) -> None:
            t0, c0 = time.perf_counter(), cpu_seconds()
            say(f"[{k}/{len(queue)}] {cell.id}: evaluating {len(rows)} questions clean and under "
                f"{len(budget.attacks)} attack cells")
            ev = None
            try:
                ev = evaluate_cell(cell, runs / cell.id, rows, store, budget, device=eval_device,
                                   data_dir=data_dir, quiet=opts.quiet, log=say)
            finally:  # as for a training: a killed evaluation keeps the cells it finished, and its time counts
                if ev is None or ev["computed"]:
                    _add_time(timings, cell.id, "eval", t0, c0, runs)
            finished[cell.id] = FinishedCell(cell.id, configs[cell.id].digest(), cards[cell.id],
                                             dict(timings.get(cell.id, {})), ev["records"], ev["skipped"])
            say(f"   ledger: {rel(ledger.put(finished[cell.id]), root)}")
            if ev["computed"]:
                parts.save(evaluated=cell.id)

        queue = run_order(grid, registered is not None)
        for k, cell in enumerate(queue, 1):  # grows by the stand-ins of diverged trainings as they are found
            out = runs / cell.id
            entry = earlier[cell.id] if cell.id in earlier else ledger.get(cell.id, configs[cell.id].digest())
            if entry is not None:
                say(f"[{k}/{len(queue)}] {cell.id}: trained and evaluated in an earlier part "
                    f"({rel(ledger.path(cell.id), root)}): skipped")
                finished[cell.id] = entry
                cards[cell.id] = entry.card
            else:
                t0, c0 = time.perf_counter(), cpu_seconds()
                say(f"[{k}/{len(queue)}] {cell.id}: training into {rel(out, root)}")
                trained = True  # until train_cell says otherwise: a part killed inside a training spent its time on it
                try:
                    cards[cell.id], trained = train_cell(configs[cell.id], out, data_dir=data_dir, quiet=opts.quiet,
                                                         log=say)
                finally:
                    if main and trained:
                        _add_time(timings, cell.id, "train", t0, c0, runs)
                if trained:
                    if main:
                        parts.save(trained=cell.id)
                else:
                    say("   already trained (model card found): skipped")
            stand_in = _stand_in(cell, cards[cell.id], p)
            if stand_in is not None and stand_in.id not in configs:
                say(f"   {cell.id} diverged (its target loss did not fall): {stand_in.id} stands in for it")
                grid.append(stand_in)  # reported after the grid's own models
                queue.insert(k, stand_in)  # run next
                stands_in[stand_in.id] = cell.id
                configs[stand_in.id] = train_config(stand_in, p.settings, budget, base=opts.base, extra_sets=opts.sets)
            if main and one_by_one and cell.id not in finished:
                evaluate(k, cell)
        if not main:  # multi-process training: process 0 evaluates
            return None
        for k, cell in enumerate(queue, 1):
            if cell.id not in finished:
                evaluate(k, cell)

        records = [r for c in grid for r in finished[c.id].records]
        skipped = {(lang, label): reason for c in grid for lang, label, reason in finished[c.id].skipped}
        timings = {c.id: finished[c.id].timing for c in grid}
        models = [{**model_entry(c, cards[c.id], rel(runs / c.id, root), configs[c.id].digest()),
                   "diverged": diverged(cards[c.id]), "stands_in_for": stands_in.get(c.id)} for c in grid]
        for m in models:
            m["timing"] = timings.get(m["id"], {})
        wall = round(time.perf_counter() - t_start, 1)
        cell_total = sum(t.get("train_wall_seconds", 0) + t.get("eval_wall_seconds", 0)
                         for cid, t in timings.items() if cid in configs)
        cell_cpu = sum(t.get("train_cpu_seconds", 0) + t.get("eval_cpu_seconds", 0)
                       for cid, t in timings.items() if cid in configs)
        old = read_json(p.results / RUN_FILE, {})
        first = next(iter(configs.values()))
        parts.save(finished=True)
        info = {
            "schema": RUN_SCHEMA,
            "command": opts.command,
            "budget": budget.name,
            "settings": {"config": rel(p.settings.path, root), "preset": budget.preset, "base": first.base,
                         "seeds": sorted({c.seed for c in grid}), "n_per_lang": budget.n_per_lang or None,
                         **({"sample": budget.sample} if budget.sample != "first" else {}),
                         "eval_data": EVAL_DATA, "questions": len(rows), "attacks": [a.label for a in budget.attacks],
                         "strength": budget.strength, "attack_seed": budget.attack_seed, "mode": "squad",
                         "criterion": "em", "en_share": p.settings.en_share, "sets": [*budget.sets, *opts.sets],
                         **({"stand_ins": True} if p.settings.stand_ins else {}),
                         "task_names": p.settings.task_names},
            "grid": [c.id for c in grid],
            "processes": processes,
            "threads": threads(),
            "machine": machine_info(),
            "device": p.device,
            "software": software(),
            "started": started, "finished": now(),
            "wall_seconds": wall,
            "cell_seconds": {cid: t for cid, t in timings.items() if cid in configs},
            "cell_seconds_total": round(cell_total, 1),
            "cell_cpu_seconds_total": round(cell_cpu, 1),
            "load_average": {"start": load_start, "end": load_average()},
            "parts": parts.to_list(),
            **({"plan": registered.to_dict()} if registered else {}),
            "records": len(records),
            "skipped_cells": [{"lang": lang, "attack": label, "reason": reason}
                              for (lang, label), reason in sorted(skipped.items())],
            "reading": (old.get("reading") if isinstance(old.get("reading"), dict)
                        else {"text": None, "note": READING_PLACEHOLDER}),
        }
        export(p.results, records, models, info)
        md = render(p.results)
        say(f"done in {wall / 60:.1f} min (grid cells {cell_total / 60:.1f} min in all runs): {rel(md, root)}")
        return info
