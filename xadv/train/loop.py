"""One training phase: a custom `accelerate` loop over one or several tasks, resumable at any saved step.

The same code runs on one CPU, one GPU, or several processes under `accelerate launch` / `torchrun`:
accelerate places the model and wraps it for DDP; each step picks its task and its global batch from
pure functions of (seed, step) (`xadv.train.batching`), and each process trains on its share.

Resume: every `save_every` steps the trainable tensors, optimizer, scheduler and RNG state are written
to `resume/` (atomically, replacing the previous save). Frozen weights are not saved: they are the
phase's starting checkpoint, reloaded on resume. The batch order needs no saved iterator (it is a
function of the step), so a resumed phase continues exactly where the saved one stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from xadv.errors import XadvError
from xadv.io import atomic_open, atomic_write_bytes, atomic_write_text, read_json, staged_dir
from xadv.progress import Bar
from xadv.train.batching import TaskStream, collate, shard, task_for_step, task_probabilities

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

    from xadv.train.config import Budget, PhaseSettings
    from xadv.train.features import TrainFeature

RESUME_DIR = "resume"
ADAPTER_DIR = "adapter"


@dataclass
class PhaseResult:
    """What a phase did, for the model card and the tests (losses are per optimizer step)."""

    name: str
    tasks: list[str]
    steps: int
    seconds: float
    tokens: int
    losses: list[float]
    task_steps: dict[str, int]
    task_probabilities: dict[str, float]
    windows: dict[str, int]
    parameters: dict[str, int]
    resumed_at_step: int = 0
    processes: int = 1
    device: str = "cpu"
    extra: dict = field(default_factory=dict)

    step_tasks: list[str] = field(default_factory=list)  # the task each step trained (deterministic, see batching)

    def loss_start_end(self) -> tuple[float, float]:
        """Mean loss over the first and the last tenth of the steps (at least one step each)."""
        return _first_last(self.losses)

    def task_losses(self) -> dict[str, dict[str, float]]:
        """Per task: mean loss over the first and last tenth of ITS steps. The phase-wide curve mixes
        tasks with different loss scales (span QA ~5, NLI ~1.1 at chance), so only this shows whether
        each task learned."""
        out = {}
        for t in self.tasks:
            mine = [x for x, task in zip(self.losses, self.step_tasks) if task == t]
            if mine:
                first, last = _first_last(mine)
                out[t] = {"first": round(first, 4), "last": round(last, 4), "steps": len(mine)}
        return out

    def not_learning(self, min_steps: int = 20, min_drop: float = 0.02) -> list[str]:
        """Tasks whose loss did not fall by `min_drop` (relative) from their first to their last tenth:
        the sign of a learning rate too high for the task (it diverged), far too low, or of a task that
        needs more steps than the budget gives it (PAWS-X's adversarial pairs stay near chance for long)."""
        return [t for t, v in self.task_losses().items()
                if v["steps"] >= min_steps and v["last"] > (1.0 - min_drop) * v["first"]]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 1)
        d["losses"] = [round(x, 4) for x in self.losses]
        first, last = self.loss_start_end() if self.losses else (None, None)
        d["loss_first"] = None if first is None else round(first, 4)
        d["loss_last"] = None if last is None else round(last, 4)
        d["tokens_per_second"] = round(self.tokens / self.seconds, 1) if self.seconds > 0 else None
        d.pop("step_tasks")
        d["task_losses"] = self.task_losses()
        d["not_learning"] = self.not_learning()
        return d


def _first_last(losses: list[float]) -> tuple[float, float]:
    k = max(1, len(losses) // 10)
    return float(np.mean(losses[:k])), float(np.mean(losses[-k:]))


@dataclass
class PhaseInput:
    """A phase's tasks, their labelled windows and kinds."""

    name: str
    features: dict[str, list["TrainFeature"]]
    kinds: dict[str, str]  # task -> qa | pairs
    n_labels: dict[str, int]  # pair tasks -> classes


def total_steps(settings: "PhaseSettings", streams: dict[str, TaskStream]) -> int:
    if settings.max_steps:
        return settings.max_steps
    batches = sum(s.batches_per_epoch for s in streams.values())
    return max(1, math.ceil(settings.epochs * batches / settings.grad_accum))


def _optimizer(model, settings: "PhaseSettings"):
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": settings.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=settings.lr)


def _save_resume(resume: Path, model, optimizer, scheduler, state: dict) -> None:
    """Write the resume point to a sibling temp dir and swap it in (never a half-written resume/)."""
    import torch
    from safetensors.torch import save

    tmp = _tmp(resume)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    atomic_write_bytes(tmp / "trainable.safetensors", save(model.trainable_state()))
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    with atomic_open(tmp / "optim.pt", "wb") as fh:
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng}, fh)
    atomic_write_text(tmp / "state.json", json.dumps(state))  # written last: tmp/ is complete once it exists
    old = _old(resume)
    shutil.rmtree(old, ignore_errors=True)
    if resume.exists():
        os.replace(resume, old)
    os.replace(tmp, resume)
    shutil.rmtree(old, ignore_errors=True)


