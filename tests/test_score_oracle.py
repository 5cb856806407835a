"""`squad` mode agrees with an independent re-expression of the official SQuAD v1.1 script.

The oracle (tests/reference/squad_v11.py) reads the raw TyDi JSON itself and walks it the way
the official script does; xadv goes through `GoldAnswers` / `score_predictions`. Agreement is
required to 1e-9, per example and in aggregate, on predictions built from the real dev files of
all nine languages: gold answers with noise, context spans, punctuation, articles, empty strings,
arbitrary Unicode, missing ids and ids the gold set does not know.
"""

from __future__ import annotations

import contextlib
import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import squad_v11 as oracle

from xadv.langs import TYDI_LANGS
from xadv.score import GoldAnswers, score_predictions
from xadv.score.normalize import normalize

TOL = 1e-9
NOISE_PUNCT = list(".,;:!?\"'()[]-–—«»।॥،؟؛“”…/%$") + [" the ", "The ", " a ", " An ", "  ", "\t", "\u00a0"]


@pytest.fixture(scope="module")
def tydi(data_dir):
    """{lang: (raw "data" list, [qa dicts with their paragraph context])} for the nine dev files."""
    out = {}
    for lang in TYDI_LANGS:
        data = oracle.load_dataset(data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json")
        qas = [(qa, paragraph["context"]) for article in data for paragraph in article["paragraphs"]
               for qa in paragraph["qas"]]
        out[lang] = (data, qas)
    return out


def gold_of(qas) -> GoldAnswers:
    return GoldAnswers.from_mapping({qa["id"]: [a["text"] for a in qa["answers"]] for qa, _ in qas})


def as_dataset(qas) -> list:
    return [{"title": "subset", "paragraphs": [{"context": ctx, "qas": [qa]} for qa, ctx in qas]}]


def run_oracle(data, predictions) -> tuple[dict, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        scores = oracle.evaluate(data, predictions)
    return scores, err.getvalue()


def noisy(rng: random.Random, text: str, context: str) -> str:
    """One random edit of the kind models and attacks produce."""
    choice = rng.randrange(9)
    if choice == 0:
        return text
    if choice == 1:
        return rng.choice(NOISE_PUNCT) + text + rng.choice(NOISE_PUNCT)
    if choice == 2:
        return text.upper() if rng.random() < 0.5 else text.swapcase()
    if choice == 3 and text:
        cut = rng.randrange(len(text))
        return text[:cut] if rng.random() < 0.5 else text[cut:]
    if choice == 4:
        start = rng.randrange(len(context))
        return context[start:start + rng.randrange(1, 80)]
    if choice == 5:
        pos = context.find(text)
        pos = max(pos, 0)
        return context[max(0, pos - rng.randrange(30)):pos + len(text) + rng.randrange(30)]
    if choice == 6:
        words = text.split()
        rng.shuffle(words)
        return " ".join(words + words[: rng.randrange(3)])
    if choice == 7:
        return ""
    return rng.choice(NOISE_PUNCT).join(text.split())


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", TYDI_LANGS)
def test_whole_dev_file_agrees_with_oracle(tydi, lang):
    """Every question of the file, one noisy prediction each, a few missing and a few unknown."""
    data, qas = tydi[lang]
    rng = random.Random(f"oracle-{lang}")
    predictions = {}
    for qa, context in qas:
        if rng.random() < 0.03:
            continue  # missing
        predictions[qa["id"]] = noisy(rng, rng.choice(qa["answers"])["text"], context)
    predictions[f"{lang}-not-a-gold-id"] = "whatever"
    expected, messages = run_oracle(data, predictions)
    result = score_predictions(gold_of(qas), predictions, mode="squad")
    assert result.exact_match == pytest.approx(expected["exact_match"], abs=TOL, rel=0)
    assert result.f1 == pytest.approx(expected["f1"], abs=TOL, rel=0)
    assert 0 < result.f1 < 100
    assert messages.count("Unanswered question") == len(result.missing) > 0
    assert result.unknown == (f"{lang}-not-a-gold-id",)
    per_example = result.per_example()
    for qa, _ in qas:
        golds = [a["text"] for a in qa["answers"]]
        pred = predictions.get(qa["id"])
        em, f1 = per_example[qa["id"]]
        if pred is None:
            assert (em, f1) == (0.0, 0.0)
        else:
            assert em == float(oracle.metric_max_over_ground_truths(oracle.exact_match_score, pred, golds))
            assert f1 == pytest.approx(
                oracle.metric_max_over_ground_truths(oracle.f1_score, pred, golds), abs=TOL, rel=0)


@st.composite
def prediction_sets(draw, tydi):
    lang = draw(st.sampled_from(TYDI_LANGS))
    _, qas = tydi[lang]
    picked = draw(st.lists(st.integers(0, len(qas) - 1), min_size=1, max_size=12, unique=True))
    subset = [qas[k] for k in picked]
    predictions = {}
    for qa, context in subset:
        kind = draw(st.sampled_from(["gold", "noisy", "span", "text", "empty", "missing"]))
        gold = draw(st.sampled_from([a["text"] for a in qa["answers"]]))
        if kind == "gold":
            predictions[qa["id"]] = gold
        elif kind == "noisy":
            predictions[qa["id"]] = noisy(random.Random(draw(st.integers(0, 2**32))), gold, context)
        elif kind == "span":
            start = draw(st.integers(0, len(context) - 1))
            predictions[qa["id"]] = context[start:start + draw(st.integers(0, 60))]
        elif kind == "text":
            predictions[qa["id"]] = draw(st.text(
                alphabet=st.sampled_from(list(gold + " .,the a«»।،") or [" "]), max_size=30))
        elif kind == "empty":
            predictions[qa["id"]] = ""
    if draw(st.booleans()):
        predictions[draw(st.text(min_size=1, max_size=8))] = draw(st.text(max_size=10))
    return subset, predictions


@pytest.mark.needs_data
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_predictions_agree_with_oracle(tydi, data):
    subset, predictions = data.draw(prediction_sets(tydi))
    expected, _ = run_oracle(as_dataset(subset), predictions)
    result = score_predictions(gold_of(subset), predictions, mode="squad")
    assert result.exact_match == pytest.approx(expected["exact_match"], abs=TOL, rel=0)
    assert result.f1 == pytest.approx(expected["f1"], abs=TOL, rel=0)
    assert result.n == len(subset)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text())
def test_normalisation_agrees_with_oracle_on_any_text(text):
    assert normalize(text, "squad") == oracle.normalize_answer(text)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127)))
def test_modes_agree_on_ascii_english(text):
    """multilingual mode is a superset of the official rule: identical on ASCII English."""
    assert normalize(text, "multilingual", "en") == normalize(text, "squad")


def test_official_edge_cases():
    """Empty prediction: F1 0, yet EM 1 against a gold that normalises to nothing (official)."""
    gold = GoldAnswers.from_mapping({"a": ["The"], "b": ["Helsinki"], "c": ["Oslo"]})
    result = score_predictions(gold, {"a": "", "b": ""}, mode="squad")
    assert result.per_example() == {"a": (1.0, 0.0), "b": (0.0, 0.0), "c": (0.0, 0.0)}
    assert result.missing == ("c",)
    expected, messages = run_oracle(
        [{"paragraphs": [{"context": "", "qas": [
            {"id": i, "answers": [{"text": t}]} for i, t in [("a", "The"), ("b", "Helsinki"), ("c", "Oslo")]
        ]}]}], {"a": "", "b": ""})
    assert (result.exact_match, result.f1) == (pytest.approx(expected["exact_match"]), expected["f1"])
    assert "Unanswered question c will receive score 0." in messages
