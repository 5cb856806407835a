"""The grid spec read from the experiment TOML: settings, budgets, attack cells, grid cells and the training
config of each cell. Everything here is checked before anything heavy is imported (bad input:
`ExperimentError`, one line)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attacks import get_attack
from xadv.errors import XadvError
from xadv.io import read_toml
from xadv.train import TrainConfig, load_config
from xadv.train import pipeline as train_pipeline

MIXES: tuple[str, ...] = ("en", "multi", "mixed")
TASKS: tuple[str, ...] = ("qa", "nli", "paraphrase", "all")  # the order of tables and plots
BASELINE = "baseline"
BASELINE_PLUS = "baseline-plus"  # v2's B+: no intermediate phase, T + I target steps (equal span-QA steps)
EVAL_DATA = "tydiqa:all:dev"
CELL_ID = re.compile(r"^(?:(?P<baseline>baseline(?:-plus)?)|(?P<mix>[a-z]+)-(?P<task>[a-z]+))-s(?P<seed>-?\d+)$")
BUDGET_KEYS = frozenset({"preset", "seeds", "n_per_lang", "attack_seed", "strength", "eval_batch_size", "sets",
                         "attacks", "base", "sample"})
SAMPLES = ("first", "registered")  # first n_per_lang per language | the v2 registered sample (experiments.sample)


class ExperimentError(XadvError):
    """Bad experiment input (unknown budget, mix or task, malformed config): one line, exit 2."""


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
    sample: str = "first"


@dataclass
class Settings:
    mixes: list[str]
    tasks: list[str]
    baseline: bool
    en_share: float
    task_names: dict[str, list[str]]
    budgets: dict[str, dict]
    path: Path
    baseline_plus: bool = False
    plan: Path | None = None  # the registered plan file: a run refuses it uncommitted and records its commit
    stand_ins: bool = False  # v2 amendment 5: a diverged training of a budget seed gets seed + 10 beside it


@dataclass(frozen=True)
class GridCell:
    """One model of the grid: a mix and an intermediate task (both None for the baseline; task "plus" for
    B+, the baseline with the intermediate phase's steps added to its target phase) and a seed."""

    mix: str | None
    task: str | None
    seed: int
    intermediate: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        if self.mix is None:
            return BASELINE_PLUS if self.task == "plus" else BASELINE
        return f"{self.mix}-{self.task}"

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


def read_settings(path: str | os.PathLike) -> Settings:
    """The experiment TOML at `path`, checked (ExperimentError, one line, for anything malformed).

    The package has no default file: the command line passes the repository's `benchmarks/experiment.toml`."""
    path = Path(path)
    raw = read_toml(path, "TOML experiment config", error=ExperimentError,
                    missing=f"{path}: experiment config not found")
    where = path.name
    task_names = _need(raw, "task_names", dict, where)
    for name, tasks in task_names.items():
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
            raise ExperimentError(f"{where}: task_names.{name} must be a non-empty list of training tasks")
    settings = Settings(
        mixes=list(_need(raw, "mixes", list, where)), tasks=list(_need(raw, "tasks", list, where)),
        baseline=bool(raw.get("baseline", True)), en_share=float(raw.get("en_share", 0.5)),
        baseline_plus=bool(raw.get("baseline_plus", False)), stand_ins=bool(raw.get("stand_ins", False)),
        task_names={k: list(v) for k, v in task_names.items()},
        budgets=_need(raw, "budget", dict, where), path=path)
    if "plan" in raw:
        plan = _need(raw, "plan", str, where)
        settings.plan = (path.parent / plan) if plan else None
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
    for key in raw:
        if key not in BUDGET_KEYS:
            raise ExperimentError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(BUDGET_KEYS))})")
    seeds = _need(raw, "seeds", list, where)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ExperimentError(f"{where}.seeds must be a non-empty list of integers")
    n = int(raw.get("n_per_lang", 0))
    if n < 0:
        raise ExperimentError(f"{where}.n_per_lang must be >= 0 (0: every question)")
    sample = str(raw.get("sample", "first"))
    if sample not in SAMPLES:
        raise ExperimentError(f"{where}.sample must be one of {', '.join(SAMPLES)}, got {sample!r}")
    if sample == "registered" and n:
        raise ExperimentError(f"{where}: sample = \"registered\" fixes the questions; drop n_per_lang")
    attacks = [parse_attack(a, f"{where}.attacks") for a in _need(raw, "attacks", list, where)]
    if not attacks:
        raise ExperimentError(f"{where}.attacks is empty")
    return Budget(name=name, preset=str(_need(raw, "preset", str, where)), seeds=list(seeds), n_per_lang=n,
                  attack_seed=int(raw.get("attack_seed", 0)), strength=float(raw.get("strength", 0.2)),
                  eval_batch_size=int(raw.get("eval_batch_size", 16)), sets=list(raw.get("sets", [])),
                  attacks=attacks, base=raw.get("base"), sample=sample)