def _tmp(resume: Path) -> Path:
    return resume.with_name(f".{resume.name}.tmp")


def _old(resume: Path) -> Path:
    return resume.with_name(f".{resume.name}.old")


def recover_resume(resume: Path) -> None:
    """Finish a swap that a kill interrupted between `_save_resume`'s two renames (resume/ gone): the new
    point if its temp dir is complete (state.json is written last), else the previous one. A SIGTERM raises
    SystemExit at any bytecode, so the window is real, if narrow; without this the phase restarts at step 0."""
    if resume.exists():
        return
    for candidate in (_tmp(resume), _old(resume)):
        if (candidate / "state.json").is_file():
            os.replace(candidate, resume)
            return


def clear_resume(resume: Path) -> None:
    """Remove a finished phase's resume point and any temp or previous copy beside it."""
    for path in (resume, _tmp(resume), _old(resume)):
        shutil.rmtree(path, ignore_errors=True)


def read_resume_state(resume: Path) -> dict | None:
    recover_resume(resume)
    try:  # no readable state: nothing to resume from
        state = read_json(resume / "state.json", "training state")
    except XadvError:
        return None
    return state if isinstance(state, dict) else None


def _load_resume(resume: Path, model, optimizer, scheduler) -> None:
    import torch
    from safetensors.torch import load_file

    try:
        model.load_trainable_state(load_file(str(resume / "trainable.safetensors")))
        blob = torch.load(resume / "optim.pt", weights_only=True, map_location="cpu")
    except (OSError, RuntimeError) as exc:
        raise XadvError(f"{resume}: unreadable resume checkpoint ({exc}); start again with --fresh") from None
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["rng"]["torch"])
    if "cuda" in blob["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["rng"]["cuda"])


class _Bar:
    """Training progress with the running loss and throughput (main process only)."""

    def __init__(self, enabled: bool, name: str, total: int, done: int):
        self._bar = Bar(name, total, enabled=enabled, done=done, fields=("loss", "speed"), transient=False)

    def __enter__(self):
        self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        self._bar.__exit__(*exc)

    def update(self, loss: float, tokens_per_s: float) -> None:
        self._bar.advance(1, loss=f"loss {loss:.3f}", speed=f"{tokens_per_s:,.0f} tok/s")


def load_start(start: str | Path) -> tuple[Any, Any]:
    """(QA model, tokenizer) of a starting checkpoint, through the safe loader of xadv.models."""
    from xadv.models.loading import UntrainedHeadWarning, load_qa_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)  # the phase trains the head
        loaded = load_qa_model(start, allow_untrained_head=True)
    return loaded.model, loaded.tokenizer


