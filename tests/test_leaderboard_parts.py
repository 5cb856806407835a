"""The leaderboard's small parts on real TyDi text: snippets, visible edits, safe embedding, criteria, gate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xadv.data import load_qa
from xadv.errors import XadvError
from xadv.leaderboard import build_leaderboard, load_entries
from xadv.leaderboard.html import embed_json
from xadv.leaderboard.regress import Cell, gate
from xadv.leaderboard.report import changes, visible
from xadv.runs import AttackRecord, CellKey, ResultsStore
from xadv.runs.record import DataInfo, ExampleOutcome, ModelInfo, RunEnv, Summary, record_digest, rows_sha256
from xadv.runs.record import snippet as context_snippet
from xadv.score import compare
from xadv.score.criterion import Criterion
from xadv.score.evaluate import ScoreResult


@pytest.fixture(scope="module")
def te_rows(data_dir):
    return list(load_qa("tydiqa:te:dev", data_dir))[:10]


@pytest.mark.needs_data
def test_context_snippet_is_a_window_around_the_first_edit(te_rows):
    ctx = te_rows[0]["context"]
    at = len(ctx) // 2
    inserted = " ఇది ఒక అదనపు వాక్యం. "
    snip = context_snippet(ctx, ctx[:at] + inserted + ctx[at:], pad=40)
    assert snip["offset"] == at
    assert snip["clean"] == "…" + ctx[at - 40:at + 40] + "…"
    assert snip["adv"] == "…" + ctx[at - 40:at] + inserted + ctx[at:at + 40] + "…"  # windows align
    assert changes(snip["clean"], snip["adv"]) == [f"'' → {inserted!r}"]
    assert context_snippet(ctx, ctx) is None
    # edits spread over the whole context: a window from the first one, and no edit made up at the cut
    spread = "X" + ctx[1:-1] + "Y"
    head = context_snippet(ctx, spread, pad=40)
    assert head["offset"] == 0 and head["clean"] == ctx[:80] + "…" and head["adv"] == "X" + ctx[1:80] + "…"
    shifted = "X" + ctx[:60] + ctx[61:-1] + "Y"
    snip = context_snippet(ctx, shifted, pad=40)
    assert changes(snip["clean"], snip["adv"])[0].startswith("'' → 'X'")


def test_invisible_and_lookalike_edits_are_spelled_out():
    assert visible("a\u200bb") == "a⟨U+200B⟩b"
    assert changes("Mji mkuu wa Kenya", "Mji mkuu w\u0430 Kenya") == ["'a' → 'а' (U+0061 → U+0430)"]
    assert changes("Kenya", "Ken\u200bya") == ["'' → '⟨U+200B⟩' (∅ → U+200B)"]
    assert changes("same", "same") == []


def test_embedded_json_cannot_close_the_script():
    text = embed_json({"model": "</script><script>alert(1)</script>", "line": "a\u2028b"})
    assert "</" not in text and "\u2028" not in text
    assert json.loads(text) == {"model": "</script><script>alert(1)</script>", "line": "a\u2028b"}


def test_criterion_parsing():
    assert Criterion.parse("em") == Criterion.exact_match()
    assert Criterion.parse("f1>=0.5") == Criterion.f1_at_least(0.5)
    with pytest.raises(XadvError, match="unknown ASR criterion 'f1>0.5'"):
        Criterion.parse("f1>0.5")


def _record(rows, clean_f1, adv_f1, *, f1_threshold, seed=0):
    """A record as `run_attacks` writes it, from given per-example F1s (EM = F1 == 1)."""
    ids = tuple(r["id"] for r in rows)
    def mk(f1):
        return ScoreResult("squad", ids, ("te",) * len(ids), (np.array(f1) == 1.0) * 1.0, np.array(f1))
    cmp = compare(mk(clean_f1), mk(adv_f1), criterion=Criterion.from_threshold(f1_threshold), n_resamples=300,
                  seed=seed)
    cell = CellKey("f" * 64, "te", "char-noise", {}, "question", 0.2, seed, rows_sha256(rows), "squad",
                   cmp.criterion)
    examples = tuple(ExampleOutcome(i, "x", "y", float(c == 1.0), c, float(a == 1.0), a, 0.2, 1, "q", "p", False, None)
                     for i, c, a in zip(ids, clean_f1, adv_f1))
    return AttackRecord(cell, ModelInfo("m", "f" * 64, ["en"], True),
                        DataInfo("tydiqa:te:dev", "te", len(ids), rows_sha256(rows)),
                        Summary(cmp.to_dict(), 0.2), examples, RunEnv("0", None, "now", 0.0, ""))


@pytest.mark.needs_data
def test_f1_threshold_records_recompute_and_pool_seeds(te_rows, tmp_path):
    clean = [1.0, 0.8, 0.6, 0.4, 1.0, 0.0, 0.5, 0.9, 1.0, 0.7]
    adv = {0: [1.0, 0.2, 0.6, 0.4, 0.0, 0.0, 0.4, 0.9, 0.5, 0.3],
           1: [0.0, 0.8, 0.1, 0.4, 1.0, 0.0, 0.5, 0.2, 1.0, 0.3]}
    store = ResultsStore(tmp_path)
    for seed in (0, 1):
        rec = _record(te_rows, clean, adv[seed], f1_threshold=0.5, seed=seed)
        assert rec.to_dict()["digest"] == record_digest(json.loads(json.dumps(rec.to_dict())))
        store.put(rec)
    assert all(not e.flags for e in load_entries(tmp_path))
    [row] = build_leaderboard(tmp_path, n_resamples=300).rows
    right = [c >= 0.5 for c in clean]                       # 8 of 10
    flips = sum(r and a < 0.5 for s in (0, 1) for r, a in zip(right, adv[s]))
    assert row.criterion == "f1>=0.5" and row.seeds == (0, 1)
    assert (row.asr_successes, row.asr_denominator) == (flips, 2 * sum(right))
    assert row.stats["asr"] == pytest.approx(100 * flips / (2 * sum(right)))
    assert row.stats["adv_f1"] == pytest.approx(100 * np.mean(adv[0] + adv[1]))
    assert row.stats["robust_f1"] == pytest.approx(
        100 * np.mean([min(c, a) for s in (0, 1) for c, a in zip(clean, adv[s])]))


@pytest.mark.needs_data
def test_a_cell_run_on_two_subsets_of_one_dataset_counts_once_in_the_model_macro(te_rows, tmp_path):
    """`--n 5`, then `--n 10` into the same folder: both rows are listed, the macro takes the larger only
    (averaging both would count the first five questions twice)."""
    clean = [1.0, 0.8, 0.6, 0.4, 1.0, 0.0, 0.5, 0.9, 1.0, 0.7]
    adv = [0.0, 0.8, 0.1, 0.4, 1.0, 0.0, 0.5, 0.2, 1.0, 0.3]
    store = ResultsStore(tmp_path)
    store.put(_record(te_rows[:5], clean[:5], adv[:5], f1_threshold=0.5))
    store.put(_record(te_rows, clean, adv, f1_threshold=0.5))
    board = build_leaderboard(tmp_path, n_resamples=0)
    assert sorted(r.n for r in board.rows) == [5, 10]
    [model] = board.models
    assert (model.rows, model.common) == (2, 1)
    assert model.clean_f1 == pytest.approx(100 * np.mean(clean))
    assert model.adv_f1 == pytest.approx(100 * np.mean(adv))


def _gate_cell(right, flipped, adv_f1, clean_f1) -> Cell:
    slot = {"model": "m", "lang": "sw", "attack": "keyboard", "params": {}, "target": "question", "strength": 0.2,
            "seed": 0, "data_sha256": "d", "mode": "squad", "criterion": "em"}
    n = len(right)
    return Cell(slot, "fp", tuple(f"q{i}" for i in range(n)), np.array(right, bool), np.array(flipped, bool),
                np.array(adv_f1, float), np.array(clean_f1, float))


def test_gate_marks_improvements_only_when_nothing_got_worse():
    n = 60
    base = _gate_cell([True] * n, [True] * 30 + [False] * 30, [0.0] * 30 + [1.0] * 30, [1.0] * n)
    # fewer flips, higher adversarial F1 on the same questions: improved, significantly; the gate still passes
    better = _gate_cell([True] * n, [True] * 5 + [False] * 55, [0.0] * 5 + [1.0] * 55, [1.0] * n)
    result = gate([base], [better], significance=0.05)
    [check] = result.checks
    assert result.passed and check.status == "improved" and result.improved == [check]
    assert [w.split(" ")[0:2] for w in check.improvements] == [["ASR", "-41.7"], ["adv", "F1"]]
    assert all("(p=0.0" in w for w in check.improvements)
    assert check.to_dict()["improvements"] == check.improvements and result.to_dict()["improved"] == 1
    # the same questions reversed: a regression, never an improvement
    assert gate([better], [base]).checks[0].status == "regressed"
    # ASR falls because the model answers fewer questions right on clean input, adversarial F1 falls too:
    # a lower ASR from a worse model is not an improvement
    worse_clean = _gate_cell([True] * 10 + [False] * 50, [True] * 2 + [False] * 58, [0.0] * 2 + [1.0] * 8 + [0.0] * 50,
                             [1.0] * 10 + [0.0] * 50)
    check = gate([base], [worse_clean]).checks[0]
    assert check.asr_change < -2 and check.status == "regressed" and not check.improvements
    # a small improvement on few questions is not significant: "ok", nothing claimed
    small = _gate_cell([True] * n, [True] * 27 + [False] * 33, [0.0] * 27 + [1.0] * 33, [1.0] * n)
    check = gate([base], [small], significance=0.05).checks[0]
    assert check.asr_change == pytest.approx(-5.0) and check.status == "ok" and not check.improvements
    assert gate([base], [small]).checks[0].status == "improved"  # without a significance level, tolerance only
    # a change just beyond the tolerance is printed with the digits that show it is beyond
    flat = _gate_cell([True] * 50, [False] * 50, [0.5] * 50, [1.0] * 50)
    lower = _gate_cell([True] * 50, [False] * 50, [0.5 - 0.0104] * 50, [1.0] * 50)
    assert gate([flat], [lower]).checks[0].reasons == ["adv F1 -1.04 > -1.0"]
    assert gate([flat], [lower], max_f1_drop=0.5).checks[0].reasons == ["adv F1 -1.0 > -0.5"]


def test_gate_passes_identical_outcomes_and_validates_tolerances():
    slot = {"model": "m", "lang": "sw", "attack": "keyboard", "params": {}, "target": "question", "strength": 0.2,
            "seed": 0, "data_sha256": "d", "mode": "squad", "criterion": "em"}
    right = np.array([True, True, True, False])
    cell = Cell(slot, "fp", ("a", "b", "c", "d"), right, np.array([True, False, False, False]),
                np.array([0.0, 1.0, 1.0, 0.2]), np.array([1.0, 1.0, 1.0, 0.2]))
    result = gate([cell], [cell], significance=0.05)
    assert result.passed and result.checks[0].status == "ok" and result.checks[0].asr_change == 0.0
    with pytest.raises(XadvError, match="fraction"):
        gate([cell], [cell], max_asr_increase=5)
    with pytest.raises(XadvError, match="--significance"):
        gate([cell], [cell], significance=1.5)


def test_cell_parameters_read_as_words_not_as_key_material():
    from xadv.leaderboard.aggregate import params_label

    assert params_label("distractor", {"attack_version": "distractor/3"}) == "v3"
    assert params_label("keyboard+distractor", {"attack_version": "distractor/3"}) == "distractor v3"
    assert params_label("codemix", {"partner": "sw", "attack_version": "codemix/2"}) == "partner=sw,v2"
    assert params_label("keyboard", {}) == ""
