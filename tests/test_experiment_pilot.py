"""The v2 pilot's registered decision rules (benchmarks/experiment-v2.md, section 4)."""

from __future__ import annotations

import pytest

from xadv.experiments.pilot import keep_task, seeds_for_qa_arms, target_steps


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
