"""Leaderboard as Markdown, CSV and JSON text (HTML: `xadv.leaderboard.html`; terminal: `.terminal`)."""

from __future__ import annotations

import csv
import io
import json

from xadv.leaderboard.aggregate import STATS, Leaderboard, ModelSummary, Row


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def fmt_ci(pair) -> str:
    if not pair or pair[0] is None:
        return ""
    return f"[{pair[0]:.1f}, {pair[1]:.1f}]"


def fmt_asr(row: Row, ci: bool = True) -> str:
    """"33.3 (4/12) [10.0, 60.0]"; ASR is undefined when the model got nothing right on clean input."""
    if row.stats["asr"] is None:
        return f"n/a (0/{row.asr_denominator})"
    out = f"{row.stats['asr']:.1f} ({row.asr_successes}/{row.asr_denominator})"
    return f"{out} {fmt_ci(row.ci.get('asr'))}".rstrip() if ci else out


def fmt_flip(row: Row, ci: bool = True) -> str:
    """"12.5 (2/16) [0.0, 31.2]": flips among the questions every model of the cell answers right."""
    j = row.joint
    if j is None or j.rate is None:
        return f"n/a (0/{j.joint if j else 0})"
    flips = f"{j.flips:g}" if float(j.flips).is_integer() else f"{j.flips:.1f}"
    out = f"{j.rate:.1f} ({flips}/{j.joint}){'†' if j.note else ''}"
    return f"{out} {fmt_ci(j.ci)}".rstrip() if ci else out


def fmt_signed(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1f}"


RANK_WORDS = {"robust_f1": "robust F1 (higher first)", "flip_rate": "flip rate on jointly-correct questions "
              "(lower first)", "worst_case": "worst-case F1 over attacks (higher first)",
              "effective": "effective robustness (higher first)"}


def metric_lines(board: Leaderboard) -> list[str]:
    """What the three columns beside robust F1 mean (one line each)."""
    fit = board.overall_fit.describe() if board.overall_fit else "no models"
    return ["flip % (joint) = share of the questions that every model of the cell answers right on clean input "
            "which the attack makes wrong (the same questions for every model; † = fewer than 20 such questions)",
            "worst-case F1 = mean over questions of the minimum F1 over clean input and every seed of every attack "
            "the models share in that language; a question counts for worst-case accuracy only if right under all",
            "eff. rob. = adversarial F1 minus a least-squares line of adversarial F1 on clean F1 across the "
            "models of the same cell (needs 3 models); models: mean over common cells",
            f"overall fit: {fit}"]


def zero_shot_word(value: bool | None) -> str:
    return {True: "zero-shot", False: "seen", None: "no card"}[value]


def model_langs(m: ModelSummary) -> str:
    """"zero-shot: fi id · seen: sw" from the model card marks of its records."""
    parts = []
    for value, word in ((True, "zero-shot"), (False, "seen"), (None, "no card")):
        langs = [lang for lang, zs in m.zero_shot.items() if zs is value]
        if langs:
            parts.append(f"{word}: {' '.join(langs)}")
    return " · ".join(parts)


def scorer_word(row: Row) -> str:
    """"squad", or "multilingual, f1>=0.5" when the ASR criterion is not exact match."""
    return row.mode if row.criterion == "em" else f"{row.mode}, {row.criterion}"


def check_word(row: Row) -> str:
    kinds = sorted({flag.kind for _, flag in row.failing})
    return "FLAGGED: " + ", ".join(kinds) if kinds else "ok"


