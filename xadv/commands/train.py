"""`xadv train`: base encoder -> intermediate tasks -> target QA, then evaluation (library: xadv.train)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import check_out, print_json
from xadv.commands.options import DataDirOpt, JsonOpt
from xadv.errors import XadvError


class _Mix(str, Enum):
    en = "en"
    multi = "multi"
    mixed = "mixed"


OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", metavar="DIR", show_default=False,
    help="Where the run goes: the final QA checkpoint (use it as [bold]--model DIR[/]) with its model card "
         "[bold]xadv_card.json[/], the intermediate checkpoint, the LoRA adapter, resume points. Running the "
         "same command again resumes an interrupted run.")]
PresetOpt = Annotated[Optional[str], typer.Option(
    "--preset", show_default=False,
    help="A ready recipe: [bold]smoke[/] (all phases on a tiny slice, seconds), [bold]cpu[/] (a usable me5-small "
         "QA model on 2 cores in about an hour), [bold]gpu[/] (the XTREME recipe), [bold]default[/] (the adapter "
         "shipped with xadv). Default: cpu, unless --config is given.")]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", metavar="FILE", show_default=False,
    help="A TOML config (see xadv/train/presets/*.toml); it overrides the preset, flags override both.")]
BaseOpt = Annotated[Optional[str], typer.Option(
    "--base", metavar="CKPT", show_default=False,
    help="The pretrained encoder: a checkpoint directory, [bold]me5-small[/] (offline import) or a hub id.")]
IntermediateOpt = Annotated[Optional[str], typer.Option(
    "--intermediate", metavar="TASKS", show_default=False,
    help="Intermediate tasks, comma-separated, from [bold]qa[/] (span QA: SQuAD dev, TyDi ko/sw train), "
         "[bold]xnli[/], [bold]pawsx[/]; [bold]none[/] goes straight from base to target.")]
MixOpt = Annotated[Optional[_Mix], typer.Option(
    "--mix", show_default=False,
    help="Intermediate data: [bold]en[/] English only, [bold]multi[/] non-English only, [bold]mixed[/] both "
         "(see --en-share).")]
EnShareOpt = Annotated[Optional[float], typer.Option(
    "--en-share", min=0.0, max=1.0, show_default=False,
    help="With --mix mixed: the English share of each task's examples (e.g. 0.5).")]
TargetOpt = Annotated[Optional[str], typer.Option(
    "--target", metavar="NAME", show_default=False,
    help="Target-task QA training data (default [bold]tydiqa:en:train[/]).")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", show_default=False,
                                                help="Seed for data, batches, init (a whole number >= 0).")]
MaxStepsOpt = Annotated[Optional[int], typer.Option(
    "--max-steps", min=1, show_default=False, help="Steps per phase (overrides the epochs of both phases).")]
MaxSeqLengthOpt = Annotated[Optional[int], typer.Option(
    "--max-seq-length", min=32, show_default=False, help="Tokens per training window, both phases.")]
LoraROpt = Annotated[Optional[int], typer.Option(
    "--lora-r", min=0, show_default=False, help="LoRA rank (0: train the weights themselves).")]
TopLayersOpt = Annotated[Optional[int], typer.Option(
    "--train-top-layers", min=0, show_default=False,
    help="Train only the top N transformer layers (0: all); the backward pass stops there.")]
AugmentOpt = Annotated[Optional[str], typer.Option(
    "--augment", metavar="ATTACK:RATE,...", show_default=False,
    help="Adversarial training: for a share RATE of the target-phase examples (chosen per seed, example id and "
         "attack) add a copy perturbed by ATTACK (its default target; answers remapped), e.g. "
         "[bold]--preset default --augment keyboard:0.3,codemix:0.2[/]. Copies are added, not substituted; [bold]none[/] turns a "
         "config's augmentation off. Recorded in the model card and the config digest.")]
AugmentStrengthOpt = Annotated[Optional[float], typer.Option(
    "--augment-strength", show_default=False,
    help="Attack strength of the adversarial copies, in (0, 1] (default 0.2).")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE", show_default=False,
    help="Any config value, e.g. [bold]--set phases.target.lr=1e-4 --set eval.n_per_lang=50[/].")]
FreshOpt = Annotated[bool, typer.Option(
    "--fresh", help="Discard an earlier run in --out (only ever an xadv training run) and start over.")]
NoEvalOpt = Annotated[bool, typer.Option("--no-eval", help="Skip the evaluation after training.")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Show the resolved config, the examples per task and language and the languages "
                      "training would see; train nothing.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def train_command(
    out: OutOpt = None,
    preset: PresetOpt = None,
    config_file: ConfigOpt = None,
    base: BaseOpt = None,
    intermediate: IntermediateOpt = None,
    mix: MixOpt = None,
    en_share: EnShareOpt = None,
    target: TargetOpt = None,
    seed: SeedOpt = None,
    max_steps: MaxStepsOpt = None,
    max_seq_length: MaxSeqLengthOpt = None,
    lora_r: LoraROpt = None,
    top_layers: TopLayersOpt = None,
    augment: AugmentOpt = None,
    augment_strength: AugmentStrengthOpt = None,
    sets: SetOpt = None,
    data_dir: DataDirOpt = None,
    fresh: FreshOpt = False,
    no_eval: NoEvalOpt = False,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Train a QA model in three phases: base encoder -> intermediate tasks -> target QA, then evaluate zero-shot.

    Intermediate-task training (STILTs) on [bold]qa[/], [bold]xnli[/] and/or [bold]pawsx[/] with English-only, non-English-only or mixed data, then fine-tuning on English TyDi QA GoldP train, then clean evaluation on TyDi dev. The model card records tasks, examples per language, data sha256s, hyper-parameters, software and commit, wall time, and the evaluation languages the model has [bold]seen[/] (TyDi ko/sw train data makes ko/sw not zero-shot).

    Runs on CPU, one GPU, or many: [bold]accelerate launch -m cli train ...[/] or [bold]torchrun --nproc-per-node 4 -m cli train ...[/].

    Examples:
      [bold]xadv train --preset smoke --out runs/smoke[/]
      [bold]xadv train --preset cpu --intermediate xnli,pawsx --mix mixed --en-share 0.5 --out runs/mixed[/]
      [bold]xadv train --preset default --out runs/default[/]   (reproduces the embedded adapter)
    """
    from xadv.train.config import load_config

    flags = _config_flags(base, intermediate, mix, en_share, target, seed, max_steps, max_seq_length,
                          lora_r, top_layers) | _augment_flags(augment, augment_strength)
    config = load_config(preset or (None if config_file else "cpu"), config_file, flags, sets)
    if dry_run:
        _dry_run(config, data_dir, json_out)
        return
    if out is None:
        raise XadvError("--out DIR is required (where the checkpoint, card and resume points go)")
    check_out(out, directory=True)
    from rich.console import Console

    from xadv.train.pipeline import train

    console = Console(stderr=True)
    say = (lambda m: None) if json_out else (lambda m: console.print(m, style="dim"))
    result = train(config, out, data_dir=data_dir, fresh=fresh, progress=not quiet and not json_out,
                   evaluate=not no_eval, log=say)
    if not result.main_process:  # torchrun / accelerate launch: one report, from process 0
        return
    if json_out:
        print_json(result.card)
        return
    _print_train_card(result.card, result.out)


