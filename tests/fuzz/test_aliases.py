"""An attack and its alias are one cell: `typo` and `keyboard` never become two leaderboard columns or count
twice in a model's average (records written before aliases were resolved are read under the canonical name)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from attacks.spec import AttackSpec
from xadv.leaderboard import build_leaderboard
from xadv.runs.record import CellKey, record_digest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "benchmarks" / "results" / "bench_search_cli_greedy_em-flip_b10_w1_n200.json"


def test_the_cli_grammar_resolves_aliases_to_one_cell():
    assert AttackSpec.parse_list("typo,keyboard,noise+typo") == (
        AttackSpec(("keyboard",)), AttackSpec(("char-noise", "keyboard")))


def test_an_old_record_under_an_alias_is_the_same_cell_counted_once(tmp_path):
    rec = json.loads(RUN.read_text(encoding="utf-8"))["records"][0]
    assert rec["cell"]["attack"] == "keyboard"
    alias = copy.deepcopy(rec)  # what an older xadv wrote for `--attack typo`: a sealed record of its own
    alias["cell"]["attack"] = alias["attack"]["name"] = "typo"
    alias["cell"]["key"] = CellKey.from_dict(alias["cell"]).key
    alias["digest"] = record_digest(alias)
    for name, r in (("a.json", rec), ("b.json", alias)):
        (tmp_path / name).write_text(json.dumps(r), encoding="utf-8")
    board = build_leaderboard(tmp_path, n_resamples=0)
    assert [r.attack for r in board.rows] == ["keyboard"] and board.rows[0].n == rec["data"]["n"]
    [dup] = [e for e in board.entries if e.flags]
    assert dup.flags[0].kind == "duplicate" and "'typo' is 'keyboard'" in dup.flags[0].message
