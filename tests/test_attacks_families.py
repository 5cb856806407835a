"""Per-family behaviour: each family edits what it says, in the script it says, and refuses clearly."""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter

import pytest
from test_attacks_properties import tydi_rows

from attacks import compose, get_attack, list_attacks
from attacks.alphabets import char_class, letters
from attacks.codemix import load_lexicon, translate_word
from attacks.distractor import answer_kind, distractor_sentence, fake_answers
from attacks.homoglyph import lookalikes
from attacks.keyboard import typo_in_word
from attacks.layouts import neighbours
from attacks.noise import noise_in_word
from attacks.normalization import strip_diacritics
from attacks.text import (
    JOINERS,
    char_script,
    graphemes,
    hangul_split,
    is_hangul_syllable,
    orphan_marks,
    sentences,
    words,
)
from xadv.errors import XadvError


def _example(context: str, question: str, answer: str, lang: str = "en", ex_id: str = "english-1") -> dict:
    return {"id": ex_id, "lang": lang, "title": "t", "context": context, "question": question,
            "answers": {"text": [answer], "answer_start": [context.index(answer)]}}


def _word_edits(fn, text: str, lang: str, seeds=range(60)):
    """(word, edit) pairs from applying `fn` to every word of `text` under many seeds."""
    out = []
    for w in words(text):
        for seed in seeds:
            edits = fn(w, lang, random.Random(seed))
            if edits:
                out.append((w, edits))
    return out


# --------------------------------------------------------------------------- keyboard


def test_layout_neighbours_follow_the_geometry():
    assert set(neighbours("qwerty", "a")) >= {"q", "w", "s", "z"}
    assert "p" not in neighbours("qwerty", "a")
    assert {"й", "ц", "ы", "я"} <= set(neighbours("jcuken", "ф"))
    assert {"ö", "ä", "p", "å"} & set(neighbours("finnish", "ä"))
    assert "ㄲ" in neighbours("dubeolsik", "ㄱ")  # the slipped shift key


def test_russian_typo_yields_cyrillic_neighbours():
    text = "Когда появился термин правовое государство"
    pairs = _word_edits(typo_in_word, text, "ru")
    assert pairs
    for w, edits in pairs:
        (e,) = edits
        old = w.text[e.start - w.start : e.end - w.start]
        assert all(char_script(c) == "Cyrillic" for c in e.new)
        if e.kind == "keyboard:substitute":
            assert e.new in neighbours("jcuken", old)
            assert e.new.isupper() == old.isupper()
        else:
            assert old in e.new and len(e.new) == 2


def test_korean_typo_stays_a_valid_hangul_syllable_one_jamo_away():
    text = "한니발 바르카의 최종 계급은 무엇인가요"
    pairs = _word_edits(typo_in_word, text, "ko")
    assert len({e[0].new for _, e in pairs}) > 20
    for w, (e,) in pairs:
        old = w.text[e.start - w.start : e.end - w.start]
        assert len(e.new) == 1 and is_hangul_syllable(e.new)
        assert sum(a != b for a, b in zip(hangul_split(old), hangul_split(e.new))) == 1


@pytest.mark.parametrize("lang, text", [
    ("bn", "পশ্চিম ভারতের মহারাষ্ট্র রাজ্যের মুম্বাই শহরে নির্মিত"),
    ("te", "మహా సముద్రాలు ఎన్ని ఉన్నాయి"),
])
def test_indic_typo_keeps_the_class_of_the_key(lang, text):
    pairs = _word_edits(typo_in_word, text, lang)
    assert pairs
    for w, (e,) in pairs:
        old = w.text[e.start - w.start : e.end - w.start]
        new_word = w.text[: e.start - w.start] + e.new + w.text[e.end - w.start :]
        assert orphan_marks(new_word) == []
        assert all(char_script(c) == char_script(old[0]) for c in e.new)
        if len(e.new) == len(old):
            assert char_class(e.new[0]) == char_class(old[0])


def test_latin_word_in_korean_text_is_typed_on_qwerty():
    (e,) = typo_in_word(words("Seoul")[0], "ko", random.Random(1))
    assert all(char_script(c) == "Latin" for c in e.new)


