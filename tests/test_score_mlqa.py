"""Multilingual scoring with the registry's per-language rules, checked against MLQA's official arithmetic.

MLQA's evaluation (mlqa_evaluation_v1.py) lower-cases, deletes Unicode punctuation, drops per-language
articles and splits Chinese into characters before the SQuAD token F1. The values here are worked out by
hand from those rules.
"""

from __future__ import annotations

import pytest

from xadv.score import GoldAnswers, score_predictions
from xadv.score.evaluate import unknown_language_warning
from xadv.score.normalize import cjk_tokens, normalize


def em_f1(pred: str, gold: str, lang: str | None, mode: str = "multilingual") -> tuple[float, float]:
    result = score_predictions(GoldAnswers.from_mapping({"q": [gold]}, langs={"q": lang} if lang else None),
                               {"q": pred}, mode=mode)
    return result.per_example()["q"]


def test_chinese_is_scored_per_character_as_mlqa():
    # MLQA: pred -> 9 characters (。 deleted), gold -> 4; overlap 4: P 4/9, R 1, F1 = 2PR/(P+R) = 8/13
    em, f1 = em_f1("赫尔辛基研习建筑学。", "赫尔辛基", "zh")
    assert em == 0.0 and f1 == pytest.approx(8 / 13, abs=1e-12) and round(f1, 3) == 0.615
    assert em_f1("赫尔辛基研习建筑学。", "赫尔辛基", "zh", mode="squad") == (0.0, 0.0)  # squad: unchanged
    assert em_f1("北京。", "北京", "zh") == (1.0, 1.0)


def test_mixed_segmentation():
    assert cjk_tokens("2008年北京 Olympic Games") == ["2008", "年", "北", "京", "Olympic", "Games"]
    assert normalize("《红楼梦》作者", "multilingual", "zh") == "红 楼 梦 作 者"
    assert normalize("《红楼梦》作者", "multilingual", "ja") == "红楼梦作者"  # no rules: left whole


@pytest.mark.parametrize(("lang", "pred", "gold"), [
    ("de", "die Hauptstadt", "Hauptstadt"),
    ("de", "Der Rhein", "rhein"),
    ("de", "eines Hauses", "Hauses"),
    ("es", "La Casa Blanca", "casa blanca"),
    ("es", "los Ángeles", "Ángeles"),
    ("vi", "những con mèo", "con mèo"),
    ("vi", "Thủ đô của Pháp", "Thủ đô Pháp"),
    ("en", "the Rhine", "Rhine"),
])
def test_articles_are_dropped_per_language(lang, pred, gold):
    assert em_f1(pred, gold, lang) == (1.0, 1.0)


def test_articles_belong_to_their_language_only():
    assert em_f1("die Hauptstadt", "Hauptstadt", "en")[0] == 0.0  # not a German article in English
    assert em_f1("the Rhine", "Rhine", "de")[0] == 0.0
    # whole words only: "dieser", "lasso" keep their letters
    assert normalize("dieser Dasein", "multilingual", "de") == "dieser dasein"
    assert normalize("lasso", "multilingual", "es") == "lasso"


def test_squad_mode_is_unchanged_for_new_languages():
    assert em_f1("die Hauptstadt", "Hauptstadt", "de", mode="squad") == (0.0, pytest.approx(2 / 3))
    assert normalize("La Casa", "squad", "es") == "la casa"


def test_unknown_language_is_said_in_one_line():
    gold = GoldAnswers.from_mapping({"a": ["Rhein"], "b": ["x"], "c": ["y"]}, langs={"b": "de", "c": "xx"})
    result = score_predictions(gold, {"a": "Rhein", "b": "x", "c": "y"}, mode="multilingual")
    assert result.unknown_langs == ("und", "xx")
    line = unknown_language_warning(result)
    assert line is not None and "\n" not in line
    assert line.startswith("2 of 3 questions have no known language (und, xx): scored with the "
                           "script-independent rules only")
    assert unknown_language_warning(result.subset(["b"])) is None
    assert unknown_language_warning(score_predictions(gold, {}, mode="squad")) is None  # no rules in squad


@pytest.mark.needs_data
def test_score_cli_language_comes_from_the_name_or_lang_never_the_file_name(data_dir, tmp_path):
    """The issue's case: one English XQuAD file must score the same whatever it is called."""
    import json
    import shutil

    from typer.testing import CliRunner

    import cli

    runner = CliRunner()
    src = data_dir / "xquad" / "xquad.en.json"
    renamed = tmp_path / "english_dev.json"
    shutil.copy(src, renamed)
    obj = json.loads(src.read_text(encoding="utf-8"))
    # predictions that differ from the gold by an article: "the X" for gold "X"
    preds = {qa["id"]: "the " + qa["answers"][0]["text"] for a in obj["data"] for p in a["paragraphs"]
             for qa in p["qas"]}
    (tmp_path / "pred.json").write_text(json.dumps(preds, ensure_ascii=False), encoding="utf-8")

    def run(*args):
        res = runner.invoke(cli.app, ["score", "--pred", str(tmp_path / "pred.json"), "--mode", "multilingual",
                                      "--bootstrap", "0", "--json", *args])
        return res, (json.loads(res.stdout) if res.exit_code == 0 else None)

    by_name, a = run("--gold", "xquad:en:test", "--data-dir", str(data_dir))
    as_file, b = run("--gold", str(renamed), "--lang", "en")
    plain, c = run("--gold", str(src))  # no language: und rules, said in one line
    assert a["exact_match"] == b["exact_match"] == 100.0 and a["by_lang"].keys() == {"en"}
    assert c["exact_match"] < 100.0 and c["by_lang"].keys() == {"und"}
    assert not by_name.stderr and not as_file.stderr
    assert plain.stderr.startswith("warning: 1190 of 1190 questions have no known language (und)")
    assert plain.stderr.count("\n") == 1
    bad = runner.invoke(cli.app, ["score", "--pred", str(tmp_path / "pred.json"), "--gold", str(src), "--lang", "xx"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: unknown language 'xx' for ")
