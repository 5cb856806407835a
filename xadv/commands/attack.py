"""`xadv attack`: parse flags (and a suite file) -> `EvalSuite` -> `run_suite` -> render. No logic of its own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from attacks.spec import GRAMMAR
from xadv.commands.common import check_out, fmt, fmt_asr, fmt_share, print_json, stdout_console
from xadv.commands.options import DEVICE_HELP, PRECISION_HELP, DataDirOpt, Int8Opt, JsonOpt, out_file
from xadv.runs.suite import DEFAULT_ATTACKS, DEFAULT_SEARCH_ATTACKS

_SEARCH = "Search (model in the loop)"


def _opt(*names: str, help: str, panel: str | None = None, **kw: Any) -> Any:
    return typer.Option(*names, help=help, show_default=False, rich_help_panel=panel, **kw)


SuiteOpt = Annotated[Optional[Path], _opt(
    "--suite", metavar="FILE", help="An evaluation suite in TOML (models, langs, attacks, targets, seeds, search, "
    "engine; see docs/suite-example.toml). Flags given on the command line override the file.")]
ModelOpt = Annotated[Optional[str], _opt(
    "--model", help="Checkpoint dir, hub id, 'me5-small', or 'default' (me5-small + the QA adapter shipped with "
    "xadv). Default: default.")]
LangOpt = Annotated[Optional[str], _opt("--lang", help="Language(s): sw, 'ar,ru' or all. Default: sw, or the "
                                                 "languages of --data (any registry code, e.g. --data xquad:de:test).")]
AttackOpt = Annotated[Optional[str], _opt(
    "--attack", help=f"{GRAMMAR} Default: {DEFAULT_ATTACKS}; with --search the per-word families searched over "
    f"(default: {DEFAULT_SEARCH_ATTACKS}).")]
TargetOpt = Annotated[Optional[str], _opt(
    "--target", help="question, context, both, or auto (the question where the attack can edit it, else the "
    "context); comma list allowed. Default: auto.")]
StrengthOpt = Annotated[Optional[float], _opt(
    "--strength", min=0.0, max=1.0, help="Share of words (or sentences) of the target to touch. With --search: "
    "the most words the search may change, as a share of the target's words (at least one word). Default: 0.2.")]
NOpt = Annotated[Optional[int], _opt("--n", min=1, help="First N questions per language.")]
SeedOpt = Annotated[Optional[int], _opt("--seed", help="Random seed for the perturbations (a whole number >= 0). "
                                                     "Default: 0.")]
ModeOpt = Annotated[Optional[str], _opt("--mode", help="Scorer: squad (official, default), multilingual, or mlqa "
                                         "(the official MLQA script; ar de en es hi vi zh only).")]
F1Opt = Annotated[Optional[float], _opt(
    "--f1-threshold", help="ASR criterion: F1 >= T counts as right (default: exact match).")]
DataOpt = Annotated[Optional[str], _opt("--data", help="Dataset name or SQuAD JSON (default: tydiqa:<lang>:dev).")]
ResultsOpt = Annotated[Optional[Path], _opt(
    "--results", help="Results directory: one JSON record per cell; cells already there are reused (resume). "
    "Default: xadv-results.")]
OutOpt = Annotated[Optional[Path], _opt("--out", help="Also write all records of this run to one JSON file.",
                                        parser=out_file)]
AdvOpt = Annotated[Optional[Path], _opt(
    "--write-adversarial", metavar="DIR", help="Also write each computed cell's adversarial examples to DIR as "
    "SQuAD JSON (same ids, answers remapped; named like the record) with an edit log beside it (.edits.jsonl). "
    "Cells reused from --results are not recomputed, so not rewritten.")]
SearchOpt = Annotated[Optional[str], _opt(
    "--search", panel=_SEARCH, help="Attack with a model-in-the-loop search instead of one random perturbation: "
    "[bold]greedy[/] (rank the words by how much a first edit hurts the gold answer, then edit the best ones), "
    "[bold]beam[/] (TextAttack's beam search) or [bold]random[/] (the same edits at random, same budget: the "
    "baseline). Records go to --results like static cells, with the search settings in the cell, so "
    "leaderboard, regress and report read them.")]
GoalOpt = Annotated[Optional[str], _opt(
    "--goal", panel=_SEARCH, help="When the search has succeeded (also the ASR criterion): [bold]em-flip[/] "
    "(default: the exact match is lost), [bold]f1-below:T[/] (F1 falls below T in (0, 1], e.g. f1-below:0.5), "
    "[bold]f1-zero[/] (no answer token left). Questions already wrong on clean input are skipped and stay out "
    "of the ASR denominator.")]
BudgetOpt = Annotated[Optional[int], _opt(
    "--budget", panel=_SEARCH, help="Model queries per example (every candidate evaluated, the clean query "
    "included; >= 2). Default 200.")]
MaxWordsOpt = Annotated[Optional[int], _opt(
    "--max-words", panel=_SEARCH, help="At most this many words changed per example, on top of --strength.")]
CandidatesOpt = Annotated[Optional[int], _opt(
    "--candidates", panel=_SEARCH, help="Candidate edits per word and family. Default 4.")]
BeamOpt = Annotated[Optional[int], _opt("--beam-width", panel=_SEARCH, help="Beam search only. Default 4.")]
PrecisionOpt = Annotated[Optional[str], _opt("--precision", help=PRECISION_HELP + " Default: auto.")]
DeviceOpt = Annotated[Optional[str], _opt("--device", help=DEVICE_HELP + " Default: auto.")]
BatchOpt = Annotated[Optional[int], _opt("--batch-size", min=1, help="Windows per forward pass. Default: 8.")]
MinSimOpt = Annotated[Optional[float], _opt(
    "--min-similarity", help="Static attacks: a perturbed question must keep at least this cosine similarity to the "
    "original (multilingual-e5-small, offline; `xadv attacks validate` shows the distribution). Below it the "
    "example is re-drawn up to 4 times, then left unchanged and counted. Part of the cell. Default: off.")]
PickleOpt = Annotated[bool, typer.Option(
    "--allow-pickle", help="Allow pickled (.bin) weights: only for checkpoints you trust.")]


def attack_command(
    suite: SuiteOpt = None, model: ModelOpt = None, lang: LangOpt = None, attack: AttackOpt = None,
    target: TargetOpt = None, strength: StrengthOpt = None, n: NOpt = None, seed: SeedOpt = None,
    mode: ModeOpt = None, f1_threshold: F1Opt = None, data: DataOpt = None, results: ResultsOpt = None,
    out: OutOpt = None, write_adversarial: AdvOpt = None, search: SearchOpt = None, goal: GoalOpt = None,
    budget: BudgetOpt = None, max_words: MaxWordsOpt = None, candidates: CandidatesOpt = None,
    beam_width: BeamOpt = None, int8: Int8Opt = False, precision: PrecisionOpt = None, device: DeviceOpt = None,
    batch_size: BatchOpt = None, min_similarity: MinSimOpt = None, allow_pickle: PickleOpt = False,
    data_dir: DataDirOpt = None, json_out: JsonOpt = False,
) -> None:
    """Attack a QA model: clean vs adversarial F1/EM and attack success rate, per language and attack.

    Example: xadv attack --lang sw --attack typo,codemix,distractor --n 100

    Search: xadv attack --lang sw,ru --attack keyboard --search greedy --goal f1-zero --budget 20 --max-words 2

    Suite: xadv attack --suite suite.toml --n 50   (flags override the file)
    """
    from xadv.runs.store import write_run_file
    from xadv.runs.suite import EvalSuite, run_suite

    flags = {"models": model, "langs": lang, "attacks": attack, "targets": target, "strength": strength, "n": n,
             "seeds": seed, "mode": mode, "f1_threshold": f1_threshold, "data": data, "results": results,
             "write_adversarial": write_adversarial, "allow_pickle": allow_pickle or None, "device": device,
             "min_similarity": min_similarity,
             "search": {"search": search, "goal": goal, "budget": budget, "max_words": max_words,
                        "candidates": candidates, "beam_width": beam_width, "max_share": strength},
             "engine": {"int8": int8 or None, "precision": precision, "batch_size": batch_size}}
    file_layer = EvalSuite.from_toml(suite) if suite is not None else {}
    if search is None and file_layer.get("search") is None:
        _check_no_search_flags(flags.pop("search"))
    spec = EvalSuite.build(file_layer, flags, where=str(suite) if suite else "suite")
    check_out(out)  # a bad --out fails now, not after the computing
    show = not json_out and sys.stderr.isatty()
    run = run_suite(spec, data_dir=data_dir, on_cell=None if json_out else _report_cell, progress=show,
                    cache_path=_cache_path())
    if out is not None:
        write_run_file(run.records, out)
    if json_out:
        print_json(run.to_dict())  # the Python API's xadv.RunResult.to_dict()
        return
    _print_attack_table(run, spec)
    written = [o.adversarial for o in run.outcomes if o.adversarial]
    if written:
        typer.echo(f"adversarial examples (SQuAD JSON + .edits.jsonl) of {len(written)} cell(s) in "
                   f"{spec.write_adversarial}/")


def _check_no_search_flags(search_flags: dict) -> None:
    from xadv.errors import XadvError

    given = [f"--{k.replace('_', '-')}" for k, v in search_flags.items()
             if v is not None and k not in ("search", "max_share")]
    if given:
        raise XadvError(f"{', '.join(given)} only apply to a search: add --search greedy (or beam, random)")


def _cache_path():
    from xadv.qa.cache import default_cache_path

    return default_cache_path()


def _attack_label(outcome) -> str:
    """The cell's attack as the suite named it (`codemix:partner=sw`), with its search settings."""
    from xadv.runs.record import search_tag

    tag = search_tag(outcome.record.cell.search)
    return outcome.attack + (f" [{tag}]" if tag else "")


