"""Clean vs adversarial comparison, ASR and its denominator, bootstrap CIs, the paired test."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from xadv.errors import XadvError
from xadv.score import ScoreResult, compare, mean_ci, paired_bootstrap, result_ci, score_predictions, worst_case
from xadv.score.bootstrap import bootstrap_means
from xadv.score.criterion import Criterion
from xadv.score.files import load_gold


def made(em, f1, ids=None, mode="squad") -> ScoreResult:
    ids = tuple(ids or (f"q{k}" for k in range(len(em))))
    return ScoreResult(mode=mode, ids=ids, langs=(None,) * len(ids),
                       em_scores=np.asarray(em, float), f1_scores=np.asarray(f1, float))


@pytest.fixture(scope="module")
def en_gold(data_dir):
    return load_gold("tydiqa:en:dev", data_dir)


def degrade(gold, share: float, seed: int) -> dict[str, str]:
    """Gold answers, with `share` of them replaced by the answer's first word or nothing."""
    rng = random.Random(seed)
    out = {}
    for example_id, answers in zip(gold.ids, gold.answers):
        text = answers[0]
        if rng.random() < share:
            text = text.split()[0] + " extra words" if rng.random() < 0.5 and text.split() else ""
        out[example_id] = text
    return out


def test_hand_computed_comparison():
    # clean EM 1 1 1 0 0, adversarial EM 1 0 0 1 0 -> right on clean: q0 q1 q2 (denominator 3),
    # of which wrong under attack: q1 q2 -> ASR 2/3
    clean = made([1, 1, 1, 0, 0], [1.0, 1.0, 1.0, 0.5, 0.0])
    adv = made([1, 0, 0, 1, 0], [1.0, 0.4, 0.0, 1.0, 0.2])
    c = compare(clean, adv, n_resamples=200)
    assert (c.asr_denominator, c.asr_successes) == (3, 2)
    assert c.asr == pytest.approx(100 * 2 / 3)
    assert c.clean_f1 == pytest.approx(100 * 3.5 / 5) and c.adv_f1 == pytest.approx(100 * 2.6 / 5)
    assert c.f1_drop == pytest.approx(100 * 0.9 / 5)
    assert (c.clean_em, c.adv_em, c.em_drop) == pytest.approx((60.0, 40.0, 20.0))
    # robust F1: min per example = 1, 0.4, 0, 0.5, 0 -> 1.9 / 5
    assert c.robust_f1 == pytest.approx(100 * 1.9 / 5)
    assert c.robust_f1 <= min(c.clean_f1, c.adv_f1)
    # F1 >= 0.5 criterion: right on clean q0 q1 q2 q3 (4); below 0.5 under attack: q1 q2 -> 2/4
    t = compare(clean, adv, criterion=Criterion.f1_at_least(0.5), n_resamples=0)
    assert (t.criterion, t.asr_denominator, t.asr_successes, t.asr) == ("f1>=0.5", 4, 2, 50.0)
    assert t.ci == {}


def test_asr_undefined_without_clean_successes():
    c = compare(made([0, 0], [0.2, 0.0]), made([0, 0], [0.0, 0.0]), n_resamples=50)
    assert c.asr_denominator == 0 and math.isnan(c.asr)
    d = c.to_dict()
    assert d["asr"] is None and d["ci"]["asr"] == [None, None]


def test_results_are_aligned_by_id_and_must_match():
    clean = made([1, 0, 1], [1, 0.5, 1], ids=["a", "b", "c"])
    adv = made([0, 1, 1], [0, 1, 1], ids=["c", "a", "b"])  # a: 1, b: 1, c: 0
    c = compare(clean, adv, n_resamples=0)
    assert (c.asr_denominator, c.asr_successes) == (2, 1)  # a stays right, c flips
    with pytest.raises(XadvError, match="not scored on the same ids: 1 only in clean .*'c'"):
        compare(clean, made([1, 1], [1, 1], ids=["a", "b"]))
    with pytest.raises(XadvError, match="mode"):
        compare(clean, made([1, 1, 1], [1, 1, 1], ids=["a", "b", "c"], mode="multilingual"))


