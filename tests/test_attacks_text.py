"""attacks.text: segmentation, the edit engine and its offset map, validation helpers."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attacks.text import (
    CHOSEONG,
    JONGSEONG,
    JUNGSEONG,
    Edit,
    EditPlan,
    EditRefused,
    apply_edits,
    graphemes,
    hangul_join,
    hangul_split,
    orphan_marks,
    remap_answers,
    sentences,
    text_problems,
    word_script,
    words,
)


def _first_question(data_dir, lang: str) -> str:
    d = json.loads((data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json").read_text(encoding="utf-8"))
    return d["data"][0]["paragraphs"][0]["qas"][0]["question"]


# --------------------------------------------------------------------------- words / graphemes


@pytest.mark.needs_data
def test_bengali_words_keep_their_vowel_signs(data_dir):
    q = _first_question(data_dir, "bn")
    ws = words(q)
    # every whitespace-separated Bengali token is one word, with all its signs
    assert [w.text for w in ws] == [t for t in q.split() if any(c.isalpha() for c in t)]
    assert len(ws) == 15
    # what `\w`-based splitters (TextAttack) make of it: vowel signs break words into fragments
    assert len(re.findall(r"\w+", q)) > 2 * len(ws)
    assert "".join(w.text for w in ws) == "".join(t for t in q.split() if t != "?")
    for w in ws:
        assert not unicodedata.category(w.text[0]).startswith("M")


@pytest.mark.parametrize("text, expected", [
    ("Мирова́я война", ["Мирова́я", "война"]),  # stress accent stays in the word
    ("قُرْآنُ الكريم", ["قُرْآنُ", "الكريم"]),  # harakat stay
    ("한니발 바르카의 계급은?", ["한니발", "바르카의", "계급은"]),
    ("don't stop state-of-the-art", ["don't", "stop", "state-of-the-art"]),
    ("ক্\u200cষ ও", ["ক্\u200cষ", "ও"]),  # ZWNJ inside a word
])
def test_words_are_script_aware(text, expected):
    assert [w.text for w in words(text)] == expected


def test_graphemes_keep_conjuncts_and_signs():
    assert [g.text for g in graphemes("ক্ত্র কি")] == ["ক্ত্র", " ", "কি"]
    assert [g.text for g in graphemes("సముద్రాలు")] == ["స", "ము", "ద్రా", "లు"]


def test_word_script():
    assert word_script("Москва") == "Cyrillic"
    assert word_script("ভারত") == "Bengali"
    assert word_script("1999") == "Other"


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize("text, n", [
    ("এটি একটি। ওটা আরেকটি। শেষ", 3),
    ("ما هذا؟ هذا كتاب. نعم", 3),
    ("Se alkoi 15. toukokuuta 1990. Sitten loppui.", 2),  # Finnish ordinal is not a boundary
    ("J. R. R. Tolkien wrote it. He was British.", 2),  # initials are not boundaries
    ("It costs 3.5 dollars. Really? Yes!", 3),
    ("Hän syntyi vuonna 1900.[3] Hän kuoli 1990.", 2),  # citation marker stays with its sentence
    ("The U.S. Army left in 1945. St. Louis grew.", 2),  # dotted letters and titles are not boundaries
    ("It was Dr. Smith (No. 5) who came. Then i.e. Mr. Jones left.", 2),
    ("Это т.е. Москва. Да.", 2),
])
def test_sentences_split_script_aware(text, n):
    spans = sentences(text)
    assert len(spans) == n
    for s in spans:
        assert text[s.start : s.end] == s.text and s.text == s.text.strip()


# --------------------------------------------------------------------------- edits and offsets


def test_apply_edits_remaps_spans_around_insertions_at_their_boundaries():
    text = "abc ANSWER def"
    new, offsets = apply_edits(text, [Edit(4, 4, "X"), Edit(10, 10, "Y"), Edit(0, 3, "zz")],
                               protected=[(4, 10)])
    assert new == "zz XANSWERY def"
    assert new[offsets.map(4, "left") : offsets.map(10, "right")] == "ANSWER"


def test_edits_inside_a_protected_span_are_refused():
    text = "abc ANSWER def"
    with pytest.raises(EditRefused):
        apply_edits(text, [Edit(5, 5, "X")], protected=[(4, 10)])
    with pytest.raises(EditRefused):
        apply_edits(text, [Edit(2, 6, "")], protected=[(4, 10)])
    # an attack that says it edits answers may do so, and the answer text follows the edit
    new, offsets = apply_edits(text, [Edit(5, 6, "n")], protected=[(4, 10)], allow_protected=True)
    moved = remap_answers({"text": ["ANSWER"], "answer_start": [4]}, new, offsets, allow_changed=True)
    assert moved == {"text": ["AnSWER"], "answer_start": [4]}
    with pytest.raises(EditRefused):
        remap_answers({"text": ["ANSWER"], "answer_start": [4]}, new, offsets)


def test_overlapping_edits_are_refused():
    with pytest.raises(EditRefused):
        apply_edits("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    with pytest.raises(EditRefused):
        apply_edits("abcdef", [Edit(2, 2, "x"), Edit(2, 2, "y")])  # order would be ambiguous


def test_edit_plan_refuses_instead_of_raising():
    plan = EditPlan("abc ANSWER def", protected=[(4, 10)])
    assert plan.add(Edit(0, 3, "xyz"))
    assert not plan.add(Edit(1, 2, "q"))  # overlaps an accepted edit
    assert not plan.add(Edit(6, 7, "q"))  # inside the answer
    assert not plan.add(Edit(11, 14, "def"))  # a no-op
    assert not plan.add_all([Edit(11, 12, "D"), Edit(5, 5, "!")])  # all or nothing
    assert [e.new for e in plan.edits] == ["xyz"]
    assert plan.apply()[0] == "xyz ANSWER def"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 4), st.booleans()), max_size=25))
def test_edit_plan_accepts_exactly_what_a_check_against_every_edit_accepts(proposals):
    """EditPlan looks only at the sorted neighbours of a new edit; it must agree with the plain rule:
    accept when it overlaps no accepted edit (insertions and replacements mixed, groups rolled back)."""
    from attacks.text import _overlaps

    text = "abcdefghijklmnopqrst"  # long enough for every proposal below
    plan, accepted = EditPlan(text), []
    for k, (start, length, grouped) in enumerate(proposals):
        edit = Edit(start, start + length, f"<{k}>")
        if grouped:  # a pair added atomically: the second half may make the group roll back
            partner = Edit(start + length, start + length + 1, f"[{k}]")
            ok = all(not _overlaps(e, a) for e in (edit, partner) for a in accepted) and not _overlaps(edit, partner)
            assert plan.add_all([edit, partner]) == ok
            accepted += [edit, partner] if ok else []
        else:
            ok = not any(_overlaps(edit, a) for a in accepted)
            assert plan.add(edit) == ok
            accepted += [edit] if ok else []
        assert plan.edits == sorted(accepted, key=lambda e: (e.start, e.end))
    assert plan.apply()[0] == apply_edits(text, accepted)[0]


@st.composite
def _text_and_edits(draw):
    text = draw(st.text(alphabet="ab cd", min_size=0, max_size=30))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    edits, pos = [], 0
    for i in range(0, len(cuts) - 1, 2):
        s, e = max(cuts[i], pos), cuts[i + 1]
        if s <= e and (s < e or not edits or edits[-1].end < s):
            edits.append(Edit(s, e, draw(st.text(alphabet="XY", max_size=3))))
            pos = e + (1 if s == e else 0)
    return text, edits


@settings(max_examples=200, deadline=None)
@given(_text_and_edits(), st.data())
def test_offset_map_is_monotone_and_keeps_untouched_spans(case, data):
    text, edits = case
    new, offsets = apply_edits(text, edits)
    positions = list(range(len(text) + 1))
    mapped = [offsets.map(p) for p in positions]
    assert mapped == sorted(mapped) and all(0 <= m <= len(new) for m in mapped)
    # any span that no edit touches reads the same in the new text
    s = data.draw(st.integers(0, len(text)))
    e = data.draw(st.integers(s, len(text)))
    touched = any((ed.start < e and s < ed.end) or (s < ed.start < e) for ed in edits)
    if not touched and s < e:
        assert new[offsets.map(s, "left") : offsets.map(e, "right")] == text[s:e]


# --------------------------------------------------------------------------- validation


def test_orphan_marks_found_and_standard_spellings_allowed():
    assert orphan_marks("ভারত") == []
    assert orphan_marks("অ্যাপল") == []  # অ্যা is standard Bengali
    assert orphan_marks("র\u200d্যাব") == []  # ZWJ before virama
    assert orphan_marks("কো") == [] and orphan_marks("ক\u09c7\u09be") == []  # two-part sign
    assert orphan_marks(" \u09bfক") == [1]  # vowel sign after a space
    assert orphan_marks("কি\u09bf") == [2]  # vowel sign after a vowel sign
    assert orphan_marks("অি") == [1]  # vowel sign on an independent vowel
    assert orphan_marks("\u064eكتب") == [0]  # a haraka at the start


def test_text_problems_only_counts_what_the_edit_introduced():
    assert text_problems("কিতাব", "কিতাব") == []
    assert text_problems("কিতাব", "িকতাব")  # new orphan
    assert text_problems("Mikä", "Mika\u0308")  # NFC lost
    assert text_problems("Mikä", "Mika\u0308", expect_nfc=False) == []
    assert text_problems("a", "a\ud800")  # lone surrogate is not UTF-8


def test_hangul_split_join_round_trips_every_syllable():
    for cp in range(0xAC00, 0xD7A4):
        parts = hangul_split(chr(cp))
        assert hangul_join(*parts) == chr(cp)
    assert hangul_split("한") == ("ㅎ", "ㅏ", "ㄴ")
    assert hangul_join("ㄳ", "ㅏ") is None  # ㄳ cannot start a syllable
    assert len(CHOSEONG) == 19 and len(JUNGSEONG) == 21 and len(JONGSEONG) == 28
