"""The research experiment: do English-only, multilingual-only or mixed intermediate tasks make TyDi QA
transfer more robust?

The grid (benchmarks/experiment.toml): mix {en, multi, mixed} x intermediate task {qa, nli (XNLI),
paraphrase (PAWS-X), all three}, plus one baseline without an intermediate phase (target fine-tuning
only; it does not depend on the mix, so it is trained once per seed): 13 models per seed. Every model
then gets the same target fine-tuning on English TyDi QA GoldP train (`xadv.train`) and is evaluated on
the same TyDi GoldP dev questions in all 9 languages, clean and under the budget's attack cells
(`xadv.runs.run_attacks`: keyboard typos and character noise on the question, code-mixing, keyboard
typos in the context, distractor sentences; more under `full`). One `xadv.attack-record/1` record per
model x language x attack cell.

Not zero-shot: the `qa` intermediate data of the `multi` and `mixed` mixes includes TyDi QA train ko/sw,
so ko and sw are NOT zero-shot for those models (and en never is: it is the target language). The
model cards record the seen languages, every record carries the zero-shot flag per language, and the
table marks seen cells with * and compares models on the languages zero-shot for both as well.

    python benchmarks/experiment.py --budget small         # the whole grid on 2 CPU cores
    python benchmarks/experiment.py --budget full          # a GPU: gpu preset, full dev, 3 seeds
    python benchmarks/experiment.py --budget small --dry-run   # the grid and what is done
    python benchmarks/experiment.py render --results benchmarks/results/experiment/small
    # your own encoder, on a GPU cluster (training runs in every process, evaluation in process 0):
    accelerate launch benchmarks/experiment.py --budget full --base xlm-roberta-large

Cost of `--budget small` (this 2-core Xeon with AMX bf16, torch 2.13 CPU; `run.json` of a real run holds
the exact figures per cell). One grid cell is 80 intermediate steps + 90 target steps of 16 windows of at
most 256 tokens, then 30 questions x 9 languages clean and under 5 attack cells. On the idle machine with
2 torch threads a TyDi target step takes about 2.7 s and an intermediate step 0.7-2 s (XNLI / PAWS-X pairs
are short), so a cell is about 6 minutes of training plus its evaluation, and the 13-model grid about
1.5 hours (87.6 min in the committed run). On a machine other jobs keep busy, two torch threads are much
slower than one (7.8 s instead of 2.8 s per target step measured here): run with XADV_NUM_THREADS=1 then. The thread count changes the trained weights slightly
(bf16 reductions), so it is recorded in run.json. Budget `full` is for a GPU (3 x 13 models of the gpu
preset, all 5,077 dev questions, 10 attack cells).

Resume: running the same command again skips every model whose directory holds a finished run (its
model card) and every attack cell already in the results store (by cell key); an interrupted training
continues from its last save. Models go to `runs/experiment/<budget>/<cell>/` (git-ignored), records to
`runs/experiment/<budget>/records/`; the outputs to keep go to `benchmarks/results/experiment/<budget>/`:
`records.json.gz` (every record of the grid: gunzipped, an `xadv attack --out` run file that `xadv
leaderboard --results` reads), `models.json` (the cards' essentials), `run.json` (command, machine, device, wall
time, versions, the reading), `results.md` and `plots/`. `render` rebuilds the last two from the first
three alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from xadv.errors import XadvError  # noqa: E402
from xadv.langs import TYDI_LANGS  # noqa: E402

DEFAULT_CONFIG = REPO / "benchmarks" / "experiment.toml"
MIXES: tuple[str, ...] = ("en", "multi", "mixed")
MIX_COLORS: dict[str, str] = {"en": "tab:blue", "multi": "tab:green", "mixed": "tab:orange"}  # every plot
BASELINE = "baseline"
EVAL_DATA = "tydiqa:all:dev"
RECORDS_FILE, MODELS_FILE, RUN_FILE, TABLE_FILE, PLOTS_DIR = (
    "records.json.gz", "models.json", "run.json", "results.md", "plots")
TIMINGS_FILE = "timings.json"
RUN_SCHEMA, MODELS_SCHEMA = "xadv.experiment-run/1", "xadv.experiment-models/1"
READING_PLACEHOLDER = ("(to be written from the real run: what the numbers say about mixed vs en vs multi "
                       "and QA vs NLI vs paraphrase, with the caveats of the budget)")
CELL_ID = re.compile(r"^(?:(?P<baseline>baseline)|(?P<mix>[a-z]+)-(?P<task>[a-z]+))-s(?P<seed>-?\d+)$")


class ExperimentError(XadvError):
    """Bad experiment input (unknown budget, mix or task, malformed config): one line, exit 2."""


# --- settings and the grid ------------------------------------------------------------------------

@dataclass(frozen=True)
class AttackCell:
    attack: str
    target: str

    @property
    def label(self) -> str:
        return f"{self.attack}/{self.target}"


@dataclass
class Budget:
    name: str
    preset: str
    seeds: list[int]
    n_per_lang: int
    attack_seed: int
    strength: float
    eval_batch_size: int
    sets: list[str]
    attacks: list[AttackCell]
    base: str | None = None


@dataclass
class Settings:
    mixes: list[str]
    tasks: list[str]
    baseline: bool
    en_share: float
    task_names: dict[str, list[str]]
    budgets: dict[str, dict]
    path: Path


@dataclass(frozen=True)
class GridCell:
    """One model of the grid: a mix and an intermediate task (both None for the baseline) and a seed."""

    mix: str | None
    task: str | None
    seed: int
    intermediate: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return BASELINE if self.mix is None else f"{self.mix}-{self.task}"

    @property
    def id(self) -> str:
        return f"{self.group}-s{self.seed}"


def _need(table: dict, key: str, kind: type | tuple, where: str) -> Any:
    if key not in table:
        raise ExperimentError(f"{where}: missing key {key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ExperimentError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def read_settings(path: str | os.PathLike = DEFAULT_CONFIG) -> Settings:
    """The experiment TOML, checked (ExperimentError, one line, for anything malformed)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExperimentError(f"{path}: experiment config not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExperimentError(f"{path}: invalid TOML ({exc})") from None
    where = path.name
    task_names = _need(raw, "task_names", dict, where)
    for name, tasks in task_names.items():
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
            raise ExperimentError(f"{where}: task_names.{name} must be a non-empty list of training tasks")
    settings = Settings(
        mixes=list(_need(raw, "mixes", list, where)), tasks=list(_need(raw, "tasks", list, where)),
        baseline=bool(raw.get("baseline", True)), en_share=float(raw.get("en_share", 0.5)),
        task_names={k: list(v) for k, v in task_names.items()},
        budgets=_need(raw, "budget", dict, where), path=path)
    for mix in settings.mixes:
        if mix not in MIXES:
            raise ExperimentError(f"{where}: unknown mix {mix!r} (choose from {', '.join(MIXES)})")
    for task in settings.tasks:
        if task not in settings.task_names:
            raise ExperimentError(f"{where}: task {task!r} has no entry in [task_names]")
    if not settings.budgets:
        raise ExperimentError(f"{where}: no [budget.<name>] tables")
    return settings


def parse_attack(text: str, where: str = "attacks") -> AttackCell:
    """`keyboard:question` -> AttackCell, checked against the attack registry (name and target)."""
    from attacks import get_attack

    name, sep, target = text.partition(":")
    if not sep or not name or not target:
        raise ExperimentError(f"{where}: {text!r} is not ATTACK:TARGET (e.g. keyboard:question)")
    try:
        atk = get_attack(name)
    except XadvError as exc:
        raise ExperimentError(f"{where}: {exc}") from None
    if target not in atk.targets:
        raise ExperimentError(f"{where}: attack {name!r} cannot target {target!r} "
                              f"(it targets {', '.join(atk.targets)})")
    return AttackCell(name, target)


def get_budget(settings: Settings, name: str) -> Budget:
    if name not in settings.budgets:
        raise ExperimentError(f"unknown budget {name!r}: choose one of {', '.join(settings.budgets)}")
    raw = settings.budgets[name]
    where = f"budget.{name}"
    if not isinstance(raw, dict):
        raise ExperimentError(f"{where} must be a table")
    known = {"preset", "seeds", "n_per_lang", "attack_seed", "strength", "eval_batch_size", "sets", "attacks",
             "base"}
    for key in raw:
        if key not in known:
            raise ExperimentError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    seeds = _need(raw, "seeds", list, where)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ExperimentError(f"{where}.seeds must be a non-empty list of integers")
    n = int(raw.get("n_per_lang", 0))
    if n < 0:
        raise ExperimentError(f"{where}.n_per_lang must be >= 0 (0: every question)")
    attacks = [parse_attack(a, f"{where}.attacks") for a in _need(raw, "attacks", list, where)]
    if not attacks:
        raise ExperimentError(f"{where}.attacks is empty")
    return Budget(name=name, preset=str(_need(raw, "preset", str, where)), seeds=list(seeds), n_per_lang=n,
                  attack_seed=int(raw.get("attack_seed", 0)), strength=float(raw.get("strength", 0.2)),
                  eval_batch_size=int(raw.get("eval_batch_size", 16)), sets=list(raw.get("sets", [])),
                  attacks=attacks, base=raw.get("base"))


def _pick(text: str | None, allowed: list[str], what: str) -> list[str]:
    if text is None:
        return list(allowed)
    picked = [x.strip() for x in text.split(",") if x.strip()]
    if not picked:
        raise ExperimentError(f"--{what}s is empty")
    for x in picked:
        if x not in allowed:
            raise ExperimentError(f"unknown {what} {x!r}: choose from {', '.join(allowed)}")
    return picked


def expand_grid(settings: Settings, budget: Budget, *, mixes: list[str] | None = None,
                tasks: list[str] | None = None, seeds: list[int] | None = None,
                baseline: bool | None = None) -> list[GridCell]:
    """Every model to train: per seed the baseline (once: it has no mix) then mix x task."""
    mixes = settings.mixes if mixes is None else mixes
    tasks = settings.tasks if tasks is None else tasks
    with_baseline = settings.baseline if baseline is None else baseline
    cells: list[GridCell] = []
    for seed in (budget.seeds if seeds is None else seeds):
        if with_baseline:
            cells.append(GridCell(None, None, seed))
        for mix in mixes:
            for task in tasks:
                cells.append(GridCell(mix, task, seed, tuple(settings.task_names[task])))
    return cells


def train_config(cell: GridCell, settings: Settings, budget: Budget, *, base: str | None = None,
                 extra_sets: list[str] | None = None):
    """The TrainConfig of one grid cell: the budget's preset and overrides, the cell's mix, tasks, seed."""
    from xadv.train import load_config

    overrides: dict[str, Any] = {"seed": cell.seed, "mix": cell.mix or "en", "en_share": settings.en_share,
                                 "intermediate": list(cell.intermediate)}
    if base or budget.base:
        overrides["base"] = base or budget.base
    return load_config(budget.preset, overrides=overrides, sets=[*budget.sets, *(extra_sets or [])])


def seen_qa_languages(config, data_dir: Path) -> list[str]:
    """The TyDi evaluation languages whose QA data a config trains on (what its model card will record)."""
    from xadv.train.pipeline import plan

    return plan(config, data_dir)["seen_languages"]["eval_qa"]


def parse_cell_id(name: str) -> dict | None:
    m = CELL_ID.match(name)
    if not m:
        return None
    if m["baseline"]:
        return {"group": BASELINE, "mix": None, "task": None, "seed": int(m["seed"])}
    return {"group": f"{m['mix']}-{m['task']}", "mix": m["mix"], "task": m["task"], "seed": int(m["seed"])}


# --- machine and device -----------------------------------------------------------------------------

def _cpus() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def device_info() -> dict[str, Any]:
    """Where training and evaluation run: cuda when torch sees a GPU, else the CPU (with its bf16 support)."""
    import torch

    from xadv.train.pipeline import cpu_has_bf16

    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        return {"type": "cuda", "name": torch.cuda.get_device_name(0), "count": n,
                "torch": torch.__version__, "cuda": torch.version.cuda}
    return {"type": "cpu", "name": _cpu_model(), "count": _cpus(), "bf16_native": cpu_has_bf16(),
            "torch": torch.__version__}


def describe_device(dev: dict) -> str:
    if dev["type"] == "cuda":
        return f"cuda: {dev['count']} x {dev['name']} (training and evaluation on the GPU)"
    bf16 = "native bf16 (AMX/AVX512-BF16)" if dev.get("bf16_native") else "no native bf16"
    return f"cpu: {dev['count']} cores, {dev['name'] or 'unknown CPU'}, {bf16} (no GPU found)"


def machine_info() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": _cpu_model(), "cpus": _cpus(),
            "python": platform.python_version()}