def _dry_run(config, data_dir, json_out: bool) -> None:
    """--dry-run: the resolved config and the data training would see; trains nothing."""
    from xadv.train.pipeline import plan

    summary = plan(config, data_dir)
    if json_out:
        print_json(summary)
    else:
        _print_train_plan(summary)


def _config_flags(base, intermediate, mix, en_share, target, seed, max_steps, max_seq_length,
                  lora_r, top_layers) -> dict:
    """The config overrides given as flags (only those given), shaped like the config file."""
    flags: dict = {}
    if base is not None:
        flags["base"] = base
    if intermediate is not None:
        flags["intermediate"] = [] if intermediate.strip().lower() in ("", "none") else intermediate
    if mix is not None:
        flags["mix"] = mix.value
    if en_share is not None:
        flags["en_share"] = en_share
    if target is not None:
        flags["target"] = target
    if seed is not None:
        flags["seed"] = seed
    phase_flags = {k: v for k, v in (("max_steps", max_steps), ("max_seq_length", max_seq_length)) if v is not None}
    if phase_flags:
        flags["phases"] = {"intermediate": dict(phase_flags), "target": dict(phase_flags)}
    budget = {k: v for k, v in (("lora_r", lora_r), ("train_top_layers", top_layers)) if v is not None}
    if budget:
        flags["budget"] = budget
    return flags