def _report_cell(cell) -> None:
    if cell.status == "skipped":
        typer.echo(f"  skipped {cell.lang}/{cell.attack}/{cell.target}: {cell.reason}", err=True)
        return
    s = cell.record.summary.to_dict()
    extra = ""
    if cell.record.cell.search:
        extra = (f", {fmt(s.get('mean_queries'))} queries and {fmt_share(s.get('mean_share_changed'))} of "
                 f"words changed per attacked example, {fmt(s.get('seconds_per_example'), 2)} s/example")
    typer.echo(f"  {cell.status} {cell.lang}/{_attack_label(cell)}/{cell.target}: F1 "
               f"{s['clean_f1']:.1f} -> {s['adv_f1']:.1f}, ASR {fmt_asr(s)}{extra}", err=True)


def _row(o, searched: bool) -> list[str]:
    s, m = o.record.summary.to_dict(), o.record.model
    ci = s.get("ci", {})
    lang = o.lang + ("" if m.zero_shot in (True, None) else " (seen)")
    drop_ci, asr_ci = ci.get("f1_drop", [None, None]), ci.get("asr", [None, None])
    row = [lang, _attack_label(o), o.target, str(s["n"]), f"{s['clean_f1']:.1f}→{s['adv_f1']:.1f}",
           f"{s['f1_drop']:+.1f} [{fmt(drop_ci[0])}, {fmt(drop_ci[1])}]", f"{s['clean_em']:.1f}→{s['adv_em']:.1f}",
           f"{fmt_asr(s)} [{fmt(asr_ci[0])}, {fmt(asr_ci[1])}]"]
    if searched:
        row += [fmt(s.get("mean_queries")), fmt_share(s.get("mean_share_changed")),
                fmt(s.get("seconds_per_example"), 2)]
    return row


def _print_attack_table(run, spec) -> None:
    from rich.markup import escape
    from rich.table import Table

    done = [o for o in run.outcomes if o.record is not None]
    searched = any(o.record.cell.search for o in done)
    console = stdout_console()
    for name, fingerprint in run.models:
        table = Table(title=f"xadv attack: {name} ({fingerprint[:12]}), scorer {spec.mode}")
        cols = ["lang", "attack", "target", "n", "F1 clean→adv", "ΔF1 [95% CI]", "EM clean→adv",
                "ASR % (k/right) [95% CI]"] + (["queries/ex", "words changed", "s/ex"] if searched else [])
        for col in cols:
            table.add_column(col, justify="left" if col in ("lang", "attack", "target") else "right", no_wrap=True)
        for o in done:
            if o.record.model.fingerprint == fingerprint and o.record.model.name == name:
                table.add_row(*(escape(x) for x in _row(o, searched)))
        console.print(table)
    typer.echo(f"records in {spec.results}/ (re-runs reuse finished cells). ASR: share of the questions "
               f"answered right on clean input that the attack makes wrong.")
    if searched:
        typer.echo("search columns: model queries and share of the target's words changed, per attacked example "
                   "(questions right on clean input); seconds per example.")
