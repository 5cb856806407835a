"""The v2 contrasts (xadv.experiments.contrasts): a two-level bootstrap that lets seed noise into the
intervals, Holm's adjustment, MDE and the equivalence verdict, on synthetic scores with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from xadv.errors import XadvError
from xadv.experiments.contrasts import (
    REGISTERED,
    Arm,
    Contrast,
    bootstrap_macros,
    holm,
    mde_factor,
    residualised,
    run_contrasts,
)

LANGS = {"ar": 150, "bn": 83, "fi": 150}


def _arm(name, rng, *, level=50.0, seeds=3, seed_sd=0.0, question_sd=20.0, shared=None):
    """Per language, seeds x questions: a question effect shared by all arms (`shared`), a per-seed offset,
    question noise."""
    scores = {}
    for lang, n in LANGS.items():
        base = shared[lang] if shared is not None else np.zeros(n)
        offsets = rng.normal(0, seed_sd, size=(seeds, 1))
        scores[lang] = level + base + offsets + rng.normal(0, question_sd, size=(seeds, n))
    return Arm(name, scores)


def _shared(rng):
    return {lang: rng.normal(0, 15, size=n) for lang, n in LANGS.items()}


def test_holm_matches_the_hand_computed_step_down():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert mde_factor(0.05) == pytest.approx(2.8016, abs=1e-3)
    assert mde_factor(0.05 / 6) == pytest.approx(3.4799, abs=1e-3)


def test_a_real_difference_is_found_and_no_difference_is_not():
    rng = np.random.default_rng(1)
    shared = _shared(rng)
    arms = {"a": _arm("a", rng, level=60, shared=shared), "b": _arm("b", rng, level=50, shared=shared),
            "c": _arm("c", rng, level=50, shared=shared)}
    big, null = run_contrasts(arms, [Contrast("X", ("a",), ("b",)), Contrast("Y", ("c",), ("b",))],
                              n_resamples=2000)
    assert big.verdict == "significant" and big.p == pytest.approx(1 / 2001) and big.ci95[0] > 5
    assert abs(null.estimate) < 2 and null.ci95[0] < 0 < null.ci95[1] and null.p_holm > 0.05
    assert null.p_holm == pytest.approx(min(1.0, null.p))  # Holm: the larger p is multiplied by 1


def test_seed_noise_widens_the_interval_that_v1_would_have_drawn_too_narrow():
    """Arms whose seeds differ by a few points: the two-level interval is wider than the interval of the
    same data with seeds averaged first (v1's method), which ignores how much another seed would move."""
    rng = np.random.default_rng(2)
    shared = _shared(rng)
    noisy = {n: _arm(n, rng, seed_sd=3.0, shared=shared) for n in ("a", "b")}
    averaged = {n: Arm(n, {lang: s.mean(axis=0, keepdims=True) for lang, s in arm.scores.items()})
                for n, arm in noisy.items()}
    two_level = run_contrasts(noisy, [Contrast("X", ("a",), ("b",))], n_resamples=3000)[0]
    one_level = run_contrasts(averaged, [Contrast("X", ("a",), ("b",))], n_resamples=3000)[0]
    assert two_level.estimate == pytest.approx(one_level.estimate)
    assert two_level.se > 1.5 * one_level.se


def test_equivalence_needs_a_narrow_interval_inside_the_bounds():
    rng = np.random.default_rng(3)
    shared = _shared(rng)
    many = {n: _arm(n, rng, seeds=5, question_sd=2.0, shared=shared) for n in ("a", "b")}
    few = {n: _arm(n, rng, seeds=2, question_sd=40.0, seed_sd=4.0, shared=shared) for n in ("a", "b")}
    tight = run_contrasts(many, [Contrast("X", ("a",), ("b",))], n_resamples=2000)[0]
    loose = run_contrasts(few, [Contrast("X", ("a",), ("b",))], n_resamples=2000)[0]
    assert tight.verdict == "equivalent" and -2 < tight.ci90[0] and tight.ci90[1] < 2
    assert loose.verdict == "unresolved" and loose.mde > 2


def test_languages_weigh_the_same_whatever_their_question_counts():
    arm = Arm("a", {"ar": np.full((1, 150), 80.0), "bn": np.full((1, 83), 20.0)})
    assert arm.macro() == pytest.approx(50.0)
    boots = bootstrap_macros({"a": arm}, n_resamples=50)["a"]
    assert np.allclose(boots, 50.0)


def test_draws_do_not_depend_on_the_order_the_arms_are_given_in():
    rng = np.random.default_rng(4)
    shared = _shared(rng)
    arms = {n: _arm(n, rng, seed_sd=2, shared=shared) for n in ("b0", "plus", "x")}
    reordered = {n: arms[n] for n in ("x", "plus", "b0")}
    c = [Contrast("X", ("x",), ("b0",))]
    assert run_contrasts(arms, c, n_resamples=500) == run_contrasts(reordered, c, n_resamples=500)


def test_effective_robustness_removes_what_clean_f1_explains():
    """Arm a is better clean and, through that alone, better under attack: its effective robustness
    difference is about zero while its raw adversarial difference is not."""
    rng = np.random.default_rng(5)
    shared = _shared(rng)
    clean = {"a": _arm("a", rng, level=60, shared=shared), "b": _arm("b", rng, level=50, shared=shared)}
    adv = {n: Arm(n, {lang: 0.8 * s + rng.normal(0, 3, size=s.shape) for lang, s in clean[n].scores.items()})
           for n in clean}
    raw = run_contrasts(adv, [Contrast("X", ("a",), ("b",))], n_resamples=1000)[0]
    eff = run_contrasts(residualised(adv, clean), [Contrast("X", ("a",), ("b",))], n_resamples=1000)[0]
    assert raw.estimate > 6 and abs(eff.estimate) < 1


def test_bad_input_is_one_line():
    rng = np.random.default_rng(6)
    a = _arm("a", rng)
    b = Arm("b", {lang: s[:, :10] for lang, s in a.scores.items()})
    with pytest.raises(XadvError, match="questions of the other arms"):
        run_contrasts({"a": a, "b": b}, [Contrast("X", ("a",), ("b",))])
    with pytest.raises(XadvError, match="no arm 'qa-en'"):
        run_contrasts({"a": a}, [Contrast("X", ("qa-en",), ("a",))])
    assert [c.id for c in REGISTERED] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert REGISTERED[4].label == "mean(en-qa, multi-qa, mixed-qa) - baseline-plus"


def test_flip_rate_is_taken_on_the_questions_every_seed_of_every_arm_gets_right():
    from xadv.experiments.contrasts import jointly_correct, run_flip_contrasts

    rng = np.random.default_rng(5)
    n = 400
    right = {name: Arm(name, {"sw": (rng.random((3, n)) < p).astype(float), "te": np.zeros((3, 7))})
             for name, p in (("a", 0.8), ("b", 0.8), ("c", 0.8))}
    # a flips 10 % of what it gets right, b 30 %; c flips everything: it is in no contrast below, so it must
    # not shrink the set or move the numbers
    flipped = {name: Arm(name, {"sw": 100 * (rng.random((3, n)) < p) * right[name].scores["sw"],
                                "te": np.zeros((3, 7))}) for name, p in (("a", 0.1), ("b", 0.3), ("c", 1.0))}
    c = Contrast("F", ("a",), ("b",))
    arms, sizes = jointly_correct(flipped, right, c)
    expected = np.all([right[k].scores["sw"].astype(bool).all(axis=0) for k in ("a", "b")], axis=0)
    assert sizes == {"sw": int(expected.sum()), "te": 0} and 50 < sizes["sw"] < 200
    assert sorted(arms) == ["a", "b"] and list(arms["a"].scores) == ["sw"]  # te has no such question: left out
    assert np.array_equal(arms["b"].scores["sw"], flipped["b"].scores["sw"][:, expected])
    [(result, sizes2)] = run_flip_contrasts(flipped, right, [c], n_resamples=2000)
    assert sizes2 == sizes
    assert result.estimate == pytest.approx(arms["a"].macro() - arms["b"].macro())
    assert -27 < result.estimate < -13  # 10 % - 30 %
    assert result.ci95[0] < result.estimate < result.ci95[1] < -5 and result.p < 0.01
    nobody = {k: Arm(k, {"sw": np.zeros((3, n)), "te": np.zeros((3, 7))}) for k in right}
    assert run_flip_contrasts(flipped, nobody, [c], n_resamples=100) == [(None, {"sw": 0, "te": 0})]
    with pytest.raises(XadvError, match="no arm 'z'"):
        jointly_correct(flipped, right, Contrast("G", ("a",), ("z",)))
