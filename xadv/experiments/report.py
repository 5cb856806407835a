"""The experiment's table: `results.md` from the analysis, the models and the run's record, and `render`,
which rebuilds `results.md`, `analysis.json` and `plots/` from a results directory alone."""

from __future__ import annotations

import math
import os
from pathlib import Path

from xadv.device import precision_label
from xadv.experiments.analysis import analyse
from xadv.experiments.machine import describe_device
from xadv.experiments.pilot import diverged_model
from xadv.experiments.plots import plot
from xadv.experiments.registered import registered_analysis
from xadv.experiments.registration import PlanCommit, check_after_plan
from xadv.experiments.spec import ExperimentError
from xadv.experiments.store import (
    ANALYSIS_FILE,
    MODELS_FILE,
    PLOTS_DIR,
    READING_PLACEHOLDER,
    RECORDS_FILE,
    RUN_FILE,
    TABLE_FILE,
    load_record_entries,
    read_json,
    write_json,
)
from xadv.io import atomic_write_text


def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _count(x: float) -> str:
    """A count: whole numbers as they are, a mean over seeds (84.667) to one decimal."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


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


def _loss_cell(model: dict, phase: str) -> str:
    """'qa 5.18→3.13, xnli 1.10→1.08 ⚠' from models.json (– when the phase did not run or predates it)."""
    losses = (model.get("task_losses") or {}).get(phase)
    if not losses:
        return "–"
    bad = set((model.get("not_learning") or {}).get(phase) or [])
    return ", ".join(f"{t} {v['first']:.2f}→{v['last']:.2f}{' ⚠' if t in bad else ''}"
                     for t, v in sorted(losses.items()))


def _section(title: str, items: list[str], per_item_gap: bool) -> list[str]:
    """A `## title` section of `items` (nothing when there are none), a blank line after each item or the list."""
    if not items:
        return []
    body = [x for item in items for x in (item, "")] if per_item_gap else [*items, ""]
    return [f"## {title}", "", *body]


def registered_markdown(reg: dict) -> list[str]:
    """The pre-registered contrasts (benchmarks/experiment-v2.md, section 7): the primary endpoint with raw
    and Holm p, MDE and verdict; clean F1 and effective robustness beside it as secondary."""
    lines = ["## Pre-registered contrasts (benchmarks/experiment-v2.md)", "",
             f"Macro over {' '.join(reg['langs'])} (each language weighs the same); two-level bootstrap (seeds, "
             f"then shared questions), {reg['n_resamples']:,} resamples; Holm over the contrasts run. Seeds per "
             f"arm: {', '.join(f'{g} {k}' for g, k in reg['seeds'].items())}.", ""]
    secondary = {r["id"]: (c, e) for r, c, e in zip(reg["primary"], reg["clean"], reg["effective"])}
    flips = {f["id"]: f for f in reg.get("flip", [])}
    rows = []
    for r in reg["primary"]:
        c, e = secondary[r["id"]]
        f = flips.get(r["id"])
        fr = f and f["result"]
        flip = ("-" if not f else "no jointly-correct question" if not fr else
                f"{fr['estimate']:+.2f} [{fr['ci95'][0]:+.2f}, {fr['ci95'][1]:+.2f}] p {_p(fr['p'])}, "
                f"n={sum(f['jointly_correct'].values())}")
        rows.append([r["id"], r["label"], f"{r['estimate']:+.2f} [{r['ci95'][0]:+.2f}, {r['ci95'][1]:+.2f}]",
                     _p(r["p"]), _p(r["p_holm"]), f"{r['mde']:.2f} / {r['mde_holm']:.2f}", r["verdict"],
                     f"{c['estimate']:+.2f} [{c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}]",
                     f"{e['estimate']:+.2f} [{e['ci95'][0]:+.2f}, {e['ci95'][1]:+.2f}]", flip])
    if rows:
        lines += _table(["id", "contrast (A - B)", "Δ adversarial F1 [95% CI]", "p", "p (Holm)",
                         "MDE / at Holm's first step", "verdict", "Δ clean F1 (secondary)",
                         "Δ effective robustness (secondary)", "Δ flip rate, jointly correct (secondary)"],
                        rows, left=2)
        lines += ["", "Flip rate: on the questions every seed of every arm of the contrast answers right on clean "
                  "input (exact match), the share of seed x attack cells that turn them wrong, points; n = those "
                  "questions over the languages (plan amendment 4); uncorrected.", ""]
    for m in reg["not_run"]:
        lines.append(f"- {m['id']} ({m['label']}) not run: no records for {', '.join(m['missing'])}")
    if reg.get("excluded"):
        lines.append(f"- left out as diverged (plan amendment 5: target loss did not fall; records kept, seed + 10 "
                     f"stands in): {', '.join(f'`{x}`' for x in reg['excluded'])}")
    lines.append("")
    return lines


def to_markdown(a: dict, models: list[dict], info: dict, n_records: int, plots: list[str],
                schemas: tuple[str, ...] = ("xadv.attack-record/1",)) -> str:
    langs = a["langs"]
    lines: list[str] = []
    budget = info.get("budget", "?")
    lines.append(f"# Mixed vs English-only vs multilingual-only intermediate tasks: TyDi QA robustness "
                 f"(budget `{budget}`)")
    lines.append("")
    s, dev = info.get("settings", {}), info.get("device", {})
    n = a["n_per_lang"]
    nq = f"{next(iter(n.values()))} per language" if len(set(n.values())) == 1 else "all"
    # the script's name, as in the committed results.md (`xadv experiment render` is the same command)
    lines.append(f"Rendered by `python benchmarks/experiment.py render` from `{RECORDS_FILE}` ({n_records} "
                 f"{' / '.join(f'`{x}`' for x in schemas)} records, each re-checked: digest, cell key, summary "
                 f"recomputed from "
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
        parts = info.get("parts") or []
        if parts:
            lines.append(f"- run in {len(parts)} part{'s' if len(parts) != 1 else ''} (wall minutes each; "
                         f"`run.json` has their start, code, machine and cells): "
                         + ", ".join(f"{_f(pt.get('wall_seconds', 0) / 60)}"
                                     + ("" if pt.get("finished") else " (stopped)") for pt in parts))
            by_device: dict[str, list[int]] = {}
            for i, pt in enumerate(parts, 1):
                by_device.setdefault(str(pt.get("device", "?")), []).append(i)
            if len(by_device) > 1:  # a run resumed on another machine: say which parts ran where
                lines.append("- the parts ran on more than one machine: " + "; ".join(
                    f"part{'s' if len(ix) > 1 else ''} {', '.join(map(str, ix))} on {d}"
                    for d, ix in by_device.items()))
        # the card's resolved budget.mixed_precision: a CPU with native bf16 may still train fp32
        by_precision: dict[str, list[str]] = {}
        for m in models:
            if m.get("precision"):
                by_precision.setdefault(precision_label(m["precision"]), []).append(m["id"])
        if len(by_precision) == 1 and len(next(iter(by_precision.values()))) == len(models):
            lines.append(f"- training precision (from the model cards): {next(iter(by_precision))} for every model")
        elif by_precision:
            lines.append("- training precision (from the model cards): " + "; ".join(
                f"{x}: {', '.join(ids)}" for x, ids in sorted(by_precision.items())))
    if a.get("plan_check"):
        lines.append(f"- {a['plan_check']}")
    lines.append(f"- data: TyDi QA GoldP dev, {nq} ({sum(n.values())} questions), the same questions for "
                 f"every model (paired comparisons); scorer `squad` (official), ASR criterion exact match")
    lines.append(f"- attacks (strength {s.get('strength', '?')}, seed {s.get('attack_seed', '?')}): "
                 + ", ".join(f"`{x}`" for x in a["attacks"]))
    lines.append("")
    reg = a.get("registered")
    if reg:  # v2: content-matched pools without TyDi's languages, the registered contrasts first
        seen = {m["id"]: [x for x in m.get("seen_any_languages") or [] if x != "en"] for m in models}
        broken = {k: v for k, v in seen.items() if v}
        if broken:
            claim = "**⚠ Not zero-shot**: " + "; ".join(f"`{k}` saw {' '.join(v)}" for k, v in broken.items()) + ". "
        elif models:
            claim = ("**Zero-shot.** By their cards, no model saw data in a TyDi language other than English (the "
                     "intermediate pools leave TyDi's other languages out; the target phase is English TyDi "
                     "train), so `*` marks en only. ")
        else:
            claim = "**Zero-shot unchecked**: no models.json beside the records. "
        lines.append(claim + "*Robust F1* is the mean over questions of min(clean F1, adversarial F1); *ASR* is "
                     "the share of the questions answered exactly right on clean input that the attack makes "
                     "wrong.")
        lines.append("")
        lines += registered_markdown(reg)
        lines.append("Everything below the contrasts is **exploratory**: descriptive tables and uncorrected "
                     "comparisons outside the registered family.")
        lines.append("")
    else:
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
                     " ".join(m["seen_any_languages" if reg else "seen_qa_languages"]),
                     " ".join(m["zero_shot_languages"]),
                     f"{steps.get('intermediate', 0)} / {steps.get('target', 0)}",
                     _loss_cell(m, "intermediate"), _loss_cell(m, "target"),
                     _f(m.get("train_seconds"), 0), _f(t.get("eval_wall_seconds"), 0)])
    if rows:
        lines += _table(["model", "mix", "intermediate", "seen TyDi langs (any data)" if reg else "seen QA langs",
                         "zero-shot langs",
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
            counts = f"{_count(pooled['asr_successes'])}/{_count(pooled['asr_denominator'])}"
            rows.append([f"`{name}`", *cells, _f(pooled["macro_robust_f1"]), f"{_f(pooled['asr'])} ({counts})"])
        lines.extend(_table(["model", *langs, "macro rF1", "ASR, all languages (k/n)"], rows))
        lines.append("")

    lines.append("## Mixed vs English-only and mixed vs multilingual-only, per intermediate task"
                 + (" (exploratory)" if reg else ""))
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

    lines.append("## Alignment: QA vs NLI vs paraphrase (and each vs no intermediate task)"
                 + (" (exploratory)" if reg else ""))
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
    lines += _section("Attack cells an attack cannot serve (skipped for every model)",
                      [f"- `{s_['attack']}` on {s_['lang']}: {s_['reason']}" for s_ in skipped], per_item_gap=False)
    lines += _section("Plots", [f"![{Path(p).stem}]({PLOTS_DIR}/{Path(p).name})" for p in plots], per_item_gap=True)
    lines.append("## Reading")
    lines.append("")
    reading = (info.get("reading") or {}).get("text")
    lines.append(reading.strip() if reading else f"_{READING_PLACEHOLDER}; edit `reading.text` in `{RUN_FILE}` "
                                                 f"and re-render._")
    lines.append("")
    return "\n".join(lines)


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
    info = read_json(results / RUN_FILE, {})
    models = read_json(results / MODELS_FILE, {}).get("models", [])
    # amendment 5 of the v2 plan (`stand_ins` in run.json's settings): diverged trainings stay in the records
    # and the models table, and are left out of every analysis; their stand-ins (seed + 10) take their slots
    settings = info.get("settings") or {}
    exclude = {m["id"] for m in models if diverged_model(m)} if settings.get("stand_ins") else set()
    stands_in = {m["id"]: m["stands_in_for"] for m in models if m.get("stands_in_for")}
    a = analyse(entries, exclude=exclude, stands_in=stands_in)
    plan = PlanCommit.from_dict(info.get("plan"))
    if plan is not None:  # the registered plan's commit must precede every record and model card
        a["plan_check"] = check_after_plan(plan, (e.record for e in entries), models).line()
    if settings.get("sample") == "registered":  # the v2 design: its registered contrasts
        a["registered"] = registered_analysis(entries, exclude=exclude)
    wanted = settings.get("attacks") or []
    a["attacks"] = sorted(a["attacks"], key=lambda x: (wanted.index(x) if x in wanted else len(wanted), x))
    plots = plot(a, results / PLOTS_DIR)
    md = to_markdown(a, models, info, len(entries), [str(p) for p in plots],
                     tuple(sorted({str(e.record.get("schema")) for e in entries})))
    path = results / TABLE_FILE
    atomic_write_text(path, md)
    write_json(results / ANALYSIS_FILE, a)
    return path
