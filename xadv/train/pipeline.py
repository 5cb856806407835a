"""The three phases end to end: base -> intermediate tasks -> target fine-tuning -> zero-shot evaluation.

    out/                         the final QA checkpoint (load it with `--model out`) + xadv_card.json
    out/adapter/                 the target phase's LoRA adapter (peft format), when LoRA was used
    out/phases/intermediate/     the intermediate checkpoint (+ pair heads, + its own card)
    out/resume/                  the last resumable point of the running phase (removed when done)
    out/xadv_train_run.json      the run's config digest and the phases already finished
    out/eval_predictions.json    the evaluation's predictions {id: answer}

Running the same command again resumes: finished phases are skipped, the running one continues from
its last save. A different config in the same directory is refused (or wiped with `fresh`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from xadv.device import cpu_has_native_bf16, precision_label
from xadv.errors import XadvError
from xadv.io import atomic_open, atomic_write_text, read_json, sha256_file
from xadv.models.card import CARD_FILE, build_card, evaluation_summary, read_card, task_summary, write_card
from xadv.train.config import TrainConfig
from xadv.train.data import TaskData, add_adversarial, check_no_leak, load_target, load_task
from xadv.train.loop import ADAPTER_DIR, RESUME_DIR, PhaseInput, clear_resume, run_phase

RUN_FILE = "xadv_train_run.json"
PHASES_DIR = "phases"
EVAL_PREDICTIONS = "eval_predictions.json"


@dataclass
class TrainResult:
    out: Path
    card: dict[str, Any]
    phases: list[dict[str, Any]]
    main_process: bool = True  # False in the other processes of a multi-process run (they report nothing)


def _prepare_out(out: Path, digest: str, fresh: bool) -> dict:
    """The run record of `out` (new or resumed); refuses to mix configs or to clobber foreign files."""
    run_file = out / RUN_FILE
    if out.exists() and not out.is_dir():
        raise XadvError(f"{out} exists and is not a directory")
    record = None
    if run_file.is_file():
        try:
            record = read_json(run_file, "training run record")
        except XadvError:
            record = None
        if not (isinstance(record, dict) and isinstance(record.get("digest"), str) and len(record["digest"]) == 64
                and isinstance(record.get("done"), dict)):
            record = None  # not a run record xadv wrote: the folder is not ours to resume, nor to delete
    if out.is_dir() and any(out.iterdir()):
        if record is None:
            raise XadvError(f"{out} is not empty and holds no xadv training run: choose another --out")
        if fresh:
            if out.is_symlink():
                raise XadvError(f"{out} is a symbolic link: --fresh deletes the run folder, so give its real path")
            try:
                shutil.rmtree(out)
            except OSError as exc:
                raise XadvError(f"--fresh: cannot delete the earlier run in {out} ({exc.strerror or exc})") from None
            record = None
        elif record.get("digest") != digest:
            raise XadvError(f"{out} holds a run with a different config (digest {record.get('digest', '?')[:12]}, "
                            f"now {digest[:12]}): pass --fresh to start over there, or choose another --out")
    return record if record is not None else {"digest": digest, "done": {}}


def _start_record(out: Path, record: dict) -> None:
    """Create `out` and its run record (once the data and the base model have loaded: a bad --base or
    --target leaves nothing behind)."""
    out.mkdir(parents=True, exist_ok=True)
    if not (out / RUN_FILE).is_file():
        _write_json(out / RUN_FILE, record)


def _write_json(path: Path, obj: Any) -> None:
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1)


def load_phase_data(config: TrainConfig, data_dir: str | os.PathLike | None) -> tuple[list[TaskData], TaskData]:
    """The intermediate tasks (under the mix) and the target data, checked against the evaluation data."""
    inter = [load_task(t, config.sources[t], mix=config.mix, en_share=config.en_share,
                       max_examples=config.intermediate_phase.max_examples, seed=config.seed, data_dir=data_dir,
                       content_matched=config.content_matched, holdout=config.holdout)
             for t in config.intermediate]
    target = load_target(config.target, max_examples=config.target_phase.max_examples, seed=config.seed,
                         data_dir=data_dir)
    target = add_adversarial(target, config.augment_spec(), seed=config.seed, data_dir=data_dir)
    check_no_leak([f for t in [*inter, target] for f in t.files], config.eval.data, data_dir)
    return inter, target


def _features(data: TaskData, tokenizer, settings) -> tuple[list, dict]:
    from xadv.train.features import pair_train_features, qa_train_features

    if data.kind == "qa":
        feats, stats = qa_train_features(data.rows, tokenizer, max_seq_length=settings.max_seq_length,
                                         doc_stride=settings.doc_stride, max_query_length=settings.max_query_length,
                                         no_answer=settings.no_answer)
    else:
        feats, stats = pair_train_features(data.rows, tokenizer, max_seq_length=settings.max_seq_length)
    if not feats:
        raise XadvError(f"task {data.task}: no training windows (every answer lies outside the windows?)")
    return feats, stats.as_dict()


def _load_base(base: str) -> tuple[dict[str, Any], Any]:
    """The base checkpoint: its identity for the card, and the loaded model (the first phase starts from it)."""
    from xadv.models.loading import UntrainedHeadWarning, load_qa_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)
        loaded = load_qa_model(base, allow_untrained_head=True)
    cfg = loaded.model.config
    return {"name": base, "path": str(loaded.path), "fingerprint": loaded.fingerprint,
            "architecture": type(loaded.model).__name__, "model_type": cfg.model_type,
            "n_params": loaded.n_params, "provenance": loaded.provenance,
            "had_qa_head": loaded.has_qa_head}, loaded


def train(config: TrainConfig, out: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
          fresh: bool = False, progress: bool = True, evaluate: bool = True,
          log: Callable[[str], None] = lambda _m: None) -> TrainResult:
    """Run (or resume) the whole chain; returns the card written next to the final checkpoint."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    from xadv.qa.engine import configure_threads

    out = Path(out).expanduser()
    config.check()
    precision = config.precision()
    config = config.replace_budget(mixed_precision=precision.name)  # what runs, in the card and the digest
    digest = config.digest()
    import torch

    # accelerate keeps one process-wide state and refuses a second Accelerator with another mixed precision;
    # a process that trains several models (the experiment grid, a notebook, the tests) must be able to,
    # so drop that state (the process group, PartialState, is kept).
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=False)
    # cpu=True when there is no GPU: accelerate only sets up multi-process CPU training (gloo) when asked to
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=config.budget.mixed_precision,
                              kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    if accelerator.device.type == "cpu":
        configure_threads(config.budget.threads or None)
    if not accelerator.is_main_process:
        log = lambda _m: None  # noqa: E731 - one voice per run
    if accelerator.is_main_process:
        record = _prepare_out(out, digest, fresh)

    t_start = time.perf_counter()
    inter, target = load_phase_data(config, data_dir)
    base, loaded = _load_base(config.base)
    if accelerator.is_main_process:
        _start_record(out, record)
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        record = read_json(out / RUN_FILE, "training run record")
    log(f"precision: {precision_label(precision.name)} ({precision.why})")
    if precision.name == "bf16" and accelerator.device.type == "cpu" and not cpu_has_native_bf16():
        log("note: this CPU has no native bf16 (AMX / AVX512-BF16): bf16 autocast will be slow here; "
            "consider --set budget.mixed_precision=no")
    tokenizer = loaded.tokenizer
    summaries: list[dict] = []
    phases: list[dict] = []
    start: Any = (loaded.model, tokenizer)  # then the previous phase's model, in memory or on disk
    prior_seconds = sum(p.get("seconds", 0.0) for p in record["done"].values())

    trained_now = False  # whether this call trained anything (else a finished run's evaluation still holds)
    schedule = []
    if inter:
        schedule.append(("intermediate", inter, config.intermediate_phase, out / PHASES_DIR / "intermediate"))
    schedule.append(("target", [target], config.target_phase, out))
    for name, datas, settings, phase_out in schedule:
        feats, kinds, n_labels, stats = {}, {}, {}, {}
        for d in datas:
            key = "qa" if d.kind == "qa" else d.task
            feats[key], stats[key] = _features(d, tokenizer, settings)
            kinds[key], n_labels[key] = d.kind, d.n_labels
            summaries.append({**task_summary(d, stats[key]), "phase": name,
                              **({"adversarial_copies": d.augmentation["copies"]} if d.augmentation else {}),
                              **({"content_matched": d.matched} if d.matched else {})})
        if name in record["done"]:
            phases.append(record["done"][name])
            log(f"{name}: already done ({record['done'][name]['steps']} steps), skipping")
        else:
            trained_now = True
            log(f"{name}: " + ", ".join(f"{t} {len(f):,} windows" for t, f in feats.items()))
            result, start = run_phase(
                accelerator, PhaseInput(name, feats, kinds, n_labels), start, settings, config.budget,
                seed=config.seed, out_dir=phase_out, resume_dir=out / RESUME_DIR,
                save_adapter=(name == "target"), progress=progress, log=log)
            phase_dict = {**result.to_dict(), "checkpoint": str(phase_out.relative_to(out)) or "."}
            if accelerator.is_main_process and (out / ADAPTER_DIR).is_dir() and name == "target":
                _tidy_adapter(out / ADAPTER_DIR, "phases/intermediate" if inter else config.base)
            phases.append(phase_dict)
            if accelerator.is_main_process:
                record["done"][name] = phase_dict
                _write_json(out / RUN_FILE, record)
                clear_resume(out / RESUME_DIR)
                if name != "target":
                    write_card(phase_out, build_card(
                        config=config.to_dict(), base=base, phases=phases, tasks=datas,
                        task_summaries=summaries, seconds=prior_seconds + time.perf_counter() - t_start))
            first, last = result.loss_start_end()
            per_task = result.task_losses()
            detail = "" if len(per_task) < 2 else " (" + ", ".join(
                f"{t} {v['first']:.3f} -> {v['last']:.3f}" for t, v in per_task.items()) + ")"
            log(f"{name}: {result.steps} steps in {result.seconds:.0f}s, loss {first:.3f} -> {last:.3f}{detail}")
            for t in result.not_learning():
                log(f"warning: {name}: the {t} loss did not fall ({per_task[t]['first']:.3f} -> "
                    f"{per_task[t]['last']:.3f} over {per_task[t]['steps']} steps): the learning rate "
                    f"({settings.lr:g}) may be too high, or {t} needs more steps than this budget gives it; "
                    f"the model card records this under not_learning")
            continue
        start = phase_out  # skipped phase: the next one starts from its saved checkpoint

    all_tasks = [*inter, target]
    seconds = sum(p.get("seconds", 0.0) for p in phases)
    adapter = None
    if (out / ADAPTER_DIR).is_dir():
        applies_to = str(schedule[-2][3].relative_to(out)) if inter else config.base
        adapter = {**adapter_info(out / ADAPTER_DIR), "applies_to": applies_to}
    card = build_card(config=config.to_dict(), base=base, phases=phases, tasks=all_tasks,
                      task_summaries=summaries, seconds=seconds, adapter=adapter,
                      augmentation=augmentation_card(target, config))
    if evaluate and config.eval.data and accelerator.is_main_process:
        previous = read_card(out) if not trained_now else None
        if previous and previous.get("evaluation") and previous.get("config", {}).get("eval") == card["config"]["eval"]:
            card["evaluation"] = previous["evaluation"]  # nothing trained since: the same checkpoint, same eval
            log("eval: already done for this checkpoint, reusing it")
        else:
            card["evaluation"] = run_evaluation(out, config, card["seen_languages"]["qa"], data_dir, progress)
        ev = card["evaluation"]
        log("eval: " + "  ".join(f"{k} {v['f1']:.1f}" for k, v in ev["languages"].items()))
    if accelerator.is_main_process:
        write_card(out, card)
    accelerator.wait_for_everyone()
    return TrainResult(out, card, phases, accelerator.is_main_process)