# --- training ---------------------------------------------------------------------------------------

def training_state(out: Path, digest: str) -> str:
    """'done' (a finished run of this config with its card), 'partial' (resumable) or 'new'.

    A directory holding a run of a different config is an error: reusing it would mix recipes."""
    from xadv.models.card import read_card
    from xadv.train.pipeline import RUN_FILE as TRAIN_RUN_FILE

    run_file = out / TRAIN_RUN_FILE
    if not run_file.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise ExperimentError(f"{out} is not empty and holds no xadv training run: choose another --runs")
        return "new"
    try:
        record = json.loads(run_file.read_text(encoding="utf-8"))
    except ValueError:
        raise ExperimentError(f"{run_file}: unreadable training record; delete {out} to retrain") from None
    if record.get("digest") != digest:
        raise ExperimentError(f"{out} holds a model trained with a different config (digest "
                              f"{str(record.get('digest'))[:12]}, now {digest[:12]}): delete it or choose "
                              f"another --runs")
    return "done" if "target" in record.get("done", {}) and read_card(out) is not None else "partial"


def train_cell(cell: GridCell, config, out: Path, *, data_dir: Path, quiet: bool,
               log: Callable[[str], None]) -> tuple[dict, bool]:
    """Train (or resume) one model; a finished one is skipped. Returns its card and whether it trained now."""
    from xadv.models.card import read_card

    if training_state(out, config.digest()) == "done":
        return read_card(out), False
    from xadv.train.pipeline import train

    result = train(config, out, data_dir=data_dir, progress=not quiet, evaluate=False,
                   log=lambda m: log(f"   {m}"))
    return result.card, True