def _augment_flags(augment: str | None, strength: float | None) -> dict:
    """--augment / --augment-strength as the config's [augment] table; the spec is parsed here, so a bad one
    fails in one line before any config file is merged (an empty --augment is an error, `none` is off)."""
    from attacks.adversarial import AugmentSpec

    table: dict = {}
    if augment is not None:
        off = augment.strip().lower() == "none"
        table["attacks"] = "" if off else str(AugmentSpec.parse(augment, 0.2 if strength is None else strength))
    if strength is not None:
        table["strength"] = strength
    return {"augment": table} if table else {}


def _print_train_plan(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    cfg = summary["config"]
    table = Table(title=f"training plan  ·  mix {cfg['mix']}" + (f" (en share {cfg['en_share']})"
                                                                 if cfg["mix"] == "mixed" else ""),
                  title_justify="left")
    for column in ("phase", "task", "examples", "per language", "files"):
        table.add_column(column)
    for t in summary["tasks"]:
        per = ", ".join(f"{k} {v:,}" for k, v in t["examples_per_language"].items())
        table.add_row(t["phase"], t["task"], f"{t['examples']:,}", per, str(len(t["files"])))
    console = Console()
    console.print(table)
    seen = summary["seen_languages"]
    console.print(f"base {cfg['base']}  ·  seed {cfg['seed']}  ·  config digest {summary['digest'][:12]}")
    aug = summary.get("augmentation")
    if aug:
        made = ", ".join(f"{a['attack']} {a['made']:,}/{a['selected']:,}" for a in aug["attacks"])
        console.print(f"adversarial copies added to the target phase (made/chosen): {made}; {aug['step_budget']}")
    console.print(f"evaluation languages seen with QA data (not zero-shot): {', '.join(seen['eval_qa']) or 'none'}; "
                  f"zero-shot: {', '.join(summary['zero_shot_languages'])}")


def _print_train_card(card: dict, out: Path) -> None:
    from rich.console import Console

    console = Console()
    console.print(_phases_table(card, out))
    ev = card.get("evaluation")
    if ev:
        console.print(_card_eval_table(ev))
    seen = card["seen_languages"]["eval_qa"]
    console.print(f"not zero-shot (QA data seen in training): {', '.join(seen) or 'none'}  ·  "
                  f"card: {out / 'xadv_card.json'}", style="dim")


def _phases_table(card: dict, out: Path):
    from rich.table import Table

    phases = Table(title=f"trained {out}  ·  mix {card['mix']}  ·  seed {card['seed']}", title_justify="left")
    for column in ("phase", "tasks", "steps", "seconds", "loss first → last", "trainable params"):
        phases.add_column(column, justify="left" if column in ("phase", "tasks") else "right")
    for p in card["phases"]:
        phases.add_row(p["name"], ", ".join(f"{t} ({n})" for t, n in p["task_steps"].items()), str(p["steps"]),
                       f"{p['seconds']:.0f}", f"{p['loss_first']:.3f} → {p['loss_last']:.3f}",
                       f"{p['parameters']['trainable']:,}")
    return phases


def _card_eval_table(ev: dict):
    from rich.table import Table

    table = Table(title=f"clean {ev['data']} ({ev['mode']})", title_justify="left")
    for column in ("lang", "n", "F1", "EM", ""):
        table.add_column(column, justify="left" if column in ("lang", "") else "right")
    for lang, row in ev["languages"].items():
        table.add_row(lang, str(row["n"]), f"{row['f1']:.2f}", f"{row['exact_match']:.2f}",
                      "" if row["zero_shot"] else "[yellow]seen in training (not zero-shot)[/]")
    if ev.get("macro"):
        table.add_section()
        table.add_row("[bold]macro[/]", str(ev["n"]), f"[bold]{ev['macro']['f1']:.2f}[/]",
                      f"[bold]{ev['macro']['exact_match']:.2f}[/]", "")
    return table
