"""`EvalSuite`: models x languages x attacks x targets x seeds x settings, and `run_suite`, which runs it.

One description of an evaluation job for every caller: `xadv attack` builds it from flags, `xadv attack
--suite FILE` from a TOML file (flags override the file, the file overrides the defaults), benchmarks
and the experiment build it in code. Every value is parsed into its type once, here
(`AttackSpec`, `Target`, `Criterion`, `SearchSpec`, `EngineConfig`); bad input is one `XadvError` line.

A suite file (every key optional; see docs/suite-example.toml):

    models = ["default"]                  # or [{path = "runs/mixed", name = "mixed-qa"}]
    langs = ["sw", "ru"]                  # or "all"
    attacks = ["keyboard", "codemix", "keyboard+word-swap", "distractor:context"]
    targets = ["auto"]                    # question, context, both, auto
    seeds = [0, 1]
    strength = 0.2
    n = 100                               # first N questions per language
    data = "tydiqa:sw,ru:dev"             # default: TyDi dev of the languages
    mode = "squad"                        # or multilingual, or mlqa (ar de en es hi vi zh)
    criterion = "em"                      # or "f1>=0.5" (static cells; a search's goal sets its own)
    results = "xadv-results"
    bootstrap = 1000
    [search]                              # a model-in-the-loop search instead of static cells
    search = "greedy"
    goal = "em-flip"
    budget = 20
    [engine]
    batch_size = 8
    int8 = false
    [sweep]                               # `xadv sweep`: what each task asks of a Ray cluster
    num_cpus = 1
    num_gpus = 0
    max_retries = 3                       # a task whose worker dies is run again (finished cells kept)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from attacks.search import SearchSpec
from attacks.spec import AttackSpec
from xadv.data import load_qa
from xadv.data.names import looks_like_path, parse_name, row_langs
from xadv.device import INFERENCE_PRECISIONS, check_device, resolve_device
from xadv.errors import XadvError
from xadv.io import check_output_dir, one_line, read_toml
from xadv.langs import LANGUAGES, TYDI_LANGS
from xadv.models import loading
from xadv.models.similarity import check_threshold
from xadv.paths import data_dir as resolve_data_dir
from xadv.qa.engine import EngineConfig, QAEngine
from xadv.qa.evaluation import first_n_per_language
from xadv.runs.attack import CellOutcome, CellSettings, run_attacks
from xadv.runs.seal import results_key
from xadv.runs.store import ResultsStore
from xadv.score.bootstrap import check_resamples
from xadv.score.criterion import Criterion
from xadv.score.normalize import MODES
from xadv.types import Target, parse_items

DEFAULT_ATTACKS = "keyboard,char-noise,homoglyph,codemix,distractor"
DEFAULT_SEARCH_ATTACKS = "keyboard"
ENGINE_KEYS = ("max_seq_length", "doc_stride", "max_query_length", "max_answer_length", "precision", "int8",
               "batch_size", "num_threads")


@dataclass(frozen=True)
class ModelRef:
    """A model to evaluate: a checkpoint dir, hub id, `me5-small` or `default`; `name` labels its records."""

    path: str
    name: str | None = None

    @classmethod
    def parse(cls, item: Any) -> ModelRef:
        if isinstance(item, ModelRef):
            return item
        if isinstance(item, str) and item.strip():
            return cls(item.strip())
        if isinstance(item, Mapping) and isinstance(item.get("path"), str) and set(item) <= {"path", "name"}:
            return cls(item["path"], item.get("name"))
        raise XadvError(f"model {item!r}: expected a name or path, or {{path = ..., name = ...}}")


@dataclass(frozen=True)
class SweepResources:
    """What one sweep task asks of its engine (`xadv sweep`): CPUs and GPUs per Ray task, and how often Ray
    re-runs a task whose worker died. Not part of any cell: records do not depend on where they ran."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_retries: int = 3

    @classmethod
    def parse(cls, value: Any) -> SweepResources:
        if isinstance(value, SweepResources):
            return value
        if not isinstance(value, Mapping):
            raise XadvError(f"sweep: expected a table of settings, got {value!r}")
        unknown = sorted(set(value) - {f.name for f in fields(cls)})
        if unknown:
            raise XadvError(f"sweep: unknown setting(s) {', '.join(unknown)} (known: num_cpus, num_gpus, max_retries)")
        for k, low in (("num_cpus", 0.0), ("num_gpus", 0.0)):
            v = value.get(k, 0.0 if k == "num_gpus" else 1.0)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < low or (k == "num_cpus" and v <= 0):
                raise XadvError(f"sweep {k} must be a number {'> 0' if k == 'num_cpus' else '>= 0'}, got {v!r}")
        retries = value.get("max_retries", 3)
        _int("sweep max_retries", 0)(retries)
        return cls(float(value.get("num_cpus", 1.0)), float(value.get("num_gpus", 0.0)), int(retries))


