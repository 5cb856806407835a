"""Rules of the multilingual normalisation, and input checks of the scoring API."""

from __future__ import annotations

import string
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xadv.errors import DataError, XadvError
from xadv.score import GoldAnswers, normalize, score_predictions
from xadv.score.normalize import _multilingual_delete_table


def test_delete_table_is_punctuation_and_format_never_marks():
    table = _multilingual_delete_table()
    for cp in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(cp))
        if category[0] == "P" or category == "Cf":
            assert cp in table, hex(cp)
        elif category[0] == "M" or category[0] in "LN":
            assert cp not in table or chr(cp) == "\u0640", hex(cp)  # tatweel is Lm, deleted on purpose
    assert all(ord(ch) in table for ch in string.punctuation)


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("ঢাকা।", "bn", "ঢাকা"),                        # danda (Po)
    ("كيف؟ نعم، لا؛", "ar", "كيف نعم لا"),          # Arabic ? , ;
    ("«Москва» — столица", "ru", "москва столица"),   # guillemets, em dash
    ("Straße", "fi", "strasse"),                      # full case folding
    ("ＴｙＤｉ ２０２０", "id", "tydi 2020"),          # full-width -> ASCII by NFKC
    ("ﻻ", "ar", "لا"),                                # presentation form -> letters
    ("a\u200bb\u00adc", "sw", "abc"),                 # zero-width space, soft hyphen (Cf)
    ("\u200fمصر\u200e", "ar", "مصر"),                 # RLM / LRM bidi marks
    ("كتـــاب", "ar", "كتاب"),                        # tatweel
    ("The Nile, a river", "en", "nile river"),        # English articles
    ("The Nile", "fi", "the nile"),                   # ... only in English
    ("الكتاب والقلم ال الم", "ar", "كتاب والقلم ال الم"),  # ال prefix only with >= 2 letters left
    ("e\u200d\u0301", "fi", "é"),                      # deletion then NFC recomposes
    ("서울에서 1월", "ko", "서울에서 1월"),
    ("  many\t\nspaces\u00a0here ", None, "many spaces here"),
])
def test_multilingual_rules(text, lang, expected):
    assert normalize(text, "multilingual", lang) == expected


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(), st.sampled_from(["bn", "en", "fi", "id", "ko", "ru", "sw", "te", None]))
def test_multilingual_normalisation_is_idempotent(text, lang):
    once = normalize(text, "multilingual", lang)
    assert normalize(once, "multilingual", lang) == once


def test_unknown_mode():
    with pytest.raises(XadvError, match="unknown scoring mode 'strict'"):
        normalize("x", "strict")
    with pytest.raises(XadvError, match="unknown scoring mode"):
        score_predictions({"a": ["x"]}, {"a": "x"}, mode="strict")


def test_bad_gold_and_predictions():
    with pytest.raises(DataError, match="'q1' has no answer"):
        GoldAnswers.from_mapping({"q1": []})
    with pytest.raises(DataError, match="duplicate gold id 'q1'"):
        GoldAnswers(ids=("q1", "q1"), answers=(("a",), ("b",)), langs=(None, None))
    with pytest.raises(XadvError, match="prediction for 'q1' is int"):
        score_predictions({"q1": ["a"]}, {"q1": 3})


def test_languages_come_from_the_rows_or_the_tydi_prefix():
    gold = GoldAnswers.from_mapping({"arabic-1": ["الكتاب"], "x": ["The book"]}, langs={"x": "en"})
    assert gold.langs == ("ar", "en")
    result = score_predictions(gold, {"arabic-1": "كتاب", "x": "book"}, mode="multilingual")
    assert result.per_example() == {"arabic-1": (1.0, 1.0), "x": (1.0, 1.0)}
    assert result.by_lang() == {"ar": {"n": 1, "exact_match": 100.0, "f1": 100.0},
                                "en": {"n": 1, "exact_match": 100.0, "f1": 100.0}}


@pytest.mark.needs_data
def test_gold_from_the_data_layer_scores_100_in_both_modes(data_dir):
    from xadv.score.files import load_gold

    gold = load_gold("tydiqa:all:dev", data_dir)
    assert len(gold) == 5077 and set(gold.langs) == {"ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te"}
    for mode in ("squad", "multilingual"):
        # every gold answer (not just the first) as the prediction is an exact match
        for k in range(3):
            preds = {i: a[min(k, len(a) - 1)] for i, a in zip(gold.ids, gold.answers)}
            result = score_predictions(gold, preds, mode=mode)
            assert (result.exact_match, result.f1, result.missing) == (100.0, 100.0, ())