def run_phase(accelerator: "Accelerator", phase: PhaseInput, start: str | Path | tuple[Any, Any],
              settings: "PhaseSettings", budget: "Budget", *, seed: int, out_dir: Path, resume_dir: Path,
              save_adapter: bool = False, progress: bool = True,
              log: Callable[[str], None] = lambda _m: None) -> tuple[PhaseResult, Any]:
    """Train one phase from `start` (a checkpoint, or an in-memory (model, tokenizer) pair); write the
    merged QA checkpoint to `out_dir`; return the result and the merged HF QA model (for the next phase)."""
    from transformers import get_linear_schedule_with_warmup

    from xadv.train.model import MultiTaskModel, apply_budget

    qa_model, tokenizer = start if isinstance(start, tuple) else load_start(start)
    qa_model.train()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    pair_tasks = {t: phase.n_labels[t] for t, k in phase.kinds.items() if k == "pairs"}
    model = MultiTaskModel(qa_model, pair_tasks, seed=seed, pooling=settings.pair_pooling)
    params = apply_budget(model, budget, seed)
    model.train()

    world, rank = accelerator.num_processes, accelerator.process_index
    tasks = sorted(phase.features)
    for t in tasks:
        if len(phase.features[t]) < world:
            raise XadvError(f"phase {phase.name}: task {t} has {len(phase.features[t])} training windows, "
                            f"fewer than the {world} processes")
    streams = {t: TaskStream(np.array([len(f) for f in phase.features[t]]), settings.batch_size * world, seed, i,
                             drop_last=world > 1) for i, t in enumerate(tasks)}
    probs = task_probabilities({t: len(phase.features[t]) for t in tasks}, settings.sampling, settings.temperature)
    n_steps = total_steps(settings, streams)
    optimizer = _optimizer(model, settings)
    scheduler = get_linear_schedule_with_warmup(optimizer, round(settings.warmup * n_steps), n_steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    inner = accelerator.unwrap_model(model)

    step, losses, tokens, seconds = 0, [], 0, 0.0
    task_steps = {t: 0 for t in tasks}
    saved = read_resume_state(resume_dir)
    if saved is not None and saved.get("phase") == phase.name:
        _load_resume(resume_dir, inner, optimizer, scheduler)
        step, losses, tokens, seconds = saved["step"], saved["losses"], saved["tokens"], saved["seconds"]
        task_steps = saved["task_steps"]
        for t, pos in saved["positions"].items():
            streams[t].position = pos
        log(f"{phase.name}: resuming at step {step}/{n_steps}")
    resumed_at = step

    allow_cls = settings.no_answer == "cls"
    tlist, plist = list(probs), list(probs.values())
    ema = float(np.mean(losses[-20:])) if losses else None
    t0 = time.perf_counter() - seconds
    with _Bar(progress and accelerator.is_main_process, phase.name, n_steps, step) as bar:
        while step < n_steps:
            task = task_for_step(tlist, plist, seed, step)
            kind = phase.kinds[task]
            step_loss, step_tokens = 0.0, 0
            for micro in range(settings.grad_accum):
                idx = shard(streams[task].next(), rank, world)
                batch = collate([phase.features[task][i] for i in idx], kind, pad_id, allow_cls)
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                step_tokens += int(batch["attention_mask"].sum()) * world
                sync = micro == settings.grad_accum - 1
                with accelerator.no_sync(model) if not sync and world > 1 else contextlib.nullcontext():
                    with accelerator.autocast():
                        loss = model(task, **batch) / settings.grad_accum
                    accelerator.backward(loss)
                step_loss += float(loss.detach())
            if settings.max_grad_norm > 0:
                accelerator.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if not math.isfinite(step_loss):
                raise XadvError(f"phase {phase.name}: the loss became {step_loss} at step {step + 1} "
                                f"(lower the learning rate, now {settings.lr})")
            step += 1
            losses.append(step_loss)
            tokens += step_tokens
            task_steps[task] += 1
            ema = step_loss if ema is None else 0.9 * ema + 0.1 * step_loss
            elapsed = time.perf_counter() - t0
            bar.update(ema, tokens / max(elapsed, 1e-9))
            if settings.save_every and step % settings.save_every == 0 and step < n_steps:
                accelerator.wait_for_everyone()
                if accelerator.is_main_process:
                    _save_resume(resume_dir, inner, optimizer, scheduler, {
                        "phase": phase.name, "step": step, "losses": losses, "tokens": tokens,
                        "seconds": elapsed, "task_steps": task_steps,
                        "positions": {t: s.position for t, s in streams.items()}})
    seconds = time.perf_counter() - t0
    accelerator.wait_for_everyone()
    if accelerator.is_main_process and save_adapter and inner.is_lora:
        with staged_dir(out_dir / ADAPTER_DIR) as stage:
            inner.qa.save_pretrained(str(stage))
    inner.merge_lora()  # on every process: each keeps the merged model for the next phase
    if accelerator.is_main_process:
        inner.save_checkpoint(out_dir, tokenizer)
    accelerator.wait_for_everyone()
    merged = inner.hf_model()
    accelerator.free_memory()
    return PhaseResult(
        name=phase.name, tasks=tasks, steps=n_steps, seconds=seconds, tokens=tokens, losses=losses,
        task_steps=task_steps, task_probabilities={t: round(p, 4) for t, p in probs.items()},
        windows={t: len(f) for t, f in phase.features.items()}, parameters=params,
        resumed_at_step=resumed_at, processes=world, device=str(accelerator.device),
        step_tasks=[task_for_step(tlist, plist, seed, i) for i in range(len(losses))]), (merged, tokenizer)