def pick(text: str | None, allowed: list[str], what: str) -> list[str]:
    """A comma-separated subset of `allowed` (`--mixes en,mixed`); all of them when `text` is None."""
    if text is None:
        return list(allowed)
    picked = [x.strip() for x in text.split(",") if x.strip()]
    if not picked:
        raise ExperimentError(f"--{what}s is empty")
    for x in picked:
        if x not in allowed:
            raise ExperimentError(f"unknown {what} {x!r}: choose from {', '.join(allowed)}")
    return picked


def parse_seeds(text: str | None) -> list[int] | None:
    """`13,14` -> [13, 14]; None or empty: the budget's seeds."""
    if not text:
        return None
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ExperimentError(f"--seeds must be comma-separated integers, got {text!r}") from None


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
            if settings.baseline_plus:
                cells.append(GridCell(None, "plus", seed))
        for mix in mixes:
            for task in tasks:
                cells.append(GridCell(mix, task, seed, tuple(settings.task_names[task])))
    return cells


def plan_grid(config: str | os.PathLike, budget_name: str, *, mixes: str | None = None, tasks: str | None = None,
              seeds: str | None = None, n_per_lang: int | None = None,
              no_baseline: bool = False) -> tuple[Settings, Budget, list[GridCell]]:
    """Settings, budget (with `n_per_lang` applied) and grid from the command line's options, all checked."""
    settings = read_settings(config)
    budget = get_budget(settings, budget_name)
    picked_mixes = pick(mixes, settings.mixes, "mix")
    picked_tasks = pick(tasks, settings.tasks, "task")
    picked_seeds = parse_seeds(seeds)
    if n_per_lang is not None:
        if n_per_lang < 0:
            raise ExperimentError("--n-per-lang must be >= 0 (0: every question)")
        if budget.sample == "registered":
            raise ExperimentError(f"budget {budget.name} evaluates the registered sample: --n-per-lang would "
                                  f"change the registered questions")
        budget.n_per_lang = n_per_lang
    grid = expand_grid(settings, budget, mixes=picked_mixes, tasks=picked_tasks, seeds=picked_seeds,
                       baseline=False if no_baseline else None)
    if not grid:
        raise ExperimentError("the grid is empty")
    return settings, budget, grid


def train_config(cell: GridCell, settings: Settings, budget: Budget, *, base: str | None = None,
                 extra_sets: list[str] | None = None) -> TrainConfig:
    """The TrainConfig of one grid cell: the budget's preset and overrides, the cell's mix, tasks, seed."""
    overrides: dict[str, Any] = {"seed": cell.seed, "mix": cell.mix or "en", "en_share": settings.en_share,
                                 "intermediate": list(cell.intermediate)}
    if base or budget.base:
        overrides["base"] = base or budget.base
    sets = [*budget.sets, *(extra_sets or [])]
    config = load_config(budget.preset, overrides=overrides, sets=sets)
    if cell.group != BASELINE_PLUS:
        return config
    target, inter = config.target_phase.max_steps, config.intermediate_phase.max_steps
    if not target or not inter:
        raise ExperimentError(f"{cell.id}: B+ adds the intermediate steps to the target steps, so both need "
                              f"max_steps > 0 (phases.target.max_steps={target}, "
                              f"phases.intermediate.max_steps={inter})")
    return load_config(budget.preset, overrides=overrides, sets=[*sets, f"phases.target.max_steps={target + inter}"])


def seen_qa_languages(config: TrainConfig, data_dir: Path) -> list[str]:
    """The TyDi evaluation languages whose QA data a config trains on (what its model card will record)."""
    return train_pipeline.plan(config, data_dir)["seen_languages"]["eval_qa"]


def parse_cell_id(name: str) -> dict | None:
    m = CELL_ID.match(name)
    if not m:
        return None
    if m["baseline"]:
        plus = m["baseline"] == BASELINE_PLUS
        return {"group": m["baseline"], "mix": None, "task": "plus" if plus else None, "seed": int(m["seed"])}
    return {"group": f"{m['mix']}-{m['task']}", "mix": m["mix"], "task": m["task"], "seed": int(m["seed"])}


def data_label(n_per_lang: int, sample: str = "first") -> str:
    if sample == "registered":
        return f"{EVAL_DATA} (registered v2 sample: 150 per language, bn 83, seed 2026)"
    return EVAL_DATA if not n_per_lang else f"{EVAL_DATA} (first {n_per_lang} per language)"
