"""`mlqa` mode agrees with an independent re-expression of the official MLQA evaluation.

The oracle (tests/reference/mlqa_v1.py) reads the raw XQuAD JSON itself and walks it as
`mlqa_evaluation_v1.py` does, with the file's language as its `answer_language`; xadv goes through
`xadv.data.load_qa` / `GoldAnswers` / `score_predictions`. Agreement is required to 1e-9, per example
and in aggregate, for every XQuAD language the script covers (ar de en es hi vi zh), on predictions built
from the real test rows: exact answers, partial and overlapping context spans, punctuation-only and
article-only differences, empty strings, CJK mixed with Latin, Unicode punctuation, odd whitespace.
"""

from __future__ import annotations

import contextlib
import io
import json
import random

import pytest
from reference import mlqa_v1 as oracle

from xadv.errors import XadvError
from xadv.langs import LANGUAGES, dataset_langs
from xadv.score import MODES, GoldAnswers, score_predictions
from xadv.score.normalize import MLQA_LANGS, mlqa_refusal, normalize

TOL = 1e-9
MLQA_SCRIPT_LANGS = ("ar", "de", "en", "es", "hi", "vi", "zh")  # the script's WHITESPACE + MIXED lists
ARTICLES = {"en": ["the", "a", "An"], "es": ["la", "Los", "unas"], "de": ["die", "Des", "einem"],
            "vi": ["của", "Những", "cái"], "ar": ["ال", "وال"], "hi": ["एक"], "zh": ["的"]}
NOISE = list(".,;:!?\"'()[]-–—«»¿¡。、，《》「」・…“”‘’।؟،") + ["  ", "\t", "\u00a0", "\u3000", "\n"]


def run_oracle(data, predictions, lang) -> dict:
    with contextlib.redirect_stderr(io.StringIO()):
        return oracle.evaluate(data, predictions, lang)