# --------------------------------------------------------------------------- character noise


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", ["bn", "te", "ar", "ru", "ko", "fi"])
def test_noise_never_leaves_dangling_signs_nor_foreign_letters(lang, data_dir):
    row = tydi_rows(data_dir, lang)[0]
    for w, edits in _word_edits(noise_in_word, row["question"], lang, seeds=range(25)):
        (e,) = edits
        new_word = w.text[: e.start - w.start] + e.new + w.text[e.end - w.start :]
        assert len(orphan_marks(new_word)) == 0, (w.text, new_word)
        home = {char_script(c) for c in w.text if c.isalpha()}
        assert {char_script(c) for c in e.new if c.isalpha()} <= home, (w.text, e.new)
        assert not any("a" <= c.lower() <= "z" for c in e.new) or home == {"Latin"}
        script = char_script(w.text[0])
        if script in ("Bengali", "Telugu"):  # new base letters are standard consonants
            assert all(c in letters(script, lang) for c in e.new if c not in w.text and char_class(c) == "consonant")
        if lang == "ko":
            assert all(is_hangul_syllable(c) for c in new_word)


def test_noise_ops_do_what_they_say():
    w = words("मंदिर स्थापत्यटिर")[1]  # a Devanagari word: an unknown script is left alone
    assert noise_in_word(w, "bn", random.Random(0)) is None
    word = words("স্থাপত্যটির")[0]
    clusters = [g.text for g in graphemes(word.text)]
    for op in ("delete", "swap", "substitute", "insert"):
        (e,) = noise_in_word(word, "bn", random.Random(3), ops=(op,))
        assert e.kind == f"noise:{op}"
        new = word.text[: e.start] + e.new + word.text[e.end :]
        new_clusters = [g.text for g in graphemes(new)]
        if op == "delete":
            assert len(new_clusters) == len(clusters) - 1
        if op == "swap":
            assert Counter(new_clusters) == Counter(clusters)
        if op == "insert":
            assert len(new_clusters) == len(clusters) + 1


# --------------------------------------------------------------------------- homoglyph / invisible / normalization


def test_homoglyphs_are_cross_script_lookalikes():
    assert "а" in lookalikes("a") and "о" in lookalikes("o")  # Cyrillic
    assert "p" in lookalikes("р")  # Latin for Cyrillic er
    assert "ಲ" in lookalikes("ల")  # Kannada for Telugu
    ex = _example("Apple was founded by Steve Jobs in a garage.", "Who founded Apple?", "Steve Jobs")
    r = get_attack("homoglyph").perturb(ex, "question", 1.0, 0)
    assert r.example["question"] != ex["question"]
    for e in r.edits:
        assert char_script(e.new) in ("Cyrillic", "Greek") and char_script(e.old) == "Latin"


def test_arabic_homoglyphs_use_persian_letter_forms_only_where_identical():
    ex = _example("كتب علي كتابا في المكتبة الكبيرة.", "ماذا كتب علي في المكتبة؟", "كتابا", "ar", "arabic-1")
    r = get_attack("homoglyph").perturb(ex, "question", 1.0, 2)
    assert r.edits
    for e in r.edits:
        assert (e.old, e.new) in {("ي", "ی"), ("ى", "ی"), ("ك", "ک")}


def test_invisible_characters_are_the_only_change():
    ex = _example("Nairobi ni mji mkuu wa Kenya tangu mwaka 1963.", "Mji mkuu wa Kenya ni upi?", "Nairobi",
                  "sw", "swahili-1")
    r = get_attack("invisible").perturb(ex, "both", 1.0, 4)
    for f in ("question", "context"):
        assert r.example[f] != ex[f]
        assert "".join(c for c in r.example[f] if c not in JOINERS) == ex[f]


def test_nfd_looks_identical_and_korean_becomes_jamo():
    ex = _example("Helsinki on Suomen pääkaupunki ja suurin kaupunki.", "Mikä on Suomen pääkaupunki?",
                  "Helsinki", "fi", "finnish-1")
    r = get_attack("nfd").perturb(ex, "question", 1.0, 0)
    assert r.example["question"] != ex["question"]
    assert unicodedata.normalize("NFC", r.example["question"]) == ex["question"]
    ko = _example("서울은 한국의 수도이다.", "한국의 수도는 어디인가?", "서울", "ko", "korean-1")
    out = get_attack("nfd").perturb(ko, "question", 1.0, 0).example["question"]
    assert any(0x1100 <= ord(c) <= 0x11FF for c in out)


def test_diacritics_are_stripped_per_language():
    assert strip_diacritics("pääkaupunki", "fi") == "paakaupunki"
    assert strip_diacritics("Ёлка", "ru") == "Елка"
    assert strip_diacritics("госуда́рство", "ru") == "государство"
    assert strip_diacritics("أَحْمَد", "ar") == "احمد"
    assert strip_diacritics("Helsinki", "ru") == "Helsinki"  # other script: untouched


