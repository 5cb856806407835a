"""Leaderboard, CI regression gate and reports over many attack records (`xadv.runs`).

    from xadv.leaderboard import build_leaderboard, render
    board = build_leaderboard("xadv-results", langs=["sw"], sort="asr")
    print(render(board, "md"))          # md | csv | json | html (one self-contained page)

Entries are checked, not trusted: every aggregate is recomputed from the per-example outcomes stored in
each record, and a record whose summary disagrees, whose file was edited after it was written (its
digest; with `XADV_RESULTS_KEY` set, its keyed seal: the digest alone stops accidents, not forgers), or
whose clean outcomes differ from its siblings' is flagged (`xadv.leaderboard.entries`).
The gate (`xadv.leaderboard.regress`) compares a results directory with an accepted baseline that
keeps per-example outcomes, so a paired bootstrap can say whether a change is significant.
Import-light: numpy and the scorer only; rich is imported by `xadv.leaderboard.terminal` alone.
"""

from xadv.leaderboard.aggregate import SORTS, Leaderboard, ModelSummary, Row, build_leaderboard
from xadv.leaderboard.entries import Entry, Flag, load_entries
from xadv.leaderboard.formats import FORMATS, render
from xadv.leaderboard.regress import GateResult, read_baseline, run_gate, update_baseline
from xadv.leaderboard.report import render_report

__all__ = ["FORMATS", "SORTS", "Entry", "Flag", "GateResult", "Leaderboard", "ModelSummary", "Row",
           "build_leaderboard", "load_entries", "read_baseline", "render", "render_report", "run_gate",
           "update_baseline"]
