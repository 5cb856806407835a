"""QA goals of the adversarial search (pure: no TextAttack, no model)."""

from __future__ import annotations

import math

import pytest

from attacks.search.goals import Goal, parse_goal, squash
from xadv.errors import XadvError


def test_parse_goal_names_round_trip():
    assert parse_goal("em-flip") == Goal("em-flip")
    assert parse_goal("F1-below:0.5") == Goal("f1-below", 0.5)
    assert parse_goal("f1-zero").name == "f1-zero"
    assert parse_goal("f1-below:0.25").name == "f1-below:0.25"


@pytest.mark.parametrize("spec", ["flip", "f1-below", "f1-below:x", "f1-below:0", "f1-below:1.5",
                                  "em-flip:1", "f1-zero:0.2", ""])
def test_parse_goal_rejects_bad_specs_with_one_line(spec):
    with pytest.raises(XadvError) as exc:
        parse_goal(spec)
    assert "\n" not in str(exc.value) and "goal" in str(exc.value)


@pytest.mark.parametrize("goal, clean, adv, right, met", [
    # (EM, F1) pairs: "right" on clean input, "met" on the adversarial one
    ("em-flip", (1, 1.0), (0, 0.8), True, True),      # a partial answer is an EM flip
    ("em-flip", (0, 0.8), (0, 0.0), False, True),     # wrong on clean: nothing to flip (skipped)
    ("em-flip", (1, 1.0), (1, 1.0), True, False),
    ("f1-below:0.5", (0, 0.6), (0, 0.4), True, True),
    ("f1-below:0.5", (0, 0.5), (0, 0.5), True, False),  # the threshold itself is still right
    ("f1-below:0.5", (0, 0.4), (0, 0.0), False, True),
    ("f1-zero", (1, 1.0), (0, 0.2), True, False),     # strict: any shared token is no success
    ("f1-zero", (1, 1.0), (0, 0.0), True, True),
    ("f1-zero", (0, 0.0), (0, 0.0), False, True),
])
def test_right_and_met(goal, clean, adv, right, met):
    g = parse_goal(goal)
    assert g.right(*clean) is right
    assert g.met(*adv) is met


def test_score_puts_every_success_above_every_failure_and_guidance_orders_within():
    g = parse_goal("em-flip")
    worst_success = g.score(0, 1.0, logprob_drop=-math.inf, guided=True)  # EM 0 with F1 1 can happen
    best_failure = g.score(1, 1.0, logprob_drop=float("inf"), guided=True)
    assert worst_success > best_failure
    # unguided, F1/EM are flat until the answer changes; guided, a larger gold log-prob drop scores higher
    assert g.score(1, 1.0, 0.5, guided=False) == g.score(1, 1.0, 3.0, guided=False)
    assert g.score(1, 1.0, 3.0, guided=True) > g.score(1, 1.0, 0.5, guided=True) > g.score(1, 1.0, -0.5, guided=True)
    assert g.score(1, 1.0, None, guided=True) == g.score(1, 1.0, 0.0, guided=True)


def test_squash_is_bounded_and_monotone():
    xs = [-math.inf, -100.0, -1.0, 0.0, 0.5, 2.0, 100.0, math.inf]
    ys = [squash(x) for x in xs]
    assert ys == sorted(ys) and all(-1 <= y <= 1 for y in ys)
    assert squash(0.0) == 0.0


def test_compare_criterion_matches_goal():
    from xadv.score import GoldAnswers, compare, score_predictions

    gold = GoldAnswers.from_mapping({"swahili-1": ["Dar es Salaam"], "swahili-2": ["1961"]})
    clean = score_predictions(gold, {"swahili-1": "Dar es Salaam", "swahili-2": "1961"})
    adv = score_predictions(gold, {"swahili-1": "Salaam", "swahili-2": "mwaka"})
    for spec, flipped in (("em-flip", 2), ("f1-below:0.5", 1), ("f1-zero", 1)):
        g = parse_goal(spec)
        c = compare(clean, adv, criterion=g.criterion, n_resamples=0)
        per = [g.right(e, f) and g.met(ea, fa) for (e, f), (ea, fa) in
               zip(clean.per_example().values(), adv.per_example().values())]
        assert c.asr_successes == sum(per) == flipped
