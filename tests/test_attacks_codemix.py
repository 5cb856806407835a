"""codemix on inflected words: stems find dictionary entries, whole words are replaced, coverage holds.

The coverage thresholds come from `benchmarks/codemix_coverage.py` (results/codemix_coverage.json):
on the first 200 TyDi dev questions, strength 0.2, seed 0, ko went 0.205 -> 0.155 unchanged (0.155 is
the share where no word is drawn at all) and te 0.56 -> 0.08.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_attacks_properties import tydi_rows

from attacks import get_attack
from attacks.codemix import _ko_lemma, load_lexicon, load_stem_index, stem_candidates, translate_word
from attacks.invariants import violations
from attacks.text import words
from xadv.data.squad import load_json, parse_squad

REPO = Path(__file__).resolve().parents[1]


def _first_rows(data_dir: Path, lang: str, n: int = 200) -> list[dict]:
    path = data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json"
    cols = parse_squad(load_json(path), path, lang)
    return [dict(zip(cols, vals)) for vals in zip(*cols.values())][:n]


# --------------------------------------------------------------------------- pure stemming


@pytest.mark.needs_data
def test_the_c_stemmers_are_used_and_stem_exactly_as_the_pure_python_snowball(data_dir):
    """PyStemmer (a dependency) makes the stem index 10-50x faster; it must give the very same stems as
    snowballstemmer's pure-Python classes, or codemix output would depend on what is installed."""
    import importlib

    import Stemmer

    from attacks.codemix import _SNOWBALL, _stemmer

    for lang, algorithm in _SNOWBALL.items():
        assert isinstance(_stemmer(lang), Stemmer.Stemmer), lang
        module = importlib.import_module(f"snowballstemmer.{algorithm}_stemmer")
        pure = next(getattr(module, n) for n in dir(module) if n.endswith("Stemmer") and n != "BaseStemmer")()
        sample = [w.casefold() for w in list(load_lexicon(str(data_dir / "dictionaries"), lang, True))[::25]]
        assert len(sample) > 500, lang
        assert _stemmer(lang).stemWords(sample) == [pure.stemWord(w) for w in sample], lang


def test_korean_predicates_go_back_to_their_lemma():
    assert _ko_lemma("가진") == "가지다"
    assert _ko_lemma("태어났") == "태어나다"
    assert _ko_lemma("열렸") == "열리다"
    assert _ko_lemma("abc") is None


def test_stem_candidates_keep_korean_endings_and_drop_others():
    assert ("무엇", "인가요") in stem_candidates("무엇인가요", "ko")
    assert ("사망", "했나요") in stem_candidates("사망했나요", "ko")
    assert ("태어나다", "") in stem_candidates("태어났나요", "ko")
    assert ("గ్రామము", "") in stem_candidates("గ్రామంలో", "te")  # modern -ం, dictionary -ము
    assert ("zaliwa", "") in stem_candidates("alizaliwa", "sw")
    assert ("مدينة", "") in stem_candidates("بالمدينة", "ar")
    assert all(kept == "" for lang, w in [("te", "గ్రామంలో"), ("bn", "দেশের"), ("sw", "mjini")]
               for _, kept in stem_candidates(w, lang))


def test_stem_candidates_are_deterministic_and_short_stems_are_refused():
    assert stem_candidates("గ్రామంలోని", "te") == stem_candidates("గ్రామంలోని", "te")
    assert stem_candidates("ni", "sw") == []  # never a stem of one letter


# --------------------------------------------------------------------------- on the real dictionaries

INFLECTED = [  # (lang, inflected word absent from both dictionaries, its translation)
    ("ko", "무엇인가요", "what인가요"),
    ("ko", "사망했나요", "death했나요"),
    ("ko", "태어났나요", "born"),
    ("te", "గ్రామంలో", "village"),
    ("te", "జిల్లాలో", "district"),
    ("bn", "নদীর", "river"),
    ("sw", "alizaliwa", "born"),
    ("sw", "mjini", "town"),
    ("fi", "kaupungissa", "cities"),
    ("ru", "городе", "city"),
    ("ar", "بالمدينة", "city"),
    ("id", "diceritakan", "story"),
]


@pytest.mark.needs_data
@pytest.mark.parametrize(("lang", "word", "want"), INFLECTED)
def test_an_inflected_word_finds_its_dictionary_stem(lang, word, want, data_dir):
    d = str(data_dir / "dictionaries")
    lexicon = load_lexicon(d, lang, True)
    assert word.casefold() not in lexicon
    assert translate_word(word, lexicon, lang, load_stem_index(d, lang)) == want


@pytest.mark.needs_data
def test_a_name_takes_no_snowball_match_with_a_common_word(data_dir):
    d = str(data_dir / "dictionaries")
    fi, stems = load_lexicon(d, "fi", True), load_stem_index(d, "fi")
    assert translate_word("Kurt", fi, "fi", stems, name_like=True) is None
    assert translate_word("Kurt", fi, "fi", stems) is not None  # what the guard prevents
    assert translate_word("Suomessa", fi, "fi", stems) == "Finland"  # sentence-initial


@pytest.mark.needs_data
def test_phrases_translate_single_words(data_dir):
    d = str(data_dir / "dictionaries")
    assert translate_word("ఎంత", load_lexicon(d, "te", True), "te") == "how much"
    assert translate_word("몇", load_lexicon(d, "ko", True), "ko") == "how many"


@pytest.mark.needs_data
@pytest.mark.parametrize(("lang", "threshold"), [("ko", 0.19), ("te", 0.15)])
def test_few_questions_are_left_unchanged(lang, threshold, data_dir):
    attack = get_attack("codemix", data_dir=str(data_dir))
    rows = _first_rows(data_dir, lang)
    unchanged = sum(attack.perturb(r, "question", 0.2, 0).example["question"] == r["question"] for r in rows)
    assert unchanged / len(rows) < threshold


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", ["ko", "te", "fi", "sw", "ar", "bn", "ru", "id"])
def test_whole_words_replaced_and_invariants_hold(lang, data_dir):
    attack = get_attack("codemix", data_dir=str(data_dir))
    edited = 0
    for row in tydi_rows(data_dir, lang, 12):
        for target, strength, seed in (("question", 1.0, 3), ("both", 0.3, 4)):
            r = attack.perturb(row, target, strength, seed)
            assert violations(attack, row, target, strength, seed, r) == []
            for e in r.edits:
                spans = {(w.start, w.end) for w in words(row[e.field])}
                assert (e.start, e.end) in spans, (e.old, e.new)
            edited += bool(r.edits)
    assert edited >= 12


@pytest.mark.needs_data
def test_codemix_output_is_identical_across_processes(data_dir):
    """The merged dictionaries, the stem index and the seeds depend on no hash order."""
    rows = [tydi_rows(data_dir, lang)[i] for lang in ("ko", "te", "fi", "sw") for i in (0, 5)]
    code = ("import json,sys\nfrom attacks import get_attack\nrows=json.loads(sys.stdin.read())\n"
            f"a=get_attack('codemix',data_dir={str(data_dir)!r})\n"
            "print(json.dumps([a.perturb(r,'both',0.5,5).to_dict() for r in rows],ensure_ascii=False))\n")
    env = dict(os.environ, PYTHONHASHSEED="4242", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(rows), capture_output=True,
                         text=True, env=env, check=True, cwd=REPO).stdout
    a = get_attack("codemix", data_dir=str(data_dir))
    here = json.dumps([a.perturb(r, "both", 0.5, 5).to_dict() for r in rows], ensure_ascii=False)
    assert out.strip() == here