def model_entry(cell: GridCell, card: dict, out: Path, digest: str) -> dict:
    """What models.json keeps of a card: identity, data, seen languages, steps, time."""
    seen = card["seen_languages"]
    ev = card.get("evaluation")
    return {
        "id": cell.id, "group": cell.group, "mix": cell.mix, "task": cell.task, "seed": cell.seed,
        "intermediate_tasks": card["intermediate_tasks"], "checkpoint": _rel(out), "config_digest": digest,
        "base_model": {k: card["base_model"].get(k) for k in ("name", "fingerprint", "architecture", "n_params")},
        "preset": card.get("preset"),
        "seen_qa_languages": seen["eval_qa"], "seen_any_languages": seen["eval_any"],
        "zero_shot_languages": card["zero_shot_languages"],
        "steps": {p["name"]: p["steps"] for p in card["phases"]},
        "examples": {f"{t['phase']}:{t['task']}": t["examples_per_language"] for t in card["tasks"]},
        "train_seconds": card["wall_seconds"],
        # per phase and task: mean loss over the first and last tenth of that task's steps, and the tasks
        # whose loss did not fall (a collapsed or untrained intermediate phase makes a grid cell meaningless)
        "task_losses": {p["name"]: p.get("task_losses") for p in card["phases"]},
        "not_learning": {p["name"]: p.get("not_learning") for p in card["phases"] if p.get("not_learning")},
        "device": sorted({p.get("device", "cpu") for p in card["phases"]}),
        "evaluation": ev,
    }


def _loss_cell(model: dict, phase: str) -> str:
    """'qa 5.18→3.13, xnli 1.10→1.08 ⚠' from models.json (– when the phase did not run or predates it)."""
    losses = (model.get("task_losses") or {}).get(phase)
    if not losses:
        return "–"
    bad = set((model.get("not_learning") or {}).get(phase) or [])
    return ", ".join(f"{t} {v['first']:.2f}→{v['last']:.2f}{' ⚠' if t in bad else ''}"
                     for t, v in sorted(losses.items()))


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


# --- evaluation under attack ---------------------------------------------------------------------------

def eval_rows(data_dir: Path, n_per_lang: int) -> list[dict]:
    """The dev questions every model is evaluated on: the first N per language (all with N = 0)."""
    from xadv.data import load_qa
    from xadv.qa.evaluation import first_n_per_language

    rows = list(load_qa(EVAL_DATA, data_dir))
    return list(first_n_per_language(rows, n_per_lang or None))


def data_label(n_per_lang: int) -> str:
    return EVAL_DATA if not n_per_lang else f"{EVAL_DATA} (first {n_per_lang} per language)"


def evaluate_cell(cell: GridCell, model_dir: Path, rows: list[dict], store, budget: Budget, *,
                  device: str, data_dir: Path, quiet: bool, log: Callable[[str], None]) -> dict:
    """Clean and adversarial evaluation of one model, one record per language x attack cell (resumable).

    Returns {"records": [...], "computed": n, "cached": n, "skipped": [(lang, label, reason)]}."""
    from xadv.models.loading import load_qa_model
    from xadv.qa.engine import EngineConfig, QAEngine
    from xadv.runs import run_attacks

    loaded = load_qa_model(model_dir, device=device)
    loaded.name = cell.id  # records name the grid cell; the fingerprint names the weights
    engine = QAEngine.from_loaded(loaded, EngineConfig(batch_size=budget.eval_batch_size, progress=not quiet))
    out: dict[str, Any] = {"records": [], "computed": 0, "cached": 0, "skipped": []}
    for ac in budget.attacks:
        outcomes = run_attacks(loaded, rows, attacks=[ac.attack], targets=[ac.target], strength=budget.strength,
                               seed=budget.attack_seed, mode="squad", data_name=data_label(budget.n_per_lang),
                               attack_params={"data_dir": str(data_dir)}, store=store, engine=engine)
        for o in outcomes:
            if o.status == "skipped":
                out["skipped"].append((o.lang, ac.label, o.reason))
                continue
            out[o.status] += 1
            out["records"].append(o.record)
        done = [o for o in outcomes if o.record]
        if done:
            clean = sum(o.record["summary"]["clean_f1"] for o in done) / len(done)
            robust = sum(o.record["summary"]["robust_f1"] for o in done) / len(done)
            log(f"   {ac.label}: {sum(o.status == 'computed' for o in done)} computed, "
                f"{sum(o.status == 'cached' for o in done)} cached; mean clean F1 {clean:.1f}, robust F1 {robust:.1f}")
    return out


