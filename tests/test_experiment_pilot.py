"""The v2 pilot's registered decision rules (benchmarks/experiment-v2.md, section 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xadv.experiments.pilot import diverged, keep_task, seed_noise, seeds_for_qa_arms, target_steps


def test_a_pair_task_stays_only_five_points_above_chance():
    assert keep_task(38.34, 33.33) and not keep_task(38.3, 33.33)
    assert keep_task(55.0, 50.0) and not keep_task(54.99, 50.0)


def test_seed_noise_above_two_f1_adds_two_seeds_to_the_qa_arms():
    assert seeds_for_qa_arms([52.0, 53.0, 52.5]) == [13, 14, 15]
    assert seeds_for_qa_arms([48.0, 53.0, 52.5]) == [13, 14, 15, 16, 17]
    with pytest.raises(ValueError):
        seeds_for_qa_arms([52.0])


def test_the_shorter_target_budget_wins_within_two_f1():
    assert target_steps({237: 50.1, 474: 52.0}) == 237
    assert target_steps({237: 49.9, 474: 52.0}) == 474


def test_a_diverged_seed_at_the_short_budget_picks_the_long_one():
    """Amendment 5 (b): T = 237 must also train for every 4b seed."""
    assert target_steps({237: 50.0, 474: 47.1}, [False, False, False]) == 237
    assert target_steps({237: 50.0, 474: 47.1}, [False, False, True]) == 474


def test_divergence_is_read_from_the_target_phase_of_the_card_only():
    card = {"phases": [{"name": "intermediate", "not_learning": ["xnli"]}, {"name": "target", "not_learning": []}]}
    assert not diverged(card)  # an intermediate task that did not learn is rule 4a's business, not divergence
    card["phases"][1]["not_learning"] = ["qa"]
    assert diverged(card) and not diverged({})


def test_seed_noise_counts_the_seeds_that_trained():
    """Amendment 5 (c): the diverged seed is reported, its stand-in (seed + 10) counted."""
    assert seed_noise({13: 54.3, 14: 54.2, 25: 53.9}, {}) == [13, 14, 15]
    assert seed_noise({13: 54.3, 14: 54.2, 15: 5.1}, {15: True}) == [13, 14, 15]
    assert seed_noise({13: 54.3, 14: 54.2, 15: 5.1}, {}) == [13, 14, 15, 16, 17]


def test_the_pilot_records_its_seeds_even_when_rule_4b_cannot_decide(monkeypatch, tmp_path):
    """Two of three baseline seeds and their stand-ins diverge: one seed trained, so no SD; the pilot script
    records every measurement with `qa_arm_seeds` None and the reason instead of losing hours to a traceback."""
    import importlib.util

    from xadv.experiments.spec import plan_grid

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "experiment_v2_pilot.py"
    spec = importlib.util.spec_from_file_location("pilot_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    trained_ok = {15}
    monkeypatch.setattr(script, "eval_rows", lambda *a: [])
    monkeypatch.setattr(script, "_b0", lambda seed, *a: (None, tmp_path / f"b0-s{seed}"))
    monkeypatch.setattr(script, "_train", lambda config, model, data_dir: {
        "wall_seconds": 1.0, "phases": [{"name": "target", "not_learning": int(model.name[4:]) not in trained_ok}]})
    monkeypatch.setattr(script, "_macro", lambda model, rows: (53.0 if int(model.name[4:]) in trained_ok else 5.0, {}))
    settings, budget, _ = plan_grid(script.CONFIG, "v2")
    out = script.seeds_rule(settings, budget, tmp_path, tmp_path, tmp_path, 474)
    assert out["qa_arm_seeds"] is None and "two seeds or more" in out["undecided"]
    assert out["replaced"] == {"13": 23, "14": 24} and set(out["macro_f1"]) == {"13", "23", "14", "24", "15"}
    trained_ok.update({13, 24})
    out = script.seeds_rule(settings, budget, tmp_path, tmp_path, tmp_path, 474)
    assert out["qa_arm_seeds"] == [13, 14, 15] and "undecided" not in out
