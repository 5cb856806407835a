"""`xadv attack`: clean vs adversarial F1/EM and ASR of a QA model (library: xadv.runs, attacks.search)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from xadv.commands.common import fmt, fmt_asr, fmt_share, print_json, stdout_console
from xadv.commands.options import DataDirOpt, Int8Opt, JsonOpt
from xadv.errors import XadvError

DEFAULT_ATTACKS = "keyboard,char-noise,homoglyph,codemix,distractor"
DEFAULT_SEARCH_ATTACKS = "keyboard"
_SEARCH = "Search (model in the loop)"

ModelOpt = Annotated[str, typer.Option("--model", help="Checkpoint dir, hub id, 'me5-small', or 'default' "
                                       "(me5-small + the QA adapter shipped with xadv).")]
LangOpt = Annotated[str, typer.Option("--lang", help="TyDi language(s): sw, 'ar,ru' or all.")]
AttackOpt = Annotated[Optional[str], typer.Option(
    "--attack", show_default=False,
    help=f"Comma-separated attacks (see `xadv attacks list`); a+b composes two. Default: {DEFAULT_ATTACKS}. "
         f"With --search: the per-word families searched over, one cell each; a+b searches candidates "
         f"from both (default: {DEFAULT_SEARCH_ATTACKS}).")]
TargetOpt = Annotated[str, typer.Option("--target", help="question, context, both, or auto (the question where "
                                        "the attack can edit it, else the context); comma list allowed.")]
StrengthOpt = Annotated[float, typer.Option(
    "--strength", min=0.0, max=1.0,
    help="Share of words (or sentences) of the target to touch. With --search: the most words the search "
         "may change, as a share of the target's words (at least one word).")]
NOpt = Annotated[Optional[int], typer.Option("--n", min=1, help="First N questions per language.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed for the perturbations.")]
ModeOpt = Annotated[str, typer.Option("--mode", help="Scorer: squad (official) or multilingual.")]
F1ThresholdOpt = Annotated[Optional[float], typer.Option(
    "--f1-threshold", help="ASR criterion: F1 >= T counts as right (default: exact match).")]
DataOpt = Annotated[Optional[str], typer.Option("--data", help="Dataset name or SQuAD JSON (default: "
                                                "tydiqa:<lang>:dev).")]
ResultsOpt = Annotated[Path, typer.Option("--results", help="Results directory: one JSON record per cell; "
                                          "cells already there are reused (resume).")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Also write all records of this run to one JSON file.")]
WriteAdversarialOpt = Annotated[Optional[Path], typer.Option(
    "--write-adversarial", metavar="DIR",
    help="Also write each computed cell's adversarial examples to DIR as SQuAD JSON (same ids, answers "
         "remapped; named like the record) with an edit log beside it (.edits.jsonl). Cells reused "
         "from --results are not recomputed, so not rewritten.")]
SearchOpt = Annotated[Optional[str], typer.Option(
    "--search", rich_help_panel=_SEARCH, show_default=False,
    help="Attack with a model-in-the-loop search instead of one random perturbation: [bold]greedy[/] "
         "(rank the words by how much a first edit hurts the gold answer, then edit the best ones), "
         "[bold]beam[/] (TextAttack's beam search) or [bold]random[/] (the same edits at random, same "
         "budget: the baseline). Records go to --results like static cells, with the search settings "
         "in the cell, so leaderboard, regress and report read them.")]
GoalOpt = Annotated[Optional[str], typer.Option(
    "--goal", rich_help_panel=_SEARCH, show_default=False,
    help="When the search has succeeded (also the ASR criterion): [bold]em-flip[/] (default: the exact "
         "match is lost), [bold]f1-below:T[/] (F1 falls below T in (0, 1], e.g. f1-below:0.5), "
         "[bold]f1-zero[/] (no answer token left). Questions already wrong on clean input are skipped "
         "and stay out of the ASR denominator.")]
BudgetOpt = Annotated[Optional[int], typer.Option(
    "--budget", rich_help_panel=_SEARCH, show_default=False,
    help="Model queries per example (every candidate evaluated, the clean query included; >= 2). "
         "Default 200.")]
MaxWordsOpt = Annotated[Optional[int], typer.Option(
    "--max-words", rich_help_panel=_SEARCH, show_default=False,
    help="At most this many words changed per example, on top of --strength.")]
CandidatesOpt = Annotated[Optional[int], typer.Option(
    "--candidates", rich_help_panel=_SEARCH, show_default=False,
    help="Candidate edits per word and family. Default 4.")]
BeamWidthOpt = Annotated[Optional[int], typer.Option(
    "--beam-width", rich_help_panel=_SEARCH, show_default=False, help="Beam search only. Default 4.")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1)]
AllowPickleOpt = Annotated[bool, typer.Option("--allow-pickle", help="Allow pickled (.bin) weights: only for "
                                              "checkpoints you trust.")]


def attack_command(
    model: ModelOpt = "default",
    lang: LangOpt = "sw",
    attack: AttackOpt = None,
    target: TargetOpt = "auto",
    strength: StrengthOpt = 0.2,
    n: NOpt = None,
    seed: SeedOpt = 0,
    mode: ModeOpt = "squad",
    f1_threshold: F1ThresholdOpt = None,
    data: DataOpt = None,
    results: ResultsOpt = Path("xadv-results"),
    out: OutOpt = None,
    write_adversarial: WriteAdversarialOpt = None,
    search: SearchOpt = None,
    goal: GoalOpt = None,
    budget: BudgetOpt = None,
    max_words: MaxWordsOpt = None,
    candidates: CandidatesOpt = None,
    beam_width: BeamWidthOpt = None,
    int8: Int8Opt = False,
    batch_size: BatchSizeOpt = 8,
    allow_pickle: AllowPickleOpt = False,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Attack a QA model: clean vs adversarial F1/EM and attack success rate, per language and attack.

    Example: xadv attack --lang sw --attack typo,codemix,distractor --n 100

    Search: xadv attack --lang sw,ru --attack keyboard --search greedy --goal f1-zero --budget 20 --max-words 2
    """
    from xadv.paths import data_dir as resolve_data_dir
    from xadv.runs import ResultsStore, run_attacks

    langs, targets = _check_inputs(mode, lang, target)
    spec = _search_spec(search, goal, budget, max_words, candidates, beam_width, strength, f1_threshold)
    attack = attack if attack is not None else (DEFAULT_ATTACKS if spec is None else DEFAULT_SEARCH_ATTACKS)
    names = _attack_names(attack, spec)
    rows = _load_rows(data, langs, n, data_dir)
    loaded, engine = _load_engine(model, allow_pickle, int8, batch_size, progress=not json_out and spec is None)
    store = ResultsStore(results)
    outcomes = run_attacks(loaded, rows, attacks=names, targets=targets, strength=strength, seed=seed,
                           mode=mode, f1_threshold=f1_threshold, data_name=data or "tydiqa:<lang>:dev",
                           attack_params={"data_dir": str(resolve_data_dir(data_dir))},
                           store=store, engine=engine, on_cell=_cell_reporter(json_out), search=spec,
                           write_adversarial=write_adversarial, progress=not json_out and sys.stderr.isatty())
    done = [o for o in outcomes if o.record is not None]
    if out is not None:
        _write_run(out, done)
    if json_out:
        _print_attack_json(loaded, results, outcomes)
        return
    _print_attack_table(loaded, done, mode, results)
    written = [o.adversarial for o in done if o.adversarial]
    if written:
        typer.echo(f"adversarial examples (SQuAD JSON + .edits.jsonl) of {len(written)} cell(s) in {write_adversarial}/")