@pytest.mark.needs_data
@pytest.mark.parametrize("name, lang", [("homoglyph", "ko"), ("nfd", "en"), ("nfd", "sw"),
                                        ("diacritics", "bn"), ("diacritics", "id"), ("codemix", "en")])
def test_unsupported_languages_are_refused_in_one_line(name, lang, data_dir):
    row = tydi_rows(data_dir, lang)[0]
    with pytest.raises(XadvError) as err:
        get_attack(name).perturb(row, "question", 0.2, 0)
    msg = str(err.value)
    assert "\n" not in msg and name in msg and repr(lang) in msg


# --------------------------------------------------------------------------- words and sentences


def test_word_delete_removes_words_and_their_space():
    ex = _example("The tower was built in 1889 by Gustave Eiffel for the fair.", "When was it built?", "1889")
    r = get_attack("word-delete").perturb(ex, "context", 0.5, 1)
    ctx = r.example["context"]
    assert "  " not in ctx and "1889" in ctx
    assert len(words(ctx)) == len(words(ex["context"])) - sum(e.kind == "word:delete" for e in r.edits)


@pytest.mark.needs_data
def test_word_swap_keeps_the_multiset_of_words(data_dir):
    for lang in ("ko", "te", "ar"):
        row = max(tydi_rows(data_dir, lang)[:3], key=lambda r: len(r["context"]))
        r = get_attack("word-swap").perturb(row, "context", 0.4, 2)
        assert r.edits
        assert Counter(w.text for w in words(r.example["context"])) == Counter(w.text for w in words(row["context"]))


@pytest.mark.needs_data
def test_sentence_reorder_moves_only_sentences_without_answers(data_dir):
    for lang in ("bn", "fi", "ar"):
        for row in tydi_rows(data_dir, lang)[:6]:
            r = get_attack("sentence-reorder").perturb(row, "context", 1.0, 5)
            before, after = sentences(row["context"]), sentences(r.example["context"])
            assert Counter(s.text for s in before) == Counter(s.text for s in after)
            spans = [(s, s + len(t)) for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])]
            for i, s in enumerate(before):
                if any(s.start < e and a < s.end for a, e in spans):
                    assert after[i].text == s.text  # answer sentences keep their slot


# --------------------------------------------------------------------------- code-mixing


@pytest.mark.needs_data
def test_codemix_replaces_words_by_dictionary_translations(data_dir):
    d = str(data_dir / "dictionaries")
    lex = load_lexicon(d, "ko", True)
    assert translate_word("서울에서", lex, "ko") == f"{lex['서울']}에서"  # particle kept
    row = tydi_rows(data_dir, "ru")[0]
    r = get_attack("codemix", data_dir=str(data_dir)).perturb(row, "question", 1.0, 0)
    ru = load_lexicon(d, "ru", True)
    assert r.edits
    for e in r.edits:
        assert char_script(e.new[0]) == "Latin" and ru[e.old.casefold()].casefold() == e.new.casefold()


@pytest.mark.needs_data
def test_codemix_into_a_partner_language_for_english(data_dir):
    row = tydi_rows(data_dir, "en")[2]
    r = get_attack("codemix", data_dir=str(data_dir), partner="te").perturb(row, "both", 0.5, 1)
    assert r.edits and all(char_script(e.new[0]) == "Telugu" for e in r.edits)
    with pytest.raises(XadvError, match="partner"):
        get_attack("codemix", data_dir=str(data_dir), partner="fr").perturb(row, "question", 0.5, 1)


@pytest.mark.needs_data
def test_codemix_reports_a_missing_dictionary(tmp_path, data_dir):
    row = tydi_rows(data_dir, "sw")[0]
    with pytest.raises(XadvError, match="no dictionary for en-sw"):
        get_attack("codemix", data_dir=str(tmp_path)).perturb(row, "question", 0.5, 1)


# --------------------------------------------------------------------------- distractor


@pytest.mark.parametrize("answer, lang, kind", [
    ("1889", "en", "number"), ("১৯১১ সালের ৩১শে মার্চ", "bn", "date"), ("31. maaliskuuta 1990", "fi", "date"),
    ("Gustave Eiffel", "en", "name"), ("a wrought-iron lattice tower", "en", "other"),
])
def test_answer_kinds(answer, lang, kind):
    assert answer_kind(answer, lang) == kind