@pytest.mark.needs_data
def test_comparison_on_real_predictions(en_gold):
    clean = score_predictions(en_gold, degrade(en_gold, 0.2, seed=1))
    adv = score_predictions(en_gold, degrade(en_gold, 0.5, seed=2))
    c = compare(clean, adv)
    right = int((clean.em_scores == 1).sum())
    assert c.asr_denominator == right and 0 < c.asr_successes < right
    assert c.n == 440 and c.f1_drop > 0 and c.em_drop > 0
    for stat in ("clean_f1", "adv_f1", "f1_drop", "clean_em", "adv_em", "em_drop", "robust_f1", "asr"):
        low, high = c.ci[stat]
        assert low < getattr(c, stat) < high, stat
    assert compare(clean, adv).ci == c.ci  # seeded: repeatable
    assert compare(clean, adv, seed=7).ci != c.ci


@pytest.mark.needs_data
def test_ci_width_matches_the_normal_approximation(en_gold):
    result = score_predictions(en_gold, degrade(en_gold, 0.3, seed=3))
    low, high = result_ci(result, n_resamples=2000)["f1"]
    se = 100 * result.f1_scores.std() / math.sqrt(result.n)
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert low < result.f1 < high
    # a perfect system has a degenerate interval
    perfect = score_predictions(en_gold, {i: a[0] for i, a in zip(en_gold.ids, en_gold.answers)})
    assert result_ci(perfect) == {"exact_match": (100.0, 100.0), "f1": (100.0, 100.0)}


def test_bootstrap_means_are_centred_with_the_right_spread():
    x = np.random.default_rng(0).random(500)
    means = bootstrap_means(x, n_resamples=3000, seed=1)
    assert means.shape == (3000,)
    assert means.mean() == pytest.approx(x.mean(), abs=2e-3)
    assert means.std() == pytest.approx(x.std() / math.sqrt(500), rel=0.1)
    assert mean_ci(x, seed=1) == mean_ci(x, seed=1)
    with pytest.raises(XadvError, match="empty"):
        bootstrap_means(np.array([]))


@pytest.mark.needs_data
def test_paired_bootstrap_identical_systems(en_gold):
    a = score_predictions(en_gold, degrade(en_gold, 0.3, seed=4))
    test = paired_bootstrap(a, a)
    assert (test.diff, test.ci_low, test.ci_high, test.p_value) == (0.0, 0.0, 0.0, 1.0)


@pytest.mark.needs_data
def test_paired_bootstrap_clearly_better_system(en_gold):
    good = score_predictions(en_gold, degrade(en_gold, 0.1, seed=5))
    bad = score_predictions(en_gold, degrade(en_gold, 0.5, seed=6))
    test = paired_bootstrap(good, bad, n_resamples=1000)
    assert test.diff == pytest.approx(good.f1 - bad.f1) and test.diff > 20
    assert test.ci_low > 0 and test.p_value == pytest.approx(1 / 1001)
    swapped = paired_bootstrap(bad, good, n_resamples=1000)
    assert swapped.diff == pytest.approx(-test.diff) and swapped.p_value == test.p_value
    em = paired_bootstrap(good, bad, metric="em")
    assert em.diff == pytest.approx(good.exact_match - bad.exact_match)


@pytest.mark.needs_data
def test_paired_bootstrap_tiny_difference_is_not_significant(en_gold):
    preds = {i: a[0] for i, a in zip(en_gold.ids, en_gold.answers)}
    a = score_predictions(en_gold, preds)
    preds[en_gold.ids[0]] = preds[en_gold.ids[1]] = ""
    b = score_predictions(en_gold, preds)  # worse on 2 of 440 questions
    test = paired_bootstrap(a, b)
    assert test.diff == pytest.approx(200 / 440)
    assert test.p_value > 0.1 and test.ci_low <= 0 < test.ci_high


def test_worst_case_is_the_per_example_minimum():
    r1 = made([1, 0, 1], [1.0, 0.5, 1.0], ids=["a", "b", "c"])
    r2 = made([1, 1, 0], [0.8, 1.0, 0.0], ids=["b", "a", "c"])  # a=(1,1.0) b=(1,0.8) c=(0,0)
    w = worst_case([r1, r2])
    assert w.ids == ("a", "b", "c")
    assert w.em_scores.tolist() == [1, 0, 0] and w.f1_scores.tolist() == [1.0, 0.5, 0.0]
