"""The language registry: TyDi's nine as before, the XQuAD/MLQA languages added, datasets derived from it."""

from __future__ import annotations

import pytest

from xadv.errors import XadvError
from xadv.langs import LANGUAGES, TYDI_ID_PREFIX, TYDI_LANGS, dataset_langs, language, unsupported


def test_tydi_langs_unchanged_and_registered():
    assert TYDI_LANGS == ("ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te")
    assert dataset_langs("tydiqa") == TYDI_LANGS
    assert set(TYDI_ID_PREFIX) == set(TYDI_LANGS)


def test_registry_covers_xquad_and_mlqa():
    assert dataset_langs("xquad") == tuple("ar de el en es hi ro ru th tr vi zh".split())
    assert dataset_langs("mlqa") == tuple("ar de en es hi vi zh".split())
    assert set(LANGUAGES) == set(TYDI_LANGS) | set(dataset_langs("xquad"))
    for code, lang in LANGUAGES.items():
        assert lang.code == code and lang.name and lang.scripts and lang.datasets


def test_scorer_rules_follow_mlqa_where_it_has_them():
    assert LANGUAGES["zh"].scorer.tokenize == "cjk_chars" and not LANGUAGES["zh"].spaced
    assert not LANGUAGES["th"].spaced and LANGUAGES["th"].scorer.tokenize == "whitespace"
    assert LANGUAGES["en"].scorer.articles == ("a", "an", "the")
    assert "das" in LANGUAGES["de"].scorer.articles and "los" in LANGUAGES["es"].scorer.articles
    assert "những" in LANGUAGES["vi"].scorer.articles
    assert LANGUAGES["ar"].scorer.article_prefix == "ال"  # xadv's TyDi rule, kept
    assert LANGUAGES["hi"].scorer.articles == ()


def test_unknown_code_is_one_line_and_refusals_share_one_wording():
    with pytest.raises(XadvError, match=r"^unknown language 'xx'; known: ar bn en"):
        language("xx")
    assert language("de").name == "German"
    assert unsupported("attack 'swap'", "de", ("en", "sw")) == (
        "attack 'swap' does not support language 'de' (supported: en sw)")
