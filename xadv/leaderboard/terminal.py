"""Rich tables for the terminal: the leaderboard and the regress gate's verdict."""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table

from xadv.leaderboard.aggregate import Leaderboard, params_label
from xadv.leaderboard.regress import GateResult
from xadv.leaderboard.render import (
    RANK_WORDS,
    check_word,
    fmt,
    fmt_asr,
    fmt_ci,
    fmt_flip,
    fmt_signed,
    model_langs,
    scorer_word,
)
from xadv.runs.record import search_tag


def models_table(board: Leaderboard) -> Table:
    t = Table(title="models (macro over the cells every model has, each on its largest data subset; ranked by "
                    f"{RANK_WORDS[board.rank_by]})",
              title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("rank", "model", "fingerprint", "languages", "cells", "common", "clean F1", "adv F1",
                "robust F1", "ASR %", "flip % (joint)", "worst-case F1", "eff. rob.", "checks"):
        t.add_column(col, justify="left" if col in ("model", "fingerprint", "languages", "checks") else "right")
    for m in board.models:
        t.add_row(str(m.rank or "-"), escape(m.model), m.fingerprint[:12], escape(model_langs(m)), str(m.rows),
                  str(m.common), fmt(m.clean_f1), fmt(m.adv_f1), fmt(m.robust_f1), fmt(m.asr), fmt(m.flip_rate),
                  fmt(m.worst_case_f1), fmt_signed(m.effective),
                  f"[red]{m.flagged} flagged[/]" if m.flagged else "ok")
    return t


def rows_table(board: Leaderboard) -> Table:
    t = Table(title=f"xadv leaderboard · {escape(board.source)} · scorer {', '.join(board.modes)}",
              title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("model", "lang", "zero-shot", "attack", "target", "n", "seeds", "scorer", "F1 clean→adv",
                "ΔF1 [95% CI]", "robust F1", "ASR % (k/right) [95% CI]", "flip % joint", "eff. rob.", "check"):
        t.add_column(col, justify="right" if col in ("n", "F1 clean→adv", "ΔF1 [95% CI]", "robust F1",
                                                     "ASR % (k/right) [95% CI]", "flip % joint", "eff. rob.")
                     else "left", no_wrap=True)
    for r in board.rows:
        zs = {True: "[blue]zero-shot[/]", False: "[yellow]seen[/]", None: "[dim]no card[/]"}[r.zero_shot]
        check = check_word(r)
        t.add_row(escape(r.model), r.lang, zs, escape(r.label), r.target, str(r.n), ",".join(map(str, r.seeds)),
                  scorer_word(r), f"{fmt(r.stats['clean_f1'])}→{fmt(r.stats['adv_f1'])}",
                  f"{fmt(r.stats['f1_drop'])} {fmt_ci(r.ci.get('f1_drop'))}".strip(), fmt(r.stats["robust_f1"]),
                  fmt_asr(r), fmt_flip(r, ci=False), fmt_signed(r.effective),
                  "ok" if check == "ok" else f"[red]{escape(check)}[/]")
    return t


def _group_name(g: dict) -> str:
    parts = [g["model"]]
    if "lang" in g:
        parts.append(g["lang"])
    if "attack" in g:
        parts.append(g["attack"] + (f" [{search_tag(g['search'])}]" if g.get("search") else "")
                     + (f" ({g['target']})" if g.get("target") else ""))
        if g.get("params"):
            parts.append(params_label(g["attack"], g["params"]))
        parts.append(f"@{g['strength']:g}")
    if g.get("mode", "squad") != "squad" or g.get("criterion", "em") != "em":
        parts.append(g["mode"] + ("" if g["criterion"] == "em" else f", {g['criterion']}"))
    return " / ".join(str(p) for p in parts)


def gate_table(result: GateResult, only_regressed: bool = False) -> Table:
    """The checked groups: baseline vs current ASR and adversarial F1, and why a group regressed."""
    tol = result.tolerances
    sig = f", p < {tol['significance']:g}" if tol["significance"] is not None else ""
    title = (f"xadv regress · per {result.level} · tolerance: ASR +{100 * tol['max_asr_increase']:.1f} pp, "
             f"adv F1 -{tol['max_f1_drop']:.1f}{sig}")
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    if tol.get("max_flip_increase") is not None:
        title += f", flip rate (jointly correct) +{100 * tol['max_flip_increase']:.1f} pp"
    for col in ("checked", "n", "ASR % base→now", "Δ pp", "adv F1 base→now", "Δ", "clean F1 Δ",
                "flip % joint base→now (n)", "Δ pp [95% CI]", "status"):
        t.add_column(col, justify="left" if col in ("checked", "status") else "right",
                     no_wrap=col not in ("checked", "status"))  # a long cell name wraps; the status stays
    for c in result.checks:
        if only_regressed and not c.reasons:
            continue
        status = ("[red]REGRESSED: " + escape("; ".join(c.reasons)) + "[/]" if c.reasons else
                  "[yellow]" + escape("; ".join(c.notes)) + "[/]" if c.notes else
                  "[bold green]IMPROVED: " + escape("; ".join(c.improvements)) + "[/]" if c.improvements else
                  "[green]ok[/]")
        t.add_row(escape(_group_name(c.group)), str(c.n), f"{fmt(c.base_asr)}→{fmt(c.cur_asr)}",
                  "-" if c.asr_change is None else f"{c.asr_change:+.1f}",
                  f"{fmt(c.base_adv_f1)}→{fmt(c.cur_adv_f1)}", f"{-c.f1_drop:+.1f}",
                  f"{c.cur_clean_f1 - c.base_clean_f1:+.1f}",
                  f"{fmt(c.base_flip)}→{fmt(c.cur_flip)} ({c.joint})",
                  "-" if c.flip_change is None else f"{c.flip_change:+.1f} {fmt_ci(c.flip_ci)}".rstrip(), status)
    for slot in result.missing:
        t.add_row(escape(_group_name(slot)) + f" seed {slot['seed']}", "-", "-", "-", "-", "-", "-", "-", "-",
                  "[red]MISSING: in the baseline, not in the current results[/]")
    return t