def test_distractor_fakes_keep_the_kind_and_the_digit_script():
    ex = _example("গেটওয়েটি ১৯১১ সালে নির্মিত হয়। এটি মুম্বাই শহরে অবস্থিত। এটি খুব বিখ্যাত।",
                  "গেটওয়েটি কবে নির্মিত হয় ?", "১৯১১", "bn", "bengali-1")
    fakes = fake_answers(ex, "bn", random.Random(0))
    assert fakes[0] != "১৯১১" and len(fakes[0]) == 4
    assert all(char_script(c) == "Bengali" or c.isdigit() for c in fakes[0])
    assert all(unicodedata.digit(c) >= 0 for c in fakes[0])
    assert distractor_sentence(ex["question"], fakes[0], "bn") == f"গেটওয়েটি {fakes[0]} নির্মিত হয়।"


@pytest.mark.needs_data
def test_distractor_conflict_is_inserted_between_sentences_outside_the_answer_sentence(data_dir):
    for lang in ("en", "ru", "te", "ko"):
        for row in tydi_rows(data_dir, lang)[:6]:
            if len(words(row["context"])) < 2 * len(words(" ".join(row["answers"]["text"]))):
                continue  # the context is (almost) all answer: nothing to build a fake from
            r = get_attack("distractor-conflict").perturb(row, "context", 0.01, 3)
            (e,) = [e for e in r.edits]
            assert e.start == e.end  # an insertion ...
            bounds = {s.start for s in sentences(row["context"])} | {len(row["context"])}
            assert e.start in bounds  # ... at a sentence boundary
            q = row["question"].casefold()
            assert not any(e.new.casefold().count(g.casefold()) > q.count(g.casefold())
                           for g in row["answers"]["text"])


def test_english_distractor_conflict_example():
    """distractor-conflict states the SAME question with a fake answer (the old `distractor`)."""
    ex = _example("The Eiffel Tower was built in 1889. It is in Paris. It is tall.",
                  "When was the Eiffel Tower built?", "1889")
    r = get_attack("distractor-conflict").perturb(ex, "context", 0.3, 0)
    (e,) = r.edits
    assert e.new.strip().endswith("was the Eiffel Tower built.")
    assert e.new.strip()[:2] == "18"  # a year keeps its century


# --------------------------------------------------------------------------- registry and composition


def test_registry_lists_every_family_with_its_languages():
    names = [a.name for a in list_attacks()]
    for n in ("keyboard", "char-noise", "char-insert", "char-delete", "char-swap", "char-substitute",
              "homoglyph", "invisible", "nfd", "diacritics", "word-delete", "word-swap",
              "sentence-reorder", "codemix", "distractor", "distractor-conflict"):
        assert n in names
    info = get_attack("keyboard").describe()
    # TyDi's nine, then the XQuAD languages (zh: pinyin-IME homophone slips)
    assert info["languages"] == ["ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te",
                                 "de", "el", "es", "hi", "ro", "th", "tr", "vi", "zh"]
    assert info["params"] == {"insert_prob": 0.2}


def test_registry_errors_are_one_line():
    with pytest.raises(XadvError, match="unknown attack 'typos'"):
        get_attack("typos")
    assert get_attack("typo") is get_attack("keyboard")  # the documented alias
    with pytest.raises(XadvError, match="no parameter 'speed'"):
        get_attack("keyboard", speed=3)
    ex = _example("A b c.", "What?", "b")
    with pytest.raises(XadvError, match="cannot edit the question"):
        get_attack("distractor").perturb(ex, "question", 0.1, 0)
    with pytest.raises(XadvError, match="strength"):
        get_attack("keyboard").perturb(ex, "context", 1.5, 0)
    with pytest.raises(XadvError, match="unknown target"):
        get_attack("keyboard").perturb(ex, "title", 0.5, 0)
    bad = dict(ex, answers={"text": ["b"], "answer_start": [0]})
    with pytest.raises(XadvError, match="english-1: answer 'b' is not at offset 0"):
        get_attack("keyboard").perturb(bad, "context", 0.5, 0)


@pytest.mark.needs_data
def test_composition_passes_parameters_to_the_steps_that_have_them(data_dir):
    a = get_attack("codemix+keyboard", data_dir=str(data_dir), insert_prob=0.0)
    assert a.steps[0].data_dir == str(data_dir) and a.steps[1].insert_prob == 0.0
    with pytest.raises(XadvError, match="no step of 'codemix\\+keyboard' has a parameter 'speed'"):
        get_attack("codemix+keyboard", speed=1)
    json.dumps(a.describe())  # describable for the CLI


def test_compose_intersects_languages_and_targets():
    c = compose(["homoglyph", "sentence-reorder"])
    assert "ko" not in c.languages and c.targets == ("context",)
    assert c.name == "homoglyph+sentence-reorder"
    assert get_attack("homoglyph+sentence-reorder").describe()["languages"] == list(c.languages)