@dataclass(frozen=True)
class EvalSuite:
    models: tuple[ModelRef, ...] = (ModelRef("default"),)
    langs: tuple[str, ...] = ("sw",)
    attacks: tuple[AttackSpec, ...] = ()  # empty: DEFAULT_ATTACKS (static) or DEFAULT_SEARCH_ATTACKS
    targets: tuple[Target, ...] = (Target.AUTO,)
    seeds: tuple[int, ...] = (0,)
    strength: float = 0.2
    n: int | None = None
    data: str | None = None
    mode: str = "squad"
    criterion: Criterion = Criterion()
    search: SearchSpec | None = None
    engine: EngineConfig = EngineConfig()
    results: Path | None = Path("xadv-results")  # None: records stay in memory (the Python API's default)
    write_adversarial: Path | None = None
    bootstrap: int = 1000
    allow_pickle: bool = False
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps (`xadv.device.resolve_device`)
    min_similarity: float | None = None  # static attacks: question similarity floor (xadv.models.similarity)
    sweep: SweepResources = SweepResources()  # `xadv sweep` only: resources per task, retries

    def __post_init__(self) -> None:
        if not self.attacks:
            default = DEFAULT_ATTACKS if self.search is None else DEFAULT_SEARCH_ATTACKS
            object.__setattr__(self, "attacks", AttackSpec.parse_list(default))
        if self.search is not None and self.criterion != self.search.criterion:
            object.__setattr__(self, "criterion", self.search.criterion)
        if self.search is not None and self.min_similarity is not None:  # a search checks it per candidate
            object.__setattr__(self, "search", replace(self.search, min_similarity=self.min_similarity))

    def cell_settings(self, seed: int) -> CellSettings:
        return CellSettings(attacks=self.attacks, targets=self.targets, strength=self.strength, seed=seed,
                            mode=self.mode, criterion=self.criterion, search=self.search,
                            n_resamples=self.bootstrap, data_name=self.data or "tydiqa:<lang>:dev",
                            min_similarity=self.min_similarity if self.search is None else None)

    # --- building: defaults < file < flags ----------------------------------------------------------

    @classmethod
    def build(cls, *layers: Mapping[str, Any], where: str = "suite") -> EvalSuite:
        """A suite from raw layers (file values, then flags), later layers winning, None meaning "not set".
        `search`, `engine` and `sweep` merge key by key; `f1_threshold` is the flag form of `criterion`."""
        raw: dict[str, Any] = {}
        for layer in layers:
            for k, v in layer.items():
                if v is None:
                    continue
                if k in ("search", "engine", "sweep") and isinstance(v, Mapping):
                    given = {kk: vv for kk, vv in v.items() if vv is not None}
                    before = raw.get(k, {})
                    if isinstance(before, Mapping):
                        raw[k] = {**before, **given}
                    elif given:  # flags replace a malformed file value; else it stays, to be reported
                        raw[k] = given
                else:
                    raw[k] = v
        return cls.from_mapping(raw, where)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> dict[str, Any]:
        """The raw layer of a suite file (for `build`); XadvError naming the file when unreadable."""
        return read_toml(path, "TOML suite file", missing=f"{path}: no such suite file")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "suite") -> EvalSuite:
        known = {f.name for f in fields(cls)} | {"f1_threshold"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise XadvError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        search = _search(raw.get("search"), where)
        kw: dict[str, Any] = {"search": search, "criterion": _criterion(raw, search)}
        for name, parse in _PARSERS.items():
            if name in raw:
                try:
                    kw[name] = parse(raw[name])
                except (TypeError, AttributeError, ValueError) as exc:  # a value of the wrong type
                    raise XadvError(f"{where}: {name}: {one_line(repr(raw[name]))} is not a valid value "
                                    f"({one_line(str(exc), 80)})") from None
        data_langs = _data_langs(kw.get("data"))
        if data_langs and (raw.get("langs") is None or _is_all(raw["langs"])):
            kw["langs"] = data_langs  # `--data xquad:de:test` alone attacks de; `all` means the data's languages
        return cls(**kw)

    def override(self, **changes: Any) -> EvalSuite:
        return replace(self, **changes)


def _list(value: Any) -> list:
    return [x for x in value.split(",")] if isinstance(value, str) else list(value)


def _lang(x: str) -> str:
    """Any registry language (`xadv.langs.LANGUAGES`): its data comes from `data` (e.g. xquad:de:test);
    without `data` the suite's TyDi default only has TyDi's nine, which `load_rows` reports."""
    if x.strip() not in LANGUAGES:
        raise XadvError(f"unknown language {x.strip()!r} (known: {' '.join(LANGUAGES)}, or all)")
    return x.strip()


def _is_all(value: Any) -> bool:
    return isinstance(value, (str, list, tuple)) and [str(x).strip() for x in _list(value) if str(x).strip()] == ["all"]


def _data_langs(data: str | None) -> tuple[str, ...]:
    """The (context) languages a dataset name names (`xquad:de,el:test` -> de el); () for a file path."""
    if not data or looks_like_path(data):
        return ()
    try:
        _, keys, _ = parse_name(data)
    except XadvError:  # a label for rows given in memory (`xadv.attack(model, rows)`); a bad name fails at load
        return ()
    return tuple(dict.fromkeys(c for c in (row_langs(k)[0] for k in keys) if c in LANGUAGES))


def _langs(value: Any) -> tuple[str, ...]:
    if [str(x).strip() for x in _list(value) if str(x).strip()] == ["all"]:
        return tuple(TYDI_LANGS)
    return parse_items(_list(value), _lang, "no language given (e.g. sw, 'ar,ru' or all)")


def _int(name: str, low: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
            raise XadvError(f"{name} must be a whole number{f' >= {low}' if low is not None else ''}, got {value!r}")
        return value
    return parse


def _strength(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise XadvError(f"strength must be a number in [0, 1], got {value!r}")
    return float(value)


def _mode(value: Any) -> str:
    if value not in MODES:
        raise XadvError(f"unknown scorer mode {value!r} (use {' or '.join(MODES)})")
    return str(value)


def _seeds(value: Any) -> tuple[int, ...]:
    items = [value] if isinstance(value, int) else _list(value)
    seeds = tuple(dict.fromkeys(_int("a seed", 0)(int(x) if isinstance(x, str) and x.strip().isdigit() else x)
                                for x in items))
    if not seeds:
        raise XadvError("no seed given")
    return seeds


def _engine(value: Any) -> EngineConfig:
    if not isinstance(value, Mapping):
        raise XadvError(f"engine: expected a table of settings, got {value!r}")
    unknown = sorted(set(value) - set(ENGINE_KEYS))
    if unknown:
        raise XadvError(f"engine: unknown setting(s) {', '.join(unknown)} (known: {', '.join(ENGINE_KEYS)})")
    for k in ("max_seq_length", "doc_stride", "max_query_length", "max_answer_length", "batch_size", "num_threads"):
        if k in value:
            _int(f"engine {k}", 1)(value[k])
    if "int8" in value and not isinstance(value["int8"], bool):
        raise XadvError(f"engine int8 must be true or false, got {value['int8']!r}")
    if "precision" in value and not isinstance(value["precision"], str):
        raise XadvError(f"engine precision must be a string ({', '.join(INFERENCE_PRECISIONS)}), "
                        f"got {value['precision']!r}")
    return EngineConfig(**value)


def _search(value: Any, where: str) -> SearchSpec | None:
    if value is None or isinstance(value, SearchSpec):
        return value
    if not isinstance(value, Mapping):
        raise XadvError(f"{where}: search: expected a table of settings, got {value!r}")
    d = dict(value)
    if "search" not in d:
        flags = ", ".join(sorted(d))
        raise XadvError(f"{flags} only apply to a search: add --search greedy (or beam, random)")
    if d.get("beam_width") is not None and d["search"] != "beam":
        raise XadvError("--beam-width only applies to --search beam")
    d["search"] = str(d["search"]).strip().lower()
    return SearchSpec.from_mapping(d, f"{where}: search")


def _criterion(raw: Mapping[str, Any], search: SearchSpec | None) -> Criterion:
    given = [k for k in ("criterion", "f1_threshold") if raw.get(k) is not None]
    if search is not None:
        if given:
            raise XadvError("with --search the goal sets the ASR criterion: use --goal f1-below:T instead of "
                            "--f1-threshold")
        return search.criterion
    if len(given) == 2:
        raise XadvError("give the ASR criterion once: criterion or f1_threshold, not both")
    if "f1_threshold" in given:
        t = raw["f1_threshold"]
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise XadvError(f"--f1-threshold must be a number in (0, 1], got {t!r}")
        return Criterion.from_threshold(float(t))
    return Criterion.parse(raw["criterion"]) if given else Criterion()


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "models": lambda v: tuple(ModelRef.parse(m) for m in ([v] if isinstance(v, (str, Mapping)) else v)),
    "langs": _langs,
    "attacks": AttackSpec.parse_list,
    "targets": Target.parse_list,
    "seeds": _seeds,
    "strength": _strength,
    "n": _int("n (questions per language)", 1),
    "data": str,
    "mode": _mode,
    "engine": _engine,
    "results": Path,
    "write_adversarial": Path,
    "bootstrap": lambda v: check_resamples(v, "bootstrap (resamples)"),
    "allow_pickle": bool,
    "device": lambda v: check_device(v) if isinstance(v, str) else check_device(repr(v)),
    "min_similarity": lambda v: check_threshold(v, "min_similarity"),
    "sweep": SweepResources.parse,
}


# --- running --------------------------------------------------------------------------------------------


@dataclass
class SuiteRun:
    """What `run_suite` did: every cell's outcome, per model (name, fingerprint) in suite order, and the
    results directory its records are in. `to_dict()` is `xadv attack --json`; the Python API returns it
    as `xadv.RunResult`."""

    outcomes: list[CellOutcome] = field(default_factory=list)
    models: list[tuple[str, str]] = field(default_factory=list)
    results: Path | None = None

    @property
    def records(self) -> list:
        return [o.record for o in self.outcomes if o.record is not None]

    def to_dict(self) -> dict[str, Any]:
        name, fingerprint = self.models[0] if self.models else (None, None)
        return {"model": name, "fingerprint": fingerprint,
                "models": [{"name": m, "fingerprint": f} for m, f in self.models],
                "results": str(self.results) if self.results is not None else None,
                "cells": [o.to_dict() for o in self.outcomes]}

    def to_pandas(self) -> Any:
        """One row per cell: model, seed, lang, attack, target, status and the summary (CIs as `ci.*`)."""
        from xadv.frames import data_frame

        rows = []
        for o in self.outcomes:
            r = o.record
            rows.append({"model": r.model.name if r else None, "fingerprint": r.cell.model_fingerprint if r else None,
                         "seed": r.cell.seed if r else None, "lang": o.lang, "attack": o.attack, "target": o.target,
                         "status": o.status, "reason": o.reason or None, "path": str(o.path) if o.path else None,
                         **(r.summary.to_dict() if r else {})})
        return data_frame(rows)


def load_model(ref: ModelRef, suite: EvalSuite, *, device: Any = None,
               loader: Callable[[ModelRef], Any] | None = None) -> Any:
    """`ref` loaded for `suite` (its device, `allow_pickle`), named as the suite names it: records name the
    model as the suite does, the fingerprint names the weights."""
    loaded = (loader(ref) if loader is not None else
              loading.load_qa_model(ref.path, allow_pickle=suite.allow_pickle,
                                    device=device if device is not None else resolve_device(suite.device)))
    if ref.name:
        loaded.name = ref.name
    return loaded


def engine_for(loaded: Any, suite: EvalSuite, *, cache_path: str | Path | None = None,
               progress: bool = False) -> QAEngine:
    """The QA engine of a loaded model under the suite's engine settings (one per model: it keeps the clean
    predictions every cell of a language shares)."""
    config = replace(suite.engine, cache_path=cache_path or suite.engine.cache_path,
                     progress=progress and suite.search is None)
    return QAEngine.from_loaded(loaded, config)


def suite_rows(suite: EvalSuite, data_dir: str | os.PathLike | None = None) -> list[Mapping]:
    """The questions a suite evaluates: its data (default TyDi dev of its languages), its languages only,
    the first `n` per language."""
    ds = load_qa(suite.data or f"tydiqa:{','.join(suite.langs)}:dev", data_dir)
    rows = [r for r in ds if r["lang"] in suite.langs] if suite.data else list(ds)
    rows = list(first_n_per_language(rows, suite.n))
    if not rows:
        raise XadvError(f"no examples for language(s) {', '.join(suite.langs)} in {suite.data}")
    return rows


def run_suite(suite: EvalSuite, *, data_dir: str | os.PathLike | None = None,
              rows: Sequence[Mapping] | None = None, on_cell: Callable[[CellOutcome], None] | None = None,
              on_model: Callable[[Any], None] | None = None, progress: bool = False,
              cache_path: str | Path | None = None, loader: Callable[[ModelRef], Any] | None = None) -> SuiteRun:
    """Run every cell of `suite`: each model loaded once, its clean pass shared by all its cells,
    records written to `suite.results` as they finish (cells already there are reused).
    `rows` replaces the suite's data (the experiment passes its fixed sample); `loader` replaces
    `load_qa_model` (the Python API hands over a model its caller already loaded)."""
    results_key()  # a set but unusable XADV_RESULTS_KEY is an error before any model is loaded
    for folder in (suite.results, suite.write_adversarial):  # a bad output folder fails now, not after computing
        if folder is not None:
            check_output_dir(folder)
    device = resolve_device(suite.device)  # an absent GPU is an error now, not after the data is read
    rows = list(rows) if rows is not None else suite_rows(suite, data_dir)
    store = ResultsStore(suite.results) if suite.results is not None else None
    params = {"data_dir": str(resolve_data_dir(data_dir))}
    run = SuiteRun(results=suite.results)
    for ref in suite.models:
        loaded = load_model(ref, suite, device=device, loader=loader)
        if on_model:
            on_model(loaded)
        engine = engine_for(loaded, suite, cache_path=cache_path, progress=progress)
        run.models.append((loaded.name, loaded.fingerprint))
        for seed in suite.seeds:
            run.outcomes += run_attacks(loaded, rows, suite.cell_settings(seed), attack_params=params, store=store,
                                        engine=engine, on_cell=on_cell, write_adversarial=suite.write_adversarial,
                                        progress=progress and suite.search is not None)
    return run