def noisy(rng: random.Random, text: str, context: str, lang: str) -> str:
    """One edit of the kind a model or an attack produces."""
    choice = rng.randrange(11)
    if choice == 0:
        return text
    if choice == 1:  # punctuation only, inside and around
        return rng.choice(NOISE) + text + rng.choice(NOISE)
    if choice == 2:  # an article (or a word that looks like one) in front
        return rng.choice(ARTICLES[lang]) + rng.choice([" ", "", "\u00a0"]) + text
    if choice == 3:  # a partial or overlapping span of the context
        start = max(0, context.find(text) + rng.randint(-15, 15)) if text in context else rng.randrange(len(context))
        return context[start:start + rng.randint(1, 40)]
    if choice == 4:
        return rng.choice(["", " ", "。", "«»", "the", "\u200b"])
    if choice == 5:  # CJK mixed with Latin and digits
        return text + rng.choice([" 2008年", "北京 Olympic", "（Beijing）", "ＡＢＣ", "第3章"])
    if choice == 6:  # whitespace variants
        return rng.choice(["\u2009", "\u00a0", "\u3000", "  "]).join(text.split(" ")) + rng.choice(["", "\r\n"])
    if choice == 7:  # case
        return text.upper() if rng.random() < 0.5 else text.title()
    if choice == 8:  # half the answer
        return text[: max(1, len(text) // 2)]
    if choice == 9:  # invisible and compatibility characters (mlqa keeps them; multilingual would not)
        return text + rng.choice(["\u200b", "\u0640", "\ufb01", "²"])
    return text + " " + text  # repeated tokens


@pytest.fixture(scope="module")
def xquad(data_dir):
    """{lang: (raw "data" list, xadv's GoldAnswers via load_qa, [(qa, context)])} for the script's languages."""
    from xadv.data import load_qa

    out = {}
    for lang in MLQA_SCRIPT_LANGS:
        raw = oracle.load_dataset(data_dir / "xquad" / f"xquad.{lang}.json")
        qas = [(qa, p["context"]) for article in raw for p in article["paragraphs"] for qa in p["qas"]]
        out[lang] = (raw, GoldAnswers.from_dataset(load_qa(f"xquad:{lang}:test", data_dir=data_dir)), qas)
    return out


def test_mlqa_languages_are_the_scripts():
    assert "mlqa" in MODES
    assert sorted(MLQA_LANGS) == list(MLQA_SCRIPT_LANGS) == list(dataset_langs("mlqa"))
    assert LANGUAGES["ar"].mlqa is not None and LANGUAGES["ar"].mlqa.articles == r"\sال^|ال"
    assert LANGUAGES["zh"].mlqa is not None and LANGUAGES["zh"].mlqa.tokenize == "cjk_chars"


@pytest.mark.parametrize("lang", MLQA_SCRIPT_LANGS)
@pytest.mark.parametrize("text", [
    "«Der Rhein» — die Hauptstadt", "¿La Casa Blanca?", "Thủ đô của Pháp", "القاهرة، والكتاب؟",
    "《红楼梦》作者、曹雪芹。", "2008年北京 Olympic Games", "ＡＢＣ ﬁ km²", "a\u200bb \u0640", "“the”  end\u3000x",
    "", "।", "İstanbul ß Σ", "e\u0301 café",
])
def test_normalize_equals_the_script(lang, text):
    assert normalize(text, "mlqa", lang) == oracle.normalize_answer(text, lang)


def test_the_rules_differ_from_multilingual_where_the_script_does():
    assert normalize("القاهرة والكتاب", "mlqa", "ar") == "قاهرة و كتاب"  # ال anywhere, not a prefix rule
    assert normalize("ＡＢＣ", "mlqa", "en") == "ａｂｃ"  # no NFKC
    assert normalize("Straße", "mlqa", "de") == "straße"  # lower, not casefold
    assert normalize("«赫尔辛基»研习 Architecture、", "mlqa", "zh") == "赫 尔 辛 基 研 习 architecture"
    gold = GoldAnswers.from_mapping({"q": ["赫尔辛基"]}, langs={"q": "zh"})
    result = score_predictions(gold, {"q": "赫尔辛基研习建筑学。"}, mode="mlqa")
    assert result.per_example()["q"] == (0.0, pytest.approx(8 / 13, abs=1e-12))


@pytest.mark.parametrize("lang", ["ru", "el", "th", "tr", "ro", "bn", None, "und"])
def test_a_language_the_script_lacks_is_one_line_error(lang):
    why = mlqa_refusal(lang)
    assert why and "\n" not in why and "ar de en es hi vi zh" in why
    with pytest.raises(XadvError) as exc:
        normalize("x", "mlqa", lang)
    assert str(exc.value) == why
    gold = GoldAnswers.from_mapping({"a": ["x"], "b": ["y"]}, langs={"a": "de", **({"b": lang} if lang else {})})
    with pytest.raises(XadvError, match="mlqa"):
        score_predictions(gold, {"a": "x", "b": "y"}, mode="mlqa")
    if lang is not None:
        with pytest.raises(ValueError, match="Unknown Language"):  # the script refuses it too
            oracle.normalize_answer("x", lang)


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", MLQA_SCRIPT_LANGS)
def test_mlqa_mode_equals_the_official_script_on_xquad(xquad, lang):
    raw, gold, qas = xquad[lang]
    rng = random.Random(f"mlqa-{lang}")
    predictions = {}
    for qa, context in qas:
        if rng.random() < 0.03:
            continue  # unanswered: 0 in both, counted in the denominator
        predictions[qa["id"]] = noisy(rng, rng.choice(qa["answers"])["text"], context, lang)
    mine = score_predictions(gold, predictions, mode="mlqa")
    ref = run_oracle(raw, predictions, lang)
    assert abs(mine.exact_match - ref["exact_match"]) <= TOL and abs(mine.f1 - ref["f1"]) <= TOL
    assert 0 < ref["exact_match"] < 100 and 0 < ref["f1"] < 100
    per = mine.per_example()
    for qa, _ in qas:  # per example too: the oracle's metric functions on the same strings
        if qa["id"] not in predictions:
            assert per[qa["id"]] == (0.0, 0.0)
            continue
        golds = [a["text"] for a in qa["answers"]]
        em = oracle.metric_max_over_ground_truths(oracle.exact_match_score, predictions[qa["id"]], golds, lang)
        f1 = oracle.metric_max_over_ground_truths(oracle.f1_score, predictions[qa["id"]], golds, lang)
        assert abs(per[qa["id"]][0] - float(em)) <= TOL and abs(per[qa["id"]][1] - f1) <= TOL, qa["id"]


@pytest.mark.needs_data
def test_score_cli_mlqa_equals_the_official_script(xquad, data_dir, tmp_path):
    from typer.testing import CliRunner

    import cli

    raw, _, qas = xquad["zh"]
    rng = random.Random("mlqa-cli")
    predictions = {qa["id"]: noisy(rng, qa["answers"][0]["text"], context, "zh") for qa, context in qas}
    pred = tmp_path / "P.json"
    pred.write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli.app, ["score", "--gold", "xquad:zh:test", "--pred", str(pred), "--mode", "mlqa",
                                  "--data-dir", str(data_dir), "--bootstrap", "0", "--json"])
    assert res.exit_code == 0, res.output
    out, ref = json.loads(res.stdout), run_oracle(raw, predictions, "zh")
    assert out["mode"] == "mlqa" and not res.stderr
    assert abs(out["exact_match"] - ref["exact_match"]) <= TOL and abs(out["f1"] - ref["f1"]) <= TOL
    bad = runner.invoke(cli.app, ["score", "--gold", "xquad:ru:test", "--pred", str(pred), "--mode", "mlqa",
                                  "--data-dir", str(data_dir)])
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("error: --mode mlqa: the official MLQA evaluation has no rules for language 'ru'")



@pytest.mark.needs_data
def test_suites_and_sweep_plans_take_mlqa_and_refuse_languages_it_lacks(data_dir):
    """Suite `mode = "mlqa"`: a cell of a language the script lacks is refused with the one-line reason,
    up front in a sweep plan and by `run_attacks` (the same `cell_refusal`); the others run under mlqa."""
    from xadv.data import load_qa
    from xadv.runs.attack import cell_refusal
    from xadv.runs.plan import build_plan
    from xadv.runs.suite import EvalSuite

    rows = [r for lang in ("de", "ru") for r in list(load_qa(f"xquad:{lang}:test", data_dir))[:3]]
    suite = EvalSuite.build({"mode": "mlqa", "attacks": "keyboard", "langs": "de,ru"})
    assert suite.mode == "mlqa" and suite.cell_settings(0).mode == "mlqa"
    plan = build_plan(suite, rows, data_dir)
    assert [(c.lang, c.refused) for c in plan.cells] == [("de", ""), ("ru", mlqa_refusal("ru"))]
    assert cell_refusal((), "ru", "question", 0.2, "squad") == ""  # only mlqa refuses for its languages
    with pytest.raises(XadvError, match="unknown scorer mode 'mlqa2'"):
        EvalSuite.build({"mode": "mlqa2"})
