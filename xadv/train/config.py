"""What a training run is: one `TrainConfig`, read from TOML (a preset, a user file, or both) plus overrides.

The whole run (data, budget, hyper-parameters of both phases, evaluation) is described by this one
record, and its hash names the run: resuming an output directory is refused when the config differs,
so a resumed model can never silently mix two recipes.

TOML layout (all keys optional; see `xadv/train/presets/*.toml` for complete examples):

    base = "me5-small"            # any checkpoint `xadv.models` loads (dir, me5-small, hub id)
    seed = 13
    mix = "en"                    # en | multi | mixed: which intermediate data is used
    en_share = 0.5                # mixed only: the English share of each task's examples
    intermediate = ["qa", "xnli"] # [] = no intermediate phase (base -> target)
    content_matched = false       # draw intermediate *items* (each once, in one language): XQuAD/XNLI/PAWS-X
    holdout = 0.0                 # content_matched: share of item groups kept out of training (held-out checks)
    target = "tydiqa:en:train"    # the target-task (span QA) training data
    [sources]                     # intermediate data per task; the mix filters them by language
    qa = ["squad:en:dev", "tydiqa:ko,sw:train"]
    [budget]    ...               # LoRA, frozen layers, dropout, threads (both phases)
    [phases.intermediate] ...     # steps, batch, lr, windows, task sampling
    [phases.target] ...
    [eval] ...                    # zero-shot evaluation after training
    [augment]                     # adversarial training: perturbed copies added to the target data
    attacks = "keyboard:0.3,codemix:0.2"
    strength = 0.2
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attacks.adversarial import AugmentSpec
from xadv.device import INFERENCE_PRECISIONS, TRAINING_PRECISIONS, Precision, training_precision
from xadv.errors import XadvError
from xadv.io import one_line
from xadv.io import read_toml as io_read_toml
from xadv.score.normalize import MODES

TASKS: dict[str, str] = {"qa": "qa", "xnli": "pairs", "pawsx": "pairs"}  # task -> kind
MIXES: tuple[str, ...] = ("en", "multi", "mixed")
NO_ANSWER_POLICIES: tuple[str, ...] = ("drop", "cls")
PAIR_POOLING: tuple[str, ...] = ("cls", "mean")
PRESETS_DIR = Path(__file__).resolve().parent / "presets"


class ConfigError(XadvError):
    """A training config file or override is malformed."""


@dataclass
class Budget:
    """How much of the model trains: the knobs that make training fit a laptop.

    lora_r > 0 trains LoRA matrices (peft) instead of the encoder's weights; train_top_layers > 0 limits
    training (LoRA or full) to the top layers, so the backward pass stops there (the big CPU saving).
    dropout None keeps the base model's; 0 makes CPU steps faster and suits short runs.
    """

    lora_r: int = 0
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_targets: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])
    train_top_layers: int = 0
    freeze_embeddings: bool = True
    dropout: float | None = None
    threads: int = 0  # 0: all usable cores (or $XADV_NUM_THREADS / $OMP_NUM_THREADS)
    mixed_precision: str = "auto"  # auto | no | bf16 | fp16 (accelerate); auto: xadv.device.training_precision


@dataclass
class PhaseSettings:
    """Hyper-parameters of one phase (intermediate or target).

    Steps: max_steps > 0 wins; else `epochs` passes over the phase's training windows.
    max_examples: examples per task after mixing (0 = all available).
    no_answer: windows of a long context that do not contain the answer are dropped ("drop": cheaper,
    and the decoder never predicts the CLS token anyway) or kept with start=end=CLS ("cls": the
    SQuAD/XTREME recipe, which also teaches the model that a window can lack the answer).
    sampling: how multi-task steps pick a task: "size" (proportional to examples) or "temperature"
    (proportional to examples ** (1 / temperature); large temperatures approach uniform).
    pair_pooling: what the pair-task (XNLI, PAWS-X) heads read: "cls" (the first token, as BERT/XLM-R
    sequence classification does) or "mean" (masked mean over tokens, how E5 models were trained).
    """

    max_steps: int = 0
    epochs: float = 2.0
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 3e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_seq_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64
    no_answer: str = "cls"
    max_examples: int = 0
    sampling: str = "size"
    temperature: float = 2.0
    save_every: int = 200  # steps between resumable checkpoints (0: only at the end of the phase)
    pair_pooling: str = "cls"


@dataclass
class EvalSettings:
    """The zero-shot evaluation after training ("" data: skip)."""

    data: str = "tydiqa:all:dev"
    n_per_lang: int = 0  # 0: every question
    mode: str = "squad"
    batch_size: int = 16
    int8: bool = False
    precision: str = "auto"  # of the evaluation engine: auto | fp32 | bf16 | fp16 | int8 (xadv.device)


@dataclass
class AugmentSettings:
    """Adversarial training: perturbed copies added to the target-phase data (`attacks.adversarial`).

    attacks: `keyboard:0.3,codemix:0.2` (each attack copies that share of the rows; "" or "none": off);
    strength: the attack strength of every copy.
    """

    attacks: str = ""
    strength: float = 0.2


@dataclass
class TrainConfig:
    base: str = "me5-small"
    seed: int = 13
    mix: str = "en"
    en_share: float = 0.5
    intermediate: list[str] = field(default_factory=list)
    content_matched: bool = False
    holdout: float = 0.0
    target: str = "tydiqa:en:train"
    sources: dict[str, list[str]] = field(default_factory=lambda: {
        "qa": ["squad:en:dev", "tydiqa:ko,sw:train"],
        "xnli": ["xnli:all:dev"],
        "pawsx": ["pawsx:all:dev"],
    })
    budget: Budget = field(default_factory=Budget)
    intermediate_phase: PhaseSettings = field(default_factory=PhaseSettings)
    target_phase: PhaseSettings = field(default_factory=PhaseSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    preset: str | None = None  # where it came from (informative; not part of the hash)

    def check(self) -> "TrainConfig":
        """Raise ConfigError (one line) for values that would fail later or train nonsense."""
        if self.seed < 0:
            raise ConfigError(f"seed must be a whole number >= 0, got {self.seed}")
        if self.mix not in MIXES:
            raise ConfigError(f"unknown mix {self.mix!r}: choose one of {', '.join(MIXES)}")
        if not 0.0 < self.en_share < 1.0:
            raise ConfigError(f"en_share must be strictly between 0 and 1, got {self.en_share}")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"holdout must be in [0, 1), got {self.holdout}")
        if self.holdout and not self.content_matched:
            raise ConfigError("holdout needs content_matched = true (items are held out, not rows)")
        for task in self.intermediate:
            if task not in TASKS:
                raise ConfigError(f"unknown intermediate task {task!r}: choose from {', '.join(TASKS)}")
            if not self.sources.get(task):
                raise ConfigError(f"intermediate task {task!r} has no data sources ([sources] {task} = [...])")
        if len(set(self.intermediate)) != len(self.intermediate):
            raise ConfigError(f"intermediate tasks repeat: {', '.join(self.intermediate)}")
        for task in self.sources:
            if task not in TASKS:
                raise ConfigError(f"[sources] names unknown task {task!r}: known {', '.join(TASKS)}")
        if not self.target:
            raise ConfigError("no target data: set target (e.g. tydiqa:en:train)")
        b = self.budget
        if b.lora_r < 0 or b.train_top_layers < 0 or b.threads < 0:
            raise ConfigError("budget.lora_r, train_top_layers and threads must be >= 0")
        if not 0.0 <= b.lora_dropout < 1.0:
            raise ConfigError(f"budget.lora_dropout must be in [0, 1), got {b.lora_dropout}")
        if b.dropout is not None and not 0.0 <= b.dropout < 1.0:
            raise ConfigError(f"budget.dropout must be in [0, 1), got {b.dropout}")
        if b.mixed_precision not in TRAINING_PRECISIONS:
            raise ConfigError(f"budget.mixed_precision must be one of {', '.join(TRAINING_PRECISIONS)}, "
                              f"got {b.mixed_precision!r}")
        for name, p in (("intermediate", self.intermediate_phase), ("target", self.target_phase)):
            where = f"phases.{name}"
            if p.no_answer not in NO_ANSWER_POLICIES:
                raise ConfigError(f"{where}.no_answer must be one of {', '.join(NO_ANSWER_POLICIES)}, "
                                  f"got {p.no_answer!r}")
            if p.pair_pooling not in PAIR_POOLING:
                raise ConfigError(f"{where}.pair_pooling must be one of {', '.join(PAIR_POOLING)}, "
                                  f"got {p.pair_pooling!r}")
            if p.sampling not in ("size", "temperature"):
                raise ConfigError(f"{where}.sampling must be size or temperature, got {p.sampling!r}")
            if p.batch_size < 1 or p.grad_accum < 1:
                raise ConfigError(f"{where}: batch_size and grad_accum must be >= 1")
            if p.max_steps < 0 or p.epochs < 0 or (p.max_steps == 0 and p.epochs == 0):
                raise ConfigError(f"{where}: set max_steps > 0 or epochs > 0")
            if p.lr <= 0 or not 0 <= p.warmup < 1 or p.temperature <= 0:
                raise ConfigError(f"{where}: lr and temperature must be > 0 and warmup in [0, 1)")
            if p.max_seq_length < 32 or p.max_examples < 0 or p.save_every < 0:
                raise ConfigError(f"{where}: max_seq_length >= 32, max_examples and save_every >= 0")
            if p.weight_decay < 0 or p.max_grad_norm <= 0:
                raise ConfigError(f"{where}: weight_decay must be >= 0 and max_grad_norm > 0")
            if not 0 < p.max_query_length < p.max_seq_length or not 0 < p.doc_stride < p.max_seq_length:
                raise ConfigError(f"{where}: max_query_length and doc_stride must be > 0 and below max_seq_length "
                                  f"({p.max_seq_length}), got {p.max_query_length} and {p.doc_stride}")
        self.augment_spec()  # one line for a bad augment value, before any data loads
        if self.eval.precision not in INFERENCE_PRECISIONS:
            raise ConfigError(f"eval.precision must be one of {', '.join(INFERENCE_PRECISIONS)}, "
                              f"got {self.eval.precision!r}")
        if self.eval.n_per_lang < 0:
            raise ConfigError("eval.n_per_lang must be >= 0")
        if self.eval.batch_size < 1:
            raise ConfigError(f"eval.batch_size must be >= 1, got {self.eval.batch_size}")
        if self.eval.mode not in MODES:
            raise ConfigError(f"eval.mode must be one of {', '.join(MODES)}, got {self.eval.mode!r}")
        return self

    def augment_spec(self) -> AugmentSpec | None:
        """The parsed augmentation (None: off)."""
        text = self.augment.attacks.strip()
        if text.lower() in ("", "none"):
            if not 0 < self.augment.strength <= 1:
                raise ConfigError(f"augment.strength must be in (0, 1], got {self.augment.strength}")
            return None
        return AugmentSpec.parse(text, self.augment.strength)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["phases"] = {"intermediate": d.pop("intermediate_phase"), "target": d.pop("target_phase")}
        return d

    def replace_budget(self, **changes: Any) -> "TrainConfig":
        """A copy with some budget settings changed."""
        return dataclasses.replace(self, budget=dataclasses.replace(self.budget, **changes))

    def precision(self) -> Precision:
        """The mixed precision this config trains in on this machine (`auto` resolved), with the reason."""
        return training_precision(self.budget.mixed_precision)

    def digest(self) -> str:
        """sha256 of everything that shapes the trained weights (not the preset's name, not eval)."""
        d = self.to_dict()
        d.pop("preset", None)
        d.pop("eval", None)
        d["budget"].pop("threads", None)
        # the precision that will run here (auto resolved): it shapes the weights, and a run resumed on a
        # machine that resolves auto differently must not continue another precision's weights
        d["budget"]["mixed_precision"] = self.precision().name
        for phase in d["phases"].values():
            phase.pop("save_every", None)
        # without augmentation the key is left out, so the digests of earlier runs stay what they were;
        # with it, the canonical spec (attack order and aliases do not matter) and the attacks' versions
        for key, off in (("content_matched", False), ("holdout", 0.0)):  # likewise: absent when off
            if d[key] == off:
                d.pop(key)
        spec = self.augment_spec()
        if spec is None:
            d.pop("augment", None)
        else:
            d["augment"] = spec.key()
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


_SECTIONS: dict[str, type] = {"budget": Budget, "eval": EvalSettings, "augment": AugmentSettings}


def _fill(cls: type, values: Any, where: str):
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a table, got {type(values).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    out = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
        out[key] = _coerce(value, known[key], f"{where}.{key}")
    return out


def _coerce(value: Any, f: dataclasses.Field, where: str) -> Any:
    """Check a TOML value against the field's type (ints are accepted where floats are expected)."""
    kind = str(f.type)
    if kind.startswith("list"):
        if isinstance(value, str):  # "qa,xnli" from the command line
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        return value
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and "None" in kind):
        if "None" not in kind:
            raise ConfigError(f"{where} cannot be empty")
        return None
    if kind.startswith("float") and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):  # TOML (and --set) read nan and inf as floats: never a setting
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    if kind.startswith("int") and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind.startswith("bool") and isinstance(value, bool):
        return value
    if kind.startswith("str") and isinstance(value, str):
        return value
    raise ConfigError(f"{where}: expected {kind.split(' |')[0]}, got {value!r}")