def _check_inputs(mode: str, lang: str, target: str) -> tuple[list[str], list[str]]:
    """The scorer mode, languages and targets checked (XadvError otherwise): (languages, targets)."""
    from xadv.langs import TYDI_LANGS
    from xadv.score.normalize import MODES

    if mode not in MODES:
        raise XadvError(f"unknown scorer mode {mode!r} (use {' or '.join(MODES)})")
    langs = list(TYDI_LANGS) if lang == "all" else [x.strip() for x in lang.split(",") if x.strip()]
    for x in langs:
        if x not in TYDI_LANGS:
            raise XadvError(f"unknown language {x!r} (TyDi QA languages: {' '.join(TYDI_LANGS)}, or all)")
    targets = [t.strip() for t in target.split(",") if t.strip()]
    for t in targets:
        if t not in ("question", "context", "both", "auto"):
            raise XadvError(f"unknown target {t!r} (question, context, both or auto)")
    return langs, targets


def _attack_names(attack: str, spec) -> list[str]:
    """The --attack names, each checked before anything heavy loads (XadvError otherwise)."""
    names = [a.strip() for a in attack.split(",") if a.strip()]
    if not names:
        raise XadvError("no attack given (--attack keyboard, or see `xadv attacks list`)")
    from attacks import get_attack
    from xadv.runs.attack import search_families

    for a in names:  # unknown attack, or one a search cannot use: fail before loading anything heavy
        if spec is None:
            get_attack(a)
        else:
            search_families(a, {})
    return names


def _load_rows(data: Optional[str], langs: list[str], n: Optional[int], data_dir) -> list:
    """The example rows of the chosen languages (the first N per language with --n)."""
    from xadv.data import load_qa

    ds = load_qa(data or f"tydiqa:{','.join(langs)}:dev", data_dir)
    rows = [r for r in ds if r["lang"] in langs] if data else list(ds)
    if n is not None:
        from xadv.qa.evaluation import first_n_per_language

        rows = list(first_n_per_language(rows, n))
    if not rows:
        raise XadvError(f"no examples for language(s) {', '.join(langs)} in {data}")
    return rows


def _load_engine(model: str, allow_pickle: bool, int8: bool, batch_size: int, progress: bool):
    """The loaded model and its QA engine (prediction cache on)."""
    from xadv.models.loading import load_qa_model
    from xadv.qa.cache import default_cache_path
    from xadv.qa.engine import EngineConfig, QAEngine

    loaded = load_qa_model(model, allow_pickle=allow_pickle)
    engine = QAEngine.from_loaded(loaded, EngineConfig(int8=int8, batch_size=batch_size,
                                                       cache_path=default_cache_path(),
                                                       progress=progress))
    return loaded, engine