# --- the run -------------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "base"


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process so far: with the wall time it shows how busy the machine was."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _threads() -> dict[str, Any]:
    """Torch's intra-op threads (they change the trained weights slightly) and the variables that set them."""
    import torch

    return {"torch": torch.get_num_threads(),
            **{v: os.environ[v] for v in ("XADV_NUM_THREADS", "OMP_NUM_THREADS") if os.environ.get(v)}}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _write_json(path: Path, obj: Any, compact: bool = False) -> None:
    from xadv.io import atomic_open

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fh:
        if compact:
            json.dump(obj, fh, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def resolve_paths(args: argparse.Namespace, budget: Budget) -> tuple[Path, Path, Path]:
    """runs/experiment/<budget>[-<base>]/, its records/, benchmarks/results/experiment/<budget>[-<base>]/."""
    base = args.base or budget.base
    name = budget.name if not base else f"{budget.name}-{_slug(Path(base).name if os.sep in base else base)}"
    runs = Path(args.runs) if args.runs else REPO / "runs" / "experiment" / name
    store = Path(args.store) if args.store else runs / "records"
    results = Path(args.results) if args.results else REPO / "benchmarks" / "results" / "experiment" / name
    return runs, store, results


def _is_main_process() -> bool:
    """Process 0 of `accelerate launch` / `torchrun` (RANK), or the only process."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def plan_run(args: argparse.Namespace) -> tuple[Settings, Budget, list[GridCell]]:
    """Everything that can be checked before anything heavy is imported (bad input: ExperimentError)."""
    settings = read_settings(args.config)
    budget = get_budget(settings, args.budget)
    mixes = _pick(args.mixes, settings.mixes, "mix")
    tasks = _pick(args.tasks, settings.tasks, "task")
    seeds = None
    if args.seeds:
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ExperimentError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    if args.n_per_lang is not None:
        if args.n_per_lang < 0:
            raise ExperimentError("--n-per-lang must be >= 0 (0: every question)")
        budget.n_per_lang = args.n_per_lang
    grid = expand_grid(settings, budget, mixes=mixes, tasks=tasks, seeds=seeds,
                       baseline=False if args.no_baseline else None)
    if not grid:
        raise ExperimentError("the grid is empty")
    return settings, budget, grid


def run(args: argparse.Namespace, argv: list[str]) -> dict | None:
    settings, budget, grid = plan_run(args)
    runs, store_dir, results = resolve_paths(args, budget)
    data_dir = Path(args.data_dir)
    main = _is_main_process()
    say: Callable[[str], None] = (lambda m: print(m, file=sys.stderr, flush=True)) if main else (lambda m: None)

    configs = {c.id: train_config(c, settings, budget, base=args.base, extra_sets=args.sets) for c in grid}
    dev = device_info()
    say(f"device: {describe_device(dev)}")
    if budget.name == "full" and dev["type"] == "cpu":
        say("warning: --budget full is sized for a GPU; on this CPU it would take days (use --budget small)")
    first = next(iter(configs.values()))
    say(f"budget {budget.name}: preset {budget.preset}, base {first.base}, {len(grid)} models "
        f"({', '.join(c.id for c in grid)}), dev {data_label(budget.n_per_lang)}, attacks "
        f"{', '.join(a.label for a in budget.attacks)}")
    say(f"models in {_rel(runs)}/, records in {_rel(store_dir)}/, outputs in {_rel(results)}/")
    if args.dry_run:
        for c in grid:
            state = training_state(runs / c.id, configs[c.id].digest())
            seen = seen_qa_languages(configs[c.id], data_dir)
            print(f"{c.id:24s} {state:8s} intermediate={','.join(c.intermediate) or 'none':16s} "
                  f"seen QA languages: {' '.join(seen)} (not zero-shot)")
        return None

    t_start = time.perf_counter()
    started = _now()
    load_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    runs.mkdir(parents=True, exist_ok=True)
    timings = _read_json(runs / TIMINGS_FILE, {})
    cards: dict[str, dict] = {}
    for k, cell in enumerate(grid, 1):
        out = runs / cell.id
        t0, c0 = time.perf_counter(), _cpu_seconds()
        say(f"[{k}/{len(grid)}] {cell.id}: training into {_rel(out)}")
        card, trained = train_cell(cell, configs[cell.id], out, data_dir=data_dir, quiet=args.quiet, log=say)
        cards[cell.id] = card
        if trained:
            if main:
                t = timings.setdefault(cell.id, {})
                t["train_wall_seconds"] = round(t.get("train_wall_seconds", 0.0) + time.perf_counter() - t0, 1)
                t["train_cpu_seconds"] = round(t.get("train_cpu_seconds", 0.0) + _cpu_seconds() - c0, 1)
                _write_json(runs / TIMINGS_FILE, timings)
        else:
            say("   already trained (model card found): skipped")
    if not main:  # multi-process training: process 0 evaluates
        return None

    from xadv.runs import ResultsStore

    rows = eval_rows(data_dir, budget.n_per_lang)
    store = ResultsStore(store_dir)
    records: list[dict] = []
    skipped: dict[tuple[str, str], str] = {}
    eval_device = "cuda" if dev["type"] == "cuda" else "cpu"
    for k, cell in enumerate(grid, 1):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        say(f"[{k}/{len(grid)}] {cell.id}: evaluating {len(rows)} questions clean and under "
            f"{len(budget.attacks)} attack cells")
        ev = evaluate_cell(cell, runs / cell.id, rows, store, budget, device=eval_device, data_dir=data_dir,
                           quiet=args.quiet, log=say)
        records.extend(ev["records"])
        for lang, label, reason in ev["skipped"]:
            skipped[(lang, label)] = reason
        if ev["computed"]:
            t = timings.setdefault(cell.id, {})
            t["eval_wall_seconds"] = round(t.get("eval_wall_seconds", 0.0) + time.perf_counter() - t0, 1)
            t["eval_cpu_seconds"] = round(t.get("eval_cpu_seconds", 0.0) + _cpu_seconds() - c0, 1)
            _write_json(runs / TIMINGS_FILE, timings)

    models = [model_entry(c, cards[c.id], runs / c.id, configs[c.id].digest()) for c in grid]
    for m in models:
        m["timing"] = timings.get(m["id"], {})
    from xadv.models.card import software

    wall = round(time.perf_counter() - t_start, 1)
    cell_total = sum(t.get("train_wall_seconds", 0) + t.get("eval_wall_seconds", 0)
                     for cid, t in timings.items() if cid in configs)
    cell_cpu = sum(t.get("train_cpu_seconds", 0) + t.get("eval_cpu_seconds", 0)
                   for cid, t in timings.items() if cid in configs)
    old = _read_json(results / RUN_FILE, {})
    info = {
        "schema": RUN_SCHEMA,
        "command": "python benchmarks/experiment.py " + shlex.join(argv),
        "budget": budget.name,
        "settings": {"config": _rel(settings.path), "preset": budget.preset, "base": first.base,
                     "seeds": sorted({c.seed for c in grid}), "n_per_lang": budget.n_per_lang or None,
                     "eval_data": EVAL_DATA, "questions": len(rows), "attacks": [a.label for a in budget.attacks],
                     "strength": budget.strength, "attack_seed": budget.attack_seed, "mode": "squad",
                     "criterion": "em", "en_share": settings.en_share, "sets": [*budget.sets, *args.sets],
                     "task_names": settings.task_names},
        "grid": [c.id for c in grid],
        "processes": int(os.environ.get("WORLD_SIZE", "1") or 1),  # > 1: accelerate launch / torchrun
        "threads": _threads(),
        "machine": machine_info(),
        "device": dev,
        "software": software(),
        "started": started, "finished": _now(),
        "wall_seconds": wall,
        "cell_seconds": {cid: t for cid, t in timings.items() if cid in configs},
        "cell_seconds_total": round(cell_total, 1),
        "cell_cpu_seconds_total": round(cell_cpu, 1),
        "load_average": {"start": load_start,
                         "end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "records": len(records),
        "skipped_cells": [{"lang": lang, "attack": label, "reason": reason}
                          for (lang, label), reason in sorted(skipped.items())],
        "reading": (old.get("reading") if isinstance(old.get("reading"), dict)
                    else {"text": None, "note": READING_PLACEHOLDER}),
    }
    export(results, records, models, info)
    md = render(results)
    say(f"done in {wall / 60:.1f} min (grid cells {cell_total / 60:.1f} min in all runs): {_rel(md)}")
    return info


def write_records(path: Path, records: list[dict]) -> None:
    """The records as one compact run file, gzipped reproducibly (no timestamp in the gzip header)."""
    import gzip

    blob = json.dumps({"schema": "xadv.attack-run/1", "records": records}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
        fh.write(blob + b"\n")
    os.replace(tmp, path)


def load_record_entries(source: Path) -> list:
    """Checked leaderboard entries (digest, cell key, summary recomputed) of a records file or directory."""
    import gzip
    import tempfile

    from xadv.leaderboard.entries import load_entries

    if source.suffix != ".gz":
        return load_entries(source)
    try:
        blob = gzip.decompress(source.read_bytes())
    except (OSError, EOFError) as exc:
        raise ExperimentError(f"{source}: not a gzip file ({exc})") from None
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / source.stem
        plain.write_bytes(blob)
        entries = load_entries(plain)
    return entries


def export(results: Path, records: list[dict], models: list[dict], info: dict) -> None:
    """records.json.gz (an `xadv.attack-run/1` run file of the real records, gzipped: `gunzip -k` gives the
    file `xadv leaderboard --results` reads), models.json, run.json."""
    order = {m["id"]: k for k, m in enumerate(models)}
    lang_order = {lang: k for k, lang in enumerate(TYDI_LANGS)}
    records = sorted(records, key=lambda r: (order.get(r["model"]["name"], 10**6),
                                             lang_order.get(r["cell"]["lang"], 99),
                                             r["cell"]["attack"], r["cell"]["target"], r["cell"]["seed"]))
    results.mkdir(parents=True, exist_ok=True)
    write_records(results / RECORDS_FILE, records)
    _write_json(results / MODELS_FILE, {"schema": MODELS_SCHEMA, "models": models})
    _write_json(results / RUN_FILE, info)


# --- analysis -------------------------------------------------------------------------------------------

@dataclass
class Group:
    """All seeds of one grid group (e.g. mixed-qa), as per-question columns averaged over seeds."""

    name: str
    mix: str | None
    task: str | None
    seeds: list[int] = field(default_factory=list)
    # lang -> attack label -> (n, 7) columns: clean F1, adv F1, clean EM, adv EM, robust F1, right, flipped
    cols: dict[str, dict[str, Any]] = field(default_factory=dict)
    zero_shot: dict[str, bool | None] = field(default_factory=dict)

    def clean(self, lang: str):
        return next(iter(self.cols[lang].values()))[:, 0]

    def robust(self, lang: str):
        """Per question: robust F1 averaged over the attack cells run in this language."""
        import numpy as np

        return np.mean([c[:, 4] for c in self.cols[lang].values()], axis=0)


def load_groups(entries: list) -> tuple[list[Group], dict[str, list[str]], list[str]]:
    """Groups from checked leaderboard entries, with the question ids per language (shared by all)."""
    import numpy as np

    by: dict[tuple[str, str, str], list] = {}
    meta: dict[str, dict] = {}
    for e in entries:
        cell = parse_cell_id(e.model)
        if cell is None:
            raise ExperimentError(f"{e.path}: model {e.model!r} is not a grid cell of the experiment")
        meta[cell["group"]] = cell
        label = f"{e.attack}/{e.target}"
        by.setdefault((cell["group"], e.lang, label), []).append((cell["seed"], e))
    ids: dict[str, list[str]] = {}
    groups: dict[str, Group] = {}
    labels: list[str] = []
    for (gname, lang, label), pairs in by.items():
        if label not in labels:
            labels.append(label)
        g = groups.setdefault(gname, Group(gname, meta[gname]["mix"], meta[gname]["task"]))
        lang_ids = ids.setdefault(lang, sorted(pairs[0][1].ids))
        total = np.zeros((len(lang_ids), 7))
        for seed, e in pairs:
            if sorted(e.ids) != lang_ids:
                raise ExperimentError(f"{e.path}: its {lang} questions differ from the other models' (the "
                                      f"comparison must be paired)")
            pos = {i: k for k, i in enumerate(e.ids)}
            o = np.array([pos[i] for i in lang_ids])
            right, right_adv = e.right()[o], e.right(adv=True)[o]
            total += np.column_stack([e.clean_f1[o], e.adv_f1[o], e.clean_em[o], e.adv_em[o],
                                      np.minimum(e.clean_f1, e.adv_f1)[o], right, right & ~right_adv])
            if seed not in g.seeds:
                g.seeds.append(seed)
            zs = e.zero_shot
            g.zero_shot[lang] = zs if lang not in g.zero_shot else (g.zero_shot[lang] if g.zero_shot[lang] == zs
                                                                     else None)
        g.cols.setdefault(lang, {})[label] = total / len(pairs)
    order = [BASELINE] + [f"{m}-{t}" for m in MIXES for t in ("qa", "nli", "paraphrase", "all")]
    ranked = sorted(groups.values(), key=lambda g: (order.index(g.name) if g.name in order else 99, g.name))
    seeds_per_group = {tuple(sorted(g.seeds)) for g in ranked}
    if len(seeds_per_group) > 1:
        raise ExperimentError(f"the groups were trained with different seeds ({seeds_per_group}): "
                              f"finish the grid before rendering")
    for g in ranked:
        for lang, per in g.cols.items():
            if set(per) != set(ranked[0].cols.get(lang, {})):
                raise ExperimentError(f"{g.name}/{lang}: attack cells {sorted(per)} differ from "
                                      f"{ranked[0].name}'s {sorted(ranked[0].cols.get(lang, {}))}")
    langs = [lang for lang in TYDI_LANGS if lang in ids]
    return ranked, {lang: ids[lang] for lang in langs}, labels


def _stack(g: Group, langs: list[str], what: str):
    """Per-question scores over `langs`, weighted so that their mean is the macro mean over languages."""
    import numpy as np

    parts = [g.robust(lang) if what == "robust" else g.clean(lang) for lang in langs]
    total = sum(len(p) for p in parts)
    return np.concatenate([p * total / (len(langs) * len(p)) for p in parts])


def compare_groups(a: Group, b: Group, langs: list[str], *, seed: int = 0, n_resamples: int = 2000) -> dict:
    """Paired bootstrap of A - B (robust F1 and clean F1, points) on the same questions of `langs`."""
    from xadv.score.bootstrap import paired_bootstrap_arrays

    out = {"a": a.name, "b": b.name, "langs": langs}
    for what in ("robust", "clean"):
        t = paired_bootstrap_arrays(_stack(a, langs, what), _stack(b, langs, what), metric=f"{what}_f1",
                                    scale=100.0, n_resamples=n_resamples, seed=seed)
        out[what] = t.to_dict()
    return out


def shared_zero_shot(a: Group, b: Group, langs: list[str]) -> list[str]:
    return [lang for lang in langs if a.zero_shot.get(lang) is True and b.zero_shot.get(lang) is True]


def analyse(entries: list) -> dict:
    """Every number of the table: clean and robust F1 / ASR per group, language and attack; the paired
    comparisons mixed vs en, mixed vs multi (per task) and QA vs NLI vs paraphrase (per mix)."""
    import numpy as np

    groups, ids, labels = load_groups(entries)
    langs = list(ids)
    by_name = {g.name: g for g in groups}
    per_group = {}
    for g in groups:
        row: dict[str, Any] = {"mix": g.mix, "task": g.task, "seeds": sorted(g.seeds), "langs": {}}
        for lang in langs:
            cell = {"zero_shot": g.zero_shot.get(lang), "n": len(ids[lang]),
                    "clean_f1": 100 * float(g.clean(lang).mean()), "robust_f1": 100 * float(g.robust(lang).mean()),
                    "attacks": {}}
            for label, c in g.cols[lang].items():
                m = c.mean(axis=0)
                cell["attacks"][label] = {"clean_f1": 100 * m[0], "adv_f1": 100 * m[1], "robust_f1": 100 * m[4],
                                          "asr": (100 * m[6] / m[5]) if m[5] > 0 else None,
                                          "asr_successes": float(c[:, 6].sum()),
                                          "asr_denominator": float(c[:, 5].sum())}
            row["langs"][lang] = cell
        row["attacks"] = {}
        for label in labels:
            cs = [g.cols[lang][label] for lang in langs if label in g.cols[lang]]
            right = float(sum(c[:, 5].sum() for c in cs))
            flipped = float(sum(c[:, 6].sum() for c in cs))
            row["attacks"][label] = {"macro_robust_f1": float(np.mean([100 * c[:, 4].mean() for c in cs])),
                                     "asr": 100 * flipped / right if right else None,
                                     "asr_successes": flipped, "asr_denominator": right}
        zs = [lang for lang in langs if g.zero_shot.get(lang)]
        row["macro"] = {k: float(np.mean([row["langs"][lang][k] for lang in langs])) for k in ("clean_f1", "robust_f1")}
        row["zero_shot_macro"] = ({k: float(np.mean([row["langs"][lang][k] for lang in zs]))
                                   for k in ("clean_f1", "robust_f1")} if zs else None)
        row["zero_shot_langs"] = zs
        per_group[g.name] = row

    def pair(a: str, b: str) -> list[dict]:
        if a not in by_name or b not in by_name:
            return []
        ga, gb = by_name[a], by_name[b]
        out = [{"scope": "all", **compare_groups(ga, gb, langs)}]
        zs = shared_zero_shot(ga, gb, langs)
        if zs and zs != langs:
            out.append({"scope": "zero-shot", **compare_groups(ga, gb, zs)})
        return out

    tasks = [t for t in ("qa", "nli", "paraphrase", "all") if any(g.task == t for g in groups)]
    mixes = [m for m in MIXES if any(g.mix == m for g in groups)]
    gains = []
    for task in tasks:
        for other in ("en", "multi"):
            for r in pair(f"mixed-{task}", f"{other}-{task}"):
                gains.append({"task": task, "comparison": f"mixed vs {other}", **r})
    per_lang_gains = []
    for task in tasks:
        for other in ("en", "multi"):
            a, b = by_name.get(f"mixed-{task}"), by_name.get(f"{other}-{task}")
            if a and b:
                per_lang_gains.append({"task": task, "comparison": f"mixed vs {other}",
                                       "langs": {lang: compare_groups(a, b, [lang]) for lang in langs}})
    alignment = []
    task_pairs = [("qa", "nli"), ("qa", "paraphrase"), ("nli", "paraphrase"), ("all", "qa")]
    for mix in mixes:
        for ta, tb in task_pairs:
            for r in pair(f"{mix}-{ta}", f"{mix}-{tb}"):
                alignment.append({"mix": mix, "comparison": f"{ta} vs {tb}", **r})
        for task in tasks:
            for r in pair(f"{mix}-{task}", BASELINE):
                alignment.append({"mix": mix, "comparison": f"{task} vs baseline", **r})
    return {"langs": langs, "n_per_lang": {lang: len(v) for lang, v in ids.items()}, "attacks": labels,
            "groups": per_group, "gains": gains, "per_lang_gains": per_lang_gains, "alignment": alignment}


# --- rendering ------------------------------------------------------------------------------------------

def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _delta(t: dict) -> str:
    return f"{t['diff']:+.1f} [{t['ci_low']:+.1f}, {t['ci_high']:+.1f}]"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """A Markdown table; the first `left` columns (labels) align left, the numbers right."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if k < left else "---:" for k in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _mark(value: str, zero_shot: bool | None) -> str:
    return value if zero_shot in (True, None) else f"{value}*"


def _scope(r: dict, langs: list[str]) -> str:
    return "all 9" if r["scope"] == "all" and len(r["langs"]) == len(langs) == 9 else " ".join(r["langs"])


def to_markdown(a: dict, models: list[dict], info: dict, n_records: int, plots: list[str]) -> str:
    langs = a["langs"]
    lines: list[str] = []
    budget = info.get("budget", "?")
    lines.append(f"# Mixed vs English-only vs multilingual-only intermediate tasks: TyDi QA robustness "
                 f"(budget `{budget}`)")
    lines.append("")
    s, dev = info.get("settings", {}), info.get("device", {})
    n = a["n_per_lang"]
    nq = f"{next(iter(n.values()))} per language" if len(set(n.values())) == 1 else "all"
    lines.append(f"Rendered by `python benchmarks/experiment.py render` from `{RECORDS_FILE}` ({n_records} "
                 f"`xadv.attack-record/1` records, each re-checked: digest, cell key, summary recomputed from "
                 f"its per-question outcomes). Every number below is recomputed from those outcomes.")
    lines.append("")
    if info:
        lines.append(f"- command: `{info.get('command', '?')}`")
        threads = (info.get("threads") or {}).get("torch")
        lines.append(f"- device: {describe_device(dev) if dev else '?'}"
                     + (f", {threads} torch threads" if threads else "")
                     + f"; machine: {info.get('machine', {}).get('platform')}")
        sw = info.get("software", {})
        lines.append(f"- software: xadv {sw.get('xadv')} (git {str(sw.get('git_commit'))[:12]}), torch "
                     f"{sw.get('torch')}, transformers {sw.get('transformers')}")
        wall = info.get("cell_seconds_total") or info.get("wall_seconds")
        lines.append(f"- preset `{s.get('preset')}`, base `{s.get('base')}`, seeds {s.get('seeds')}, "
                     f"wall time of the grid {_f((wall or 0) / 60)} min")
    lines.append(f"- data: TyDi QA GoldP dev, {nq} ({sum(n.values())} questions), the same questions for "
                 f"every model (paired comparisons); scorer `squad` (official), ASR criterion exact match")
    lines.append(f"- attacks (strength {s.get('strength', '?')}, seed {s.get('attack_seed', '?')}): "
                 + ", ".join(f"`{x}`" for x in a["attacks"]))
    lines.append("")
    lines.append("**Not zero-shot.** `*` marks a language whose TyDi QA training data the model saw: en for every "
                 "model (the target fine-tuning is English TyDi train), and ko, sw for the `multi` and `mixed` "
                 "models whose intermediate tasks include `qa` (TyDi GoldP train ko/sw). Records carry the flag "
                 "per language; comparisons are given on all languages and on the languages zero-shot for both "
                 "models. *Robust F1* is the mean over questions of min(clean F1, adversarial F1); *ASR* is the "
                 "share of the questions answered exactly right on clean input that the attack makes wrong.")
    lines.append("")

    lines.append("## Models")
    lines.append("")
    rows = []
    for m in models:
        steps = m.get("steps", {})
        t = m.get("timing", {})
        rows.append([f"`{m['id']}`", m["mix"] or "–", ",".join(m["intermediate_tasks"]) or "none",
                     " ".join(m["seen_qa_languages"]), " ".join(m["zero_shot_languages"]),
                     f"{steps.get('intermediate', 0)} / {steps.get('target', 0)}",
                     _loss_cell(m, "intermediate"), _loss_cell(m, "target"),
                     _f(m.get("train_seconds"), 0), _f(t.get("eval_wall_seconds"), 0)])
    if rows:
        lines += _table(["model", "mix", "intermediate", "seen QA langs", "zero-shot langs",
                         "steps (inter / target)", "intermediate loss", "target loss", "train s", "eval s"],
                        rows, left=7)
        lines.append("")
        lines.append("Losses: mean over the first -> last tenth of each task's steps; ⚠ marks a task whose loss "
                     "did not fall by 2 % (it did not learn, and the cell says little about that task).")
    lines.append("")

    def lang_table(key: str, title: str) -> None:
        lines.append(f"## {title}")
        lines.append("")
        rows = []
        for name, g in a["groups"].items():
            zsm = g["zero_shot_macro"]
            rows.append([f"`{name}`",
                         *[_mark(_f(g["langs"][lang][key]), g["langs"][lang]["zero_shot"]) for lang in langs],
                         _f(g["macro"][key]), _f(zsm[key] if zsm else None)])
        lines.extend(_table(["model", *langs, "macro", "zero-shot macro"], rows))
        lines.append("")

    lang_table("clean_f1", "Clean F1 per language")
    lang_table("robust_f1", "Robust F1 per language (mean over the attack cells)")

    lines.append("## Per attack: robust F1 / ASR % per language")
    lines.append("")
    lines.append("ASR per language rests on few questions (those answered exactly right on clean input); the "
                 "last column pools the languages and shows the counts (averaged over seeds).")
    lines.append("")
    for label in a["attacks"]:
        lines.append(f"### `{label}`")
        lines.append("")
        rows = []
        for name, g in a["groups"].items():
            cells = []
            for lang in langs:
                c = g["langs"][lang]["attacks"].get(label)
                cells.append("skipped" if c is None else
                             _mark(f"{_f(c['robust_f1'])} / {_f(c['asr'], 0)}", g["langs"][lang]["zero_shot"]))
            pooled = g["attacks"][label]
            rows.append([f"`{name}`", *cells, _f(pooled["macro_robust_f1"]),
                         f"{_f(pooled['asr'])} ({pooled['asr_successes']:g}/{pooled['asr_denominator']:g})"])
        lines.extend(_table(["model", *langs, "macro rF1", "ASR, all languages (k/n)"], rows))
        lines.append("")

    lines.append("## Mixed vs English-only and mixed vs multilingual-only, per intermediate task")
    lines.append("")
    lines.append("Paired bootstrap over questions (2,000 resamples; languages weigh equally; seeds averaged per "
                 "question), difference = mixed − other in points, 95% percentile interval, two-sided p "
                 "(not corrected for the number of comparisons).")
    lines.append("")
    rows = []
    for r in a["gains"]:
        rb, cl = r["robust"], r["clean"]
        rows.append([r["task"], r["comparison"], _scope(r, langs), str(rb["n"]), _f(rb["mean_a"]), _f(rb["mean_b"]),
                     _delta(rb), _p(rb["p_value"]), _delta(cl), _p(cl["p_value"])])
    if rows:
        lines += _table(["task", "comparison", "languages", "n", "robust F1 mixed", "robust F1 other",
                         "Δ robust F1 [95% CI]", "p", "Δ clean F1 [95% CI]", "p"], rows, left=3)
    else:
        lines.append("(needs mixed and en / multi models of the same task)")
    lines.append("")
    if a["per_lang_gains"]:
        lines.append("Per language, Δ robust F1 (mixed − other), **bold** where p < 0.05:")
        lines.append("")
        rows = []
        for r in a["per_lang_gains"]:
            cells = []
            for lang in langs:
                t = r["langs"][lang]["robust"]
                text = f"{t['diff']:+.1f}"
                cells.append(f"**{text}**" if t["p_value"] < 0.05 else text)
            rows.append([r["task"], r["comparison"], *cells])
        lines += _table(["task", "comparison", *langs], rows, left=2)
        lines.append("")

    lines.append("## Alignment: QA vs NLI vs paraphrase (and each vs no intermediate task)")
    lines.append("")
    rows = []
    for r in a["alignment"]:
        rb, cl = r["robust"], r["clean"]
        rows.append([r["mix"], r["comparison"], _scope(r, langs), _f(rb["mean_a"]), _f(rb["mean_b"]), _delta(rb),
                     _p(rb["p_value"]), _delta(cl), _p(cl["p_value"])])
    if rows:
        lines += _table(["mix", "comparison (A vs B)", "languages", "robust F1 A", "robust F1 B",
                         "Δ robust F1 [95% CI]", "p", "Δ clean F1 [95% CI]", "p"], rows, left=3)
    lines.append("")
    skipped = info.get("skipped_cells") or []
    if skipped:
        lines.append("## Attack cells an attack cannot serve (skipped for every model)")
        lines.append("")
        for s_ in skipped:
            lines.append(f"- `{s_['attack']}` on {s_['lang']}: {s_['reason']}")
        lines.append("")
    if plots:
        lines.append("## Plots")
        lines.append("")
        for p in plots:
            lines.append(f"![{Path(p).stem}]({PLOTS_DIR}/{Path(p).name})")
            lines.append("")
    lines.append("## Reading")
    lines.append("")
    reading = (info.get("reading") or {}).get("text")
    lines.append(reading.strip() if reading else f"_{READING_PLACEHOLDER}; edit `reading.text` in `{RUN_FILE}` "
                                                 f"and re-render._")
    lines.append("")
    return "\n".join(lines)


def plot(a: dict, out_dir: Path) -> list[Path]:
    """Four figures: robust F1 heat map (model x language), mixed-vs-other gains, tasks per mix, and clean F1
    and ASR per language for each mix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    langs, names = a["langs"], list(a["groups"])
    grid = np.array([[a["groups"][g]["langs"][lang]["robust_f1"] for lang in langs] for g in names])
    fig, ax = plt.subplots(figsize=(2.8 + 0.7 * len(langs), 1.2 + 0.42 * len(names)))
    im = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(names)), names)
    for i, g in enumerate(names):
        for j, lang in enumerate(langs):
            seen = a["groups"][g]["langs"][lang]["zero_shot"] is False
            ax.text(j, i, f"{grid[i, j]:.0f}{'*' if seen else ''}", ha="center", va="center", fontsize=7,
                    color="white" if grid[i, j] < np.nanmean(grid) else "black")
    fig.colorbar(im, ax=ax, label="robust F1, mean of attacks")
    ax.set_title("Robust F1 per model and language (* = TyDi QA data seen)", fontsize=9)
    fig.tight_layout()
    paths.append(out_dir / "robust_f1.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    if a["gains"]:
        scopes = ["all", "zero-shot"]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
        tasks = [t for t in ("qa", "nli", "paraphrase", "all") if any(r["task"] == t for r in a["gains"])]
        for ax, scope in zip(axes, scopes):
            for k, (comp, color) in enumerate((("mixed vs en", "tab:blue"), ("mixed vs multi", "tab:orange"))):
                xs, ys, lo, hi = [], [], [], []
                for i, task in enumerate(tasks):
                    r = next((r for r in a["gains"] if r["task"] == task and r["comparison"] == comp
                              and r["scope"] == scope), None)
                    if r is None and scope == "zero-shot":  # no seen language in the pair: same as all
                        r = next((r for r in a["gains"] if r["task"] == task and r["comparison"] == comp), None)
                    if r is None:
                        continue
                    t = r["robust"]
                    xs.append(i + (k - 0.5) * 0.35)
                    ys.append(t["diff"])
                    lo.append(t["diff"] - t["ci_low"])
                    hi.append(t["ci_high"] - t["diff"])
                if xs:
                    ax.bar(xs, ys, width=0.35, yerr=[lo, hi], capsize=3, label=comp, color=color)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xticks(range(len(tasks)), tasks)
            ax.set_xlim(-0.6, len(tasks) - 0.4)
            ax.set_title("all languages" if scope == "all" else "languages zero-shot for both", fontsize=9)
        axes[0].set_ylabel("Δ robust F1 (points), 95% CI")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "mixed_gains.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

    mixes = [m for m in MIXES if any(g["mix"] == m for g in a["groups"].values())]
    tasks = [t for t in ("qa", "nli", "paraphrase", "all") if any(g["task"] == t for g in a["groups"].values())]
    if mixes and tasks:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for ax, key, title in ((axes[0], "clean_f1", "clean F1 (macro)"), (axes[1], "robust_f1", "robust F1 (macro)")):
            width = 0.8 / len(mixes)
            for k, mix in enumerate(mixes):
                ys = [a["groups"].get(f"{mix}-{t}", {}).get("macro", {}).get(key, np.nan) for t in tasks]
                ax.bar(np.arange(len(tasks)) + (k - (len(mixes) - 1) / 2) * width, ys, width=width, label=mix,
                       color=MIX_COLORS[mix])
            if BASELINE in a["groups"]:
                ax.axhline(a["groups"][BASELINE]["macro"][key], color="black", ls="--", lw=1, label="baseline")
            ax.set_xticks(range(len(tasks)), tasks)
            ax.set_xlim(-0.6, len(tasks) - 0.4)
            ax.set_title(title, fontsize=9)
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "tasks.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

    if mixes:
        paths.append(_plot_per_language(a, mixes, out_dir, plt, np))
    return paths


def _pooled_asr(cell: dict) -> float:
    """ASR of one model x language pooled over its attack cells (successes / exactly-right answers)."""
    den = sum(c["asr_denominator"] for c in cell["attacks"].values())
    return 100 * sum(c["asr_successes"] for c in cell["attacks"].values()) / den if den else float("nan")


def _plot_per_language(a: dict, mixes: list[str], out_dir: Path, plt, np) -> Path:
    """Per language: clean F1 and ASR (pooled over attacks) of each mix (mean of its models) and the baseline."""
    langs = a["langs"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, title, value in ((axes[0], "clean F1", lambda c: c["clean_f1"]),
                             (axes[1], "ASR % (exact match, pooled over attacks)", _pooled_asr)):
        for mix in mixes:
            models = [g for g in a["groups"].values() if g["mix"] == mix]
            ys = [float(np.nanmean([value(g["langs"][lang]) for g in models])) for lang in langs]
            ax.plot(range(len(langs)), ys, marker="o", color=MIX_COLORS[mix], label=f"{mix} (mean of {len(models)})")
        if BASELINE in a["groups"]:
            ys = [value(a["groups"][BASELINE]["langs"][lang]) for lang in langs]
            ax.plot(range(len(langs)), ys, marker="s", ls="--", color="black", label="baseline")
        ax.set_xticks(range(len(langs)), langs)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Per language and mix (each mix: the mean of its intermediate-task models)", fontsize=9)
    fig.tight_layout()
    path = out_dir / "per_language.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def render(results: str | os.PathLike) -> Path:
    """results.md and plots/ from records.json (+ models.json and run.json when present) alone."""
    results = Path(results)
    source = results / RECORDS_FILE if results.is_dir() else results
    if results.is_file():
        results = results.parent
    if not source.is_file():
        raise ExperimentError(f"{source}: no records file (run the experiment first)")
    entries = load_record_entries(source)
    bad = [(e.path, f.message) for e in entries for f in e.failing]
    if bad:
        raise ExperimentError(f"{len(bad)} records fail their checks, e.g. {bad[0][0]}: {bad[0][1]}")
    info = _read_json(results / RUN_FILE, {})
    models = _read_json(results / MODELS_FILE, {}).get("models", [])
    a = analyse(entries)
    wanted = (info.get("settings") or {}).get("attacks") or []
    a["attacks"] = sorted(a["attacks"], key=lambda x: (wanted.index(x) if x in wanted else len(wanted), x))
    plots = plot(a, results / PLOTS_DIR)
    md = to_markdown(a, models, info, len(entries), [str(p) for p in plots])
    path = results / TABLE_FILE
    path.write_text(md, encoding="utf-8")
    _write_json(results / "analysis.json", a)
    return path


# --- command line ---------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (as the xadv CLI)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = _Parser(prog="experiment.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    r = sub.add_parser("run", help="train and evaluate the grid (the default command)")
    r.add_argument("--budget", required=True, help="a [budget.<name>] of the config: small, full, smoke")
    r.add_argument("--config", default=str(DEFAULT_CONFIG), help="experiment TOML (default benchmarks/experiment.toml)")
    r.add_argument("--base", default=None, help="base encoder for every model (checkpoint dir, me5-small, hub id)")
    r.add_argument("--mixes", default=None, help="subset of the mixes, e.g. en,mixed")
    r.add_argument("--tasks", default=None, help="subset of the tasks, e.g. qa,nli")
    r.add_argument("--seeds", default=None, help="seeds, e.g. 13,14 (default: the budget's)")
    r.add_argument("--no-baseline", action="store_true", help="leave out the no-intermediate baseline")
    r.add_argument("--n-per-lang", type=int, default=None, help="dev questions per language (0: all)")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="training config override for every model, as `xadv train --set`")
    r.add_argument("--data-dir", default=os.environ.get("XADV_DATA_DIR") or str(REPO.parent / "shared" / "data"))
    r.add_argument("--runs", default=None, help="models (default runs/experiment/<budget>/)")
    r.add_argument("--store", default=None, help="records store (default <runs>/records/)")
    r.add_argument("--results", default=None, help="outputs (default benchmarks/results/experiment/<budget>/)")
    r.add_argument("--dry-run", action="store_true", help="show the grid and what is already done; run nothing")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    d = sub.add_parser("render", help="results.md and plots/ from the records of a finished run")
    d.add_argument("--results", required=True, help="the results directory (or its records.json)")
    if not argv or argv[0] not in ("run", "render", "-h", "--help"):
        argv = ["run", *argv]
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
        if args.command == "render":
            print(render(args.results))
        else:
            run(args, argv)
    except XadvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