def augmentation_card(target: TaskData, config: TrainConfig) -> dict[str, Any] | None:
    """The card's `augmentation`: what was added to the target phase, and what that does to its step budget."""
    if target.augmentation is None:
        return None
    aug, phase = target.augmentation, config.target_phase
    budget = (f"unchanged: max_steps={phase.max_steps}; the copies take a share of the same batches"
              if phase.max_steps else
              f"grown: epochs={phase.epochs:g} pass over the windows of {aug['originals']} examples "
              f"plus {aug['copies']} copies")
    return {**aug, "config_digest": config.digest(), "step_budget": budget,
            "note": "copies are added beside their originals (ids <id>#adv-<attack>), none replaces one"}


def _tidy_adapter(adapter: Path, applies_to: str) -> None:
    """peft writes a template README and the base's absolute local path; keep the adapter self-describing."""
    (adapter / "README.md").unlink(missing_ok=True)
    cfg_file = adapter / "adapter_config.json"
    cfg = read_json(cfg_file, "adapter config")
    cfg["base_model_name_or_path"] = applies_to
    atomic_write_text(cfg_file, json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def adapter_info(folder: Path, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Format, files (bytes, sha256) and total size of an adapter folder."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and (names is None or p.name in names))
    return {"path": ADAPTER_DIR, "format": "peft-lora",
            "files": {p.name: {"bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files},
            "bytes": sum(p.stat().st_size for p in files)}


def run_evaluation(out: Path, config: TrainConfig, seen_qa: list[str], data_dir, progress: bool) -> dict:
    """Clean evaluation of the final checkpoint (xadv.qa), written into the card."""
    from xadv.data import load_qa
    from xadv.models.loading import load_qa_model
    from xadv.qa.engine import EngineConfig
    from xadv.qa.evaluation import evaluate, write_predictions

    ev = config.eval
    loaded = load_qa_model(out)
    dataset = load_qa(ev.data, data_dir=data_dir)
    engine = EngineConfig(batch_size=ev.batch_size, int8=ev.int8, precision=ev.precision, progress=progress,
                          num_threads=config.budget.threads or None)
    report = evaluate(loaded, dataset, data_name=ev.data, mode=ev.mode, config=engine,
                      n_per_lang=ev.n_per_lang or None)
    write_predictions(report.predictions, out / EVAL_PREDICTIONS)
    summary = evaluation_summary(report, seen_qa)
    summary["n_per_lang"] = ev.n_per_lang or None
    return summary


def plan(config: TrainConfig, data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """What a run would train on (tasks, examples per language, seen languages), without training."""
    from xadv.langs import TYDI_LANGS
    from xadv.models.card import seen_languages

    config.check()
    inter, target = load_phase_data(config, data_dir)
    seen = seen_languages([*inter, target])
    return {"digest": config.digest(), "config": config.to_dict(), "augmentation": augmentation_card(target, config),
            "tasks": [{**task_summary(t), "phase": "intermediate",
                       **({"content_matched": t.matched} if t.matched else {})} for t in inter]
            + [{**task_summary(target), "phase": "target"}],
            "seen_languages": seen, "zero_shot_languages": [x for x in TYDI_LANGS if x not in seen["qa"]]}


__all__ = ["CARD_FILE", "TrainResult", "load_phase_data", "plan", "read_card", "train"]