def preamble(board: Leaderboard) -> list[str]:
    criteria = sorted({r.criterion for r in board.rows})
    b = board.bootstrap
    return [f"results: {board.source}",
            f"scorer mode: {', '.join(board.modes)} · ASR criterion: {', '.join(criteria)} · "
            f"95% CIs: percentile bootstrap over questions ({b['resamples']} resamples, seed {b['seed']})",
            "every number is recomputed from the per-example outcomes stored in the records; "
            "ASR = share of the questions answered right on clean input that the attack makes wrong"]


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if k in right else "---" for k in range(len(header))) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def to_markdown(board: Leaderboard) -> str:
    lines = ["# xadv robustness leaderboard", ""] + [f"{p}  " for p in preamble(board)] + ["", "## Models", ""]
    lines += _md_table(
        ["rank", "model", "fingerprint", "languages", "cells", "common cells", "clean F1", "adv F1",
         "robust F1", "ASR %", "flip % (joint)", "worst-case F1", "eff. rob.", "flagged"],
        [[str(m.rank or "-"), m.model, m.fingerprint[:12], model_langs(m), str(m.rows), str(m.common),
          fmt(m.clean_f1), fmt(m.adv_f1), fmt(m.robust_f1), fmt(m.asr), fmt(m.flip_rate), fmt(m.worst_case_f1),
          fmt_signed(m.effective), str(m.flagged)] for m in board.models],
        right={4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
    lines += ["", "Macro means over the cells every model has (common cells; one data subset per cell, the largest); "
                  f"ranked by {RANK_WORDS[board.rank_by]}.",
              ""] + [f"- {line}" for line in metric_lines(board)] + ["", "## Results", ""]
    lines += _md_table(
        ["model", "lang", "zero-shot", "attack", "target", "n", "seeds", "scorer", "clean F1", "adv F1",
         "ΔF1 [95% CI]", "robust F1", "ASR % (k/right) [95% CI]", "flip % joint (k/joint) [95% CI]",
         "eff. rob.", "check"],
        [[r.model, r.lang, zero_shot_word(r.zero_shot), r.label, r.target, str(r.n),
          ",".join(map(str, r.seeds)), scorer_word(r), fmt(r.stats["clean_f1"]), fmt(r.stats["adv_f1"]),
          f"{fmt(r.stats['f1_drop'])} {fmt_ci(r.ci.get('f1_drop'))}".strip(), fmt(r.stats["robust_f1"]),
          fmt_asr(r), fmt_flip(r), fmt_signed(r.effective), check_word(r)] for r in board.rows],
        right={5, 8, 9, 10, 11, 12, 13, 14})
    notes = sorted({f"{r.lang} / {r.label}: {r.joint.note}" for r in board.rows if r.joint and r.joint.note})
    if notes:
        lines += ["", "Jointly-correct sets that are empty or small (†):", ""] + [f"- {n}" for n in notes]
    lines += ["", "## Worst case over attacks", ""]
    lines += _md_table(
        ["model", "lang", "attacks", "perturbations", "n", "clean F1", "worst-case acc %", "worst-case F1 [95% CI]",
         "note"],
        [[w.model, w.lang, ", ".join(w.attacks), str(w.perturbations), str(w.n), fmt(w.clean_f1), fmt(w.accuracy),
          f"{fmt(w.f1)} {fmt_ci(w.ci_f1)}".strip(), w.note] for w in board.worst_cases],
        right={3, 4, 5, 6, 7})
    lines += ["", "## Effective robustness fits (adv F1 on clean F1, one point per model)", ""]
    lines += _md_table(["cell", "models", "slope", "intercept", "r", "note"],
                       [[f.scope, str(f.models), fmt(f.slope, 3), fmt(f.intercept), fmt(f.r, 3), f.note]
                        for f in board.fits], right={1, 2, 3, 4})
    if board.human_validity:
        lines += ["", "## Human validity of the attacks (audit sheets)", ""]
        lines += _md_table(["attack", "lang", "target", "judged", "valid % [95% CI]", "annotators"],
                           human_validity_rows(board), right={3, 4})
    lines += ["", "## Checks", ""] + check_lines(board, md=True)
    return "\n".join(lines) + "\n"


def human_validity_rows(board: Leaderboard) -> list[list[str]]:
    """One row per audited attack and language: valid share (same meaning and same answer) and its interval."""
    return [[h.attack, h.lang, h.target, f"{h.judged}/{h.n}",
             "-" if h.valid_share is None else f"{fmt(100 * h.valid_share)} {fmt_ci(tuple(100 * x for x in h.ci))}",
             ", ".join(h.annotators) or "-"] for h in board.human_validity]


def check_lines(board: Leaderboard, md: bool = False) -> list[str]:
    """One line per flag of every entry (notes included), or one line saying all passed."""
    out = []
    for e in board.entries:
        for flag in e.flags:
            name = f"`{e.path.name}`" if md else e.path.name
            level = "FLAGGED" if flag.kind in {f.kind for f in e.failing} else "note"
            out.append(f"{'- ' if md else ''}{level} {name} ({e.model} / {e.lang} / {e.attack} / {e.target} / "
                       f"seed {e.seed}): {flag.kind}: {flag.message}")
    if not board.flagged:
        out.append(f"{'- ' if md else ''}all {len(board.entries)} records passed the checks "
                   "(digest, cell key, summary recomputed from the per-example outcomes)")
    return out


CSV_COLUMNS = ["model", "fingerprint", "lang", "zero_shot", "attack", "label", "target", "strength", "params",
               "mode", "criterion", "data", "data_sha256", "n", "seeds", *STATS,
               *(f"{s}_ci_{end}" for s in STATS for end in ("low", "high")),
               "asr_successes", "asr_denominator", "flip_rate", "flip_rate_ci_low", "flip_rate_ci_high",
               "flip_flips", "joint_questions", "joint_models", "joint_note", "effective", "adv_f1_predicted",
               "fit_slope", "fit_intercept", "fit_r", "fit_models", "fit_note", "worst_case_f1",
               "worst_case_accuracy", "worst_case_attacks", "check", "flags"]


def to_csv(board: Leaderboard) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in board.rows:
        ci = [v for s in STATS for v in (r.ci.get(s) or (None, None))]
        w.writerow([r.model, r.fingerprint, r.lang, {True: "yes", False: "no", None: ""}[r.zero_shot], r.attack,
                    r.label, r.target, r.strength, json.dumps(r.params, sort_keys=True), r.mode, r.criterion,
                    r.data_name, r.data_sha256, r.n, ";".join(map(str, r.seeds)),
                    *("" if r.stats[s] is None else round(r.stats[s], 4) for s in STATS),
                    *("" if v is None else round(v, 4) for v in ci),
                    r.asr_successes, r.asr_denominator, *_extra_csv(r), check_word(r),
                    " | ".join(f"{f}: {flag.kind}: {flag.message}" for f, flag in r.flags)])
    return buf.getvalue()


def _round(x: float | None) -> float | str:
    return "" if x is None else round(x, 4)


def _extra_csv(r: Row) -> list:
    j, f, w = r.joint, r.fit, r.worst_case
    pred = f.predict(r.stats["clean_f1"]) if f is not None and r.stats["clean_f1"] is not None else None
    return [_round(r.metric("flip_rate")), *(_round(v) for v in (j.ci if j else (None, None))),
            _round(j.flips if j else None), j.joint if j else "", j.models if j else "", j.note if j else "",
            _round(r.effective), _round(pred), _round(f.slope if f else None), _round(f.intercept if f else None),
            _round(f.r if f else None), f.models if f else "", f.note if f else "",
            _round(w.f1 if w else None), _round(w.accuracy if w else None), " | ".join(w.attacks) if w else ""]


def to_json(board: Leaderboard) -> str:
    return json.dumps(board.to_dict(), ensure_ascii=False, indent=1)