def merge(base: dict, over: dict) -> dict:
    """Deep-merge two parsed TOML tables (`over` wins)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def from_dict(raw: dict, preset: str | None = None) -> TrainConfig:
    """A checked TrainConfig from a parsed TOML table."""
    raw = dict(raw)
    top = {f.name: f for f in dataclasses.fields(TrainConfig)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            kwargs[key] = _SECTIONS[key](**_fill(_SECTIONS[key], value, key))
        elif key == "phases":
            if not isinstance(value, dict):
                raise ConfigError("phases must be a table with [phases.intermediate] / [phases.target]")
            for pname, pvals in value.items():
                if pname not in ("intermediate", "target"):
                    raise ConfigError(f"unknown phase {pname!r}: use phases.intermediate or phases.target")
                kwargs[f"{pname}_phase"] = PhaseSettings(**_fill(PhaseSettings, pvals, f"phases.{pname}"))
        elif key == "sources":
            if not isinstance(value, dict):
                raise ConfigError("sources must be a table: task = [\"dataset:lang:split\", ...]")
            kwargs["sources"] = {
                t: _coerce(v, top["intermediate"], f"sources.{t}") for t, v in value.items()}
        elif key in ("base", "seed", "mix", "en_share", "intermediate", "target", "content_matched", "holdout"):
            kwargs[key] = _coerce(value, top[key], key)
        else:
            raise ConfigError(f"unknown config key {key!r}")
    return TrainConfig(**kwargs, preset=preset).check()


def read_toml(path: str | os.PathLike) -> dict:
    return io_read_toml(path, "TOML training config", error=ConfigError, missing=f"{path}: config file not found")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def preset_table(name: str) -> dict:
    path = PRESETS_DIR / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}: choose one of {', '.join(preset_names())}")
    return read_toml(path)


def parse_override(text: str) -> dict:
    """`phases.target.lr=1e-4` -> {"phases": {"target": {"lr": 0.0001}}} (the value is read as TOML)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"bad override {text!r}: expected key=value, e.g. phases.target.max_steps=100")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()  # a bare string such as tydiqa:en:train
    except RecursionError:
        raise ConfigError(f"bad override {one_line(text)}: the value is nested too deeply") from None
    table: dict = {}
    node = table
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = parsed
    return table


def load_config(preset: str | None = None, config_file: str | os.PathLike | None = None,
                overrides: dict | None = None, sets: list[str] | None = None) -> TrainConfig:
    """preset TOML <- config file <- `overrides` (flags) <- `sets` (`key=value` strings), later wins."""
    raw: dict = preset_table(preset) if preset else {}
    if config_file is not None:
        raw = merge(raw, read_toml(config_file))
    if overrides:
        raw = merge(raw, overrides)
    for text in sets or []:
        raw = merge(raw, parse_override(text))
    return from_dict(raw, preset=preset)