def _cell_reporter(json_out: bool):
    """The `on_cell` callback: one line per finished or skipped cell on stderr (silent with --json)."""

    def report(cell) -> None:
        if json_out:
            return
        if cell.status == "skipped":
            typer.echo(f"  skipped {cell.lang}/{cell.attack}/{cell.target}: {cell.reason}", err=True)
        else:
            s = cell.record["summary"]
            extra = ""
            if cell.record["cell"].get("search"):
                extra = (f", {fmt(s.get('mean_queries'))} queries and {fmt_share(s.get('mean_share_changed'))} of "
                         f"words changed per attacked example, {fmt(s.get('seconds_per_example'), 2)} s/example")
            typer.echo(f"  {cell.status} {cell.lang}/{_attack_label(cell.record)}/{cell.target}: F1 "
                       f"{s['clean_f1']:.1f} -> {s['adv_f1']:.1f}, ASR {fmt_asr(s)}{extra}", err=True)

    return report


def _write_run(out: Path, done) -> None:
    """--out: all records of this run in one JSON file."""
    from xadv.io import atomic_open

    with atomic_open(out) as fh:
        json.dump({"schema": "xadv.attack-run/1", "records": [o.record for o in done]}, fh,
                  ensure_ascii=False, indent=1)


def _print_attack_json(loaded, results: Path, outcomes) -> None:
    print_json({"model": loaded.name, "fingerprint": loaded.fingerprint, "results": str(results),
                "cells": [{"lang": o.lang, "attack": o.attack, "target": o.target, "status": o.status,
                           "search": o.record["cell"].get("search") if o.record else None,
                           "reason": o.reason or None, "path": str(o.path) if o.path else None,
                           "adversarial": str(o.adversarial) if o.adversarial else None,
                           "summary": o.record["summary"] if o.record else None} for o in outcomes]})


def _search_spec(search, goal, budget, max_words, candidates, beam_width, strength, f1_threshold):
    """The checked `SearchSpec` of --search and its options (None for a static attack); XadvError otherwise."""
    given = [flag for flag, v in (("--goal", goal), ("--budget", budget), ("--max-words", max_words),
                                  ("--candidates", candidates), ("--beam-width", beam_width)) if v is not None]
    if search is None:
        if given:
            raise XadvError(f"{', '.join(given)} only apply to a search: add --search greedy (or beam, random)")
        return None
    if f1_threshold is not None:
        raise XadvError("with --search the goal sets the ASR criterion: use --goal f1-below:T instead of --f1-threshold")
    if beam_width is not None and search != "beam":
        raise XadvError("--beam-width only applies to --search beam")
    from attacks.search.spec import SearchSpec

    kw = {k: v for k, v in (("goal", goal), ("budget", budget), ("max_words", max_words),
                            ("candidates", candidates), ("beam_width", beam_width)) if v is not None}
    return SearchSpec(search.strip().lower(), max_share=strength, **kw)


def _attack_label(record: dict) -> str:
    from xadv.runs.record import search_tag

    tag = search_tag(record["cell"].get("search"))
    return record["cell"]["attack"] + (f" [{tag}]" if tag else "")


def _print_attack_table(loaded, done, mode: str, results: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"xadv attack: {loaded.name} ({loaded.fingerprint[:12]}), scorer {mode}")
    searched = any(o.record["cell"].get("search") for o in done)
    cols = ["lang", "attack", "target", "n", "F1 clean→adv", "ΔF1 [95% CI]", "EM clean→adv", "ASR % (k/right) [95% CI]"]
    if searched:
        cols += ["queries/ex", "words changed", "s/ex"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("lang", "attack", "target") else "right",
                         no_wrap=True)
    for o in done:
        s, m = o.record["summary"], o.record["model"]
        ci = s.get("ci", {})
        lang = o.lang + ("" if m.get("zero_shot") in (True, None) else " (seen)")
        drop_ci = ci.get("f1_drop", [None, None])
        asr_ci = ci.get("asr", [None, None])
        row = [lang, _attack_label(o.record), o.target, str(s["n"]), f"{s['clean_f1']:.1f}→{s['adv_f1']:.1f}",
               f"{s['f1_drop']:+.1f} [{fmt(drop_ci[0])}, {fmt(drop_ci[1])}]",
               f"{s['clean_em']:.1f}→{s['adv_em']:.1f}",
               f"{fmt_asr(s)} [{fmt(asr_ci[0])}, {fmt(asr_ci[1])}]"]
        if searched:
            row += [fmt(s.get("mean_queries")), fmt_share(s.get("mean_share_changed")),
                    fmt(s.get("seconds_per_example"), 2)]
        table.add_row(*(escape(x) for x in row))
    stdout_console().print(table)
    typer.echo(f"records in {results}/ (re-runs reuse finished cells). ASR: share of the questions "
               f"answered right on clean input that the attack makes wrong.")
    if searched:
        typer.echo("search columns: model queries and share of the target's words changed, per attacked example "
                   "(questions right on clean input); seconds per example.")
