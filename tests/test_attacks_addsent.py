"""AddSent (`distractor`): the question is mutated before it is stated, so the inserted sentence answers
another question; whole-token edits, valid dates, no gold answer, hash-order free. `distractor-conflict`
keeps the old behaviour with the same token and date fixes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from test_attacks_properties import tydi_rows

from attacks import get_attack
from attacks.distractor import QUESTION_WORDS, addsent_statement, distractor_sentence
from attacks.fakes import DAYS_IN_MONTH, answer_kind, date_edits, fake_answers, int_of, month_of, number_edits
from attacks.invariants import violations
from attacks.mutate import mutate_question
from attacks.spec import AttackSpec
from attacks.text import apply_edits, words
from xadv.langs import TYDI_LANGS
from xadv.runs.record import CellKey

REPO = Path(__file__).resolve().parents[1]


def _ex(context: str, question: str, answer: str, lang: str = "en", ex_id: str = "english-1", title: str = "t"):
    return {"id": ex_id, "lang": lang, "title": title, "context": context, "question": question,
            "answers": {"text": [answer], "answer_start": [context.index(answer)]}}


def _dates_valid(text: str, lang: str) -> bool:
    """Every day number next to a month word fits that month."""
    ws = words(text)
    for i, w in enumerate(ws):
        mf = month_of(w.text, lang)
        if mf is None:
            continue
        # the day: the number before the month (31 March, 31 марта), or after it in English (March 31)
        days = ws[i - 1: i] + (ws[i + 1: i + 2] if lang == "en" else [])
        if any(o.text.isdigit() and len(o.text) <= 2 and int_of(o.text) > DAYS_IN_MONTH[mf.month] for o in days):
            return False
    return True


# --------------------------------------------------------------------------- tokens, numbers, dates


def test_month_words_are_whole_words_and_numbers_before_nouns_are_numbers():
    assert month_of("gauge", "en") is None and month_of("marathons", "en") is None
    assert month_of("may", "en") is None and month_of("May", "en") is not None  # the modal verb is no month
    assert answer_kind("3 marathons", "en") == "number"
    assert answer_kind("broad gauge 1850", "en") == "number"
    assert answer_kind("31 March 1990", "en") == "date"
    assert date_edits("broad gauge in 1850", "en", random.Random(0)) == []
    for seed in range(30):  # the old bug: a month name spliced into `gauge`
        fakes = fake_answers(_ex("It has a broad gauge 1850 line. It is long.", "Which gauge?", "broad gauge 1850"),
                             "en", random.Random(seed))
        assert all("gauge" in f or "1850" not in f for f in fakes if f.startswith("broad"))
        assert not any("january" in f.casefold() for f in fakes)


@pytest.mark.parametrize("text, lang", [("30 January 1990", "en"), ("31 марта 1990", "ru"), ("29 февраля", "ru"),
                                        ("31. maaliskuuta 1990", "fi"), ("31 Desemba 1990", "sw"),
                                        ("1990년 3월 31일", "ko")])
def test_redrawn_dates_are_valid_and_differ(text, lang):
    for seed in range(200):
        edits = date_edits(text, lang, random.Random(seed))
        new = apply_edits(text, edits)[0]
        assert edits and new != text
        assert _dates_valid(new, lang), new
        if lang == "ko":
            month, day = (int(x) for x in new.split()[1:] for x in [x[:-1]])
            assert day <= DAYS_IN_MONTH[month - 1], new


def test_numbers_are_redrawn_whole_and_years_keep_their_century():
    for seed in range(200):
        rng = random.Random(seed)
        (e,) = number_edits("built in 1889", rng)
        assert e.new != "1889" and e.new[:2] == "18" and len(e.new) == 4
        (e,) = number_edits("has 3 marathons", rng)
        assert e.new != "3" and len(e.new) == 1
    assert number_edits("the B52 bomber", random.Random(0)) == []  # a digit inside a word is not a numeral


# --------------------------------------------------------------------------- the mutation


def test_the_question_is_mutated_so_the_statement_answers_another_question():
    ex = _ex("The Eiffel Tower was built in 1889. Gustave Eiffel designed it. It is in Paris.",
             "When was the Eiffel Tower built?", "1889", title="Eiffel Tower")
    for seed in range(20):
        r = get_attack("distractor").perturb(ex, "context", 0.3, seed)
        (e,) = r.edits
        assert "Eiffel Tower" not in e.new and "1889" not in e.new
        assert e.new.strip().endswith("built.")
    conflict = get_attack("distractor-conflict").perturb(ex, "context", 0.3, 0)
    assert "Eiffel Tower built." in conflict.edits[0].new


def test_nothing_to_mutate_means_no_insertion():
    ex = _ex("Glass is made from sand. It melts when hot. It is clear.", "what is glass made from?", "sand")
    assert mutate_question(ex, "en", QUESTION_WORDS["en"], random.Random(0)) is None
    r = get_attack("distractor").perturb(ex, "context", 0.5, 0)
    assert r.edits == [] and r.example["context"] == ex["context"] and r.strength_applied == 0.0


def test_a_statement_naming_a_gold_answer_or_keeping_every_slot_is_refused():
    ex = _ex("Paris is big. Oslo is cold.", "Where is Paris?", "Paris", title="Paris")
    m = mutate_question(ex, "en", QUESTION_WORDS["en"], random.Random(0))
    assert m is not None and "Paris" not in m.question
    assert addsent_statement(m, "Paris", ["Paris"], "en") is None  # the fake names the gold answer
    kept = type(m)(ex["question"], m.slots)  # as if the slot had not been swapped
    assert addsent_statement(kept, "Lima", ["Paris"], "en") is None
    assert addsent_statement(m, "Lima", ["Paris"], "en") == distractor_sentence(m.question, "Lima", "en")


def test_korean_particles_follow_the_new_stem():
    ex = _ex("한니발은 장군이었다. 그는 로마와 싸웠다.", "한니발의 계급은 무엇인가요?", "장군", "ko", "korean-1",
             "한니발")
    for seed in range(20):
        m = mutate_question(ex, "ko", QUESTION_WORDS["ko"], random.Random(seed))
        assert m is not None and not m.question.startswith("한니발")
        (slot,) = m.slots
        assert slot.new.endswith("의")


# --------------------------------------------------------------------------- real data, nine languages


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", TYDI_LANGS)
def test_addsent_on_real_tydi(lang, data_dir):
    """Invariants hold; every inserted sentence holds no gold answer and differs from the question in a
    mutated slot; slots are whole tokens; dates are valid; most examples are changed."""
    attack = get_attack("distractor")
    rows = tydi_rows(data_dir, lang, 40)
    changed = 0
    for i, row in enumerate(rows):
        assert violations(attack, row, "context", 0.2, i) == [], row["id"]
        r = attack.perturb(row, "context", 0.2, i)
        m = mutate_question(row, lang, QUESTION_WORDS[lang], random.Random(i))
        if m is None:
            continue
        q = row["question"]
        starts = {w.start for w in words(q)}
        for s in m.slots:
            assert s.new.casefold() != s.old.casefold() and q[s.start:s.end] == s.old
            assert s.start in starts, (q, s)  # never inside a word
            assert s.end == len(q) or not q[s.end].isalnum() or lang == "ko" or s.old.isdigit(), (q, s)
        assert _dates_valid(m.question, lang)
        for e in r.edits:
            new = e.new.casefold()
            assert not any(g.casefold() in new for g in row["answers"]["text"]), (row["id"], e.new)
            assert e.new.strip() != distractor_sentence(q, "", lang).strip()
            assert _dates_valid(e.new, lang)
        changed += bool(r.edits)
    assert changed >= len(rows) // 2, f"{lang}: only {changed}/{len(rows)} changed"


@pytest.mark.needs_data
def test_conflict_inserts_the_unmutated_question(data_dir):
    for lang in ("en", "ru", "fi"):
        for row in tydi_rows(data_dir, lang, 10):
            r = get_attack("distractor-conflict").perturb(row, "context", 0.01, 3)
            for e in r.edits:
                assert _dates_valid(e.new, lang)


# --------------------------------------------------------------------------- cell keys


def test_new_distractor_cells_never_reuse_old_distractor_records():
    old = json.loads(json.dumps({"model_fingerprint": "f" * 64, "lang": "ar", "attack": "distractor", "params": {},
                                 "target": "context", "strength": 0.2, "seed": 0, "data_sha256": "d" * 64,
                                 "mode": "squad", "criterion": "em", "search": None, "engine": "e"}))
    new = dict(old, params=AttackSpec.parse("distractor").cell_params({"data_dir": "/x"}))
    assert new["params"] == {"attack_version": "distractor/3"}
    assert CellKey(**old).key != CellKey(**new).key
    assert AttackSpec.parse("addsent").cell_params({}) == new["params"]
    assert AttackSpec.parse("keyboard+distractor").cell_params({}) == {"attack_version": "distractor/3"}
    assert AttackSpec.parse("keyboard").cell_params({"data_dir": "/x"}) == {}  # version 1: keys as before
    # sentence bounds changed (`U.S. Army` is one sentence): every attack that places or moves sentences
    for name, version in (("distractor-conflict", 2), ("sentence-reorder", 2)):
        assert AttackSpec.parse(name).cell_params({"data_dir": "/x"}) == {"attack_version": f"{name}/{version}"}
    # codemix matches inflected forms since version 2: its old cells are not reused either
    assert AttackSpec.parse("codemix").cell_params({"data_dir": "/x"}) == {"attack_version": "codemix/2"}


def test_attacks_list_tells_the_two_distractors_apart():
    new, old = get_attack("distractor").description, get_attack("distractor-conflict").description
    assert "AddSent" in new and "mutate" in new and "distractor-conflict" in new
    assert "SAME question" in old and "Word order" in old and "Word order" in new


# --------------------------------------------------------------------------- hash order

_SCRIPT = r"""
import hashlib, json, sys
from attacks import get_attack
from xadv.data import load_qa
out = hashlib.sha256()
for lang in ("en", "ru", "ko", "ar", "fi", "bn"):
    for r in list(load_qa(f"tydiqa:{lang}:dev", sys.argv[1]))[:60]:
        for name in ("distractor", "distractor-conflict"):
            p = get_attack(name).perturb(dict(r), "context", 0.3, 7)
            out.update(json.dumps([name, r["id"], p.example["context"], p.example["answers"],
                                   [e.to_dict() for e in p.edits]], ensure_ascii=False).encode())
print(out.hexdigest())
"""


@pytest.mark.needs_data
def test_distractors_are_byte_identical_across_hash_seeds(data_dir):
    digests = set()
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        done = subprocess.run([sys.executable, "-c", _SCRIPT, str(data_dir)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(done.stdout.strip())
    assert len(digests) == 1 and all(len(d) == len(hashlib.sha256().hexdigest()) for d in digests)


def test_a_statement_that_restates_the_question_is_refused():
    """Two defects `xadv attacks validate` found on TyDi dev (2 of 879 inserted sentences restated the
    question): a name swapped for the same words in another order (id `Museum Louvre` -> `Louvre Museum`),
    and a fake answer copied from the context that brings the asked name back (ar)."""
    from attacks.distractor import restates_question
    from attacks.mutate import _replacement

    other = _replacement("Museum Louvre", ["Louvre Museum", "Musée d'Orsay"], [], [], random.Random(0))
    assert other == "Musée d'Orsay"
    assert _replacement("Museum Louvre", ["Louvre Museum"], [], [], random.Random(0)) is None
    q = "Who is Christopher Stevens?"
    assert restates_question("His full name is John Christopher Stevens, born in California.", q, "en")
    assert not restates_question("Vienna is John Smith.", q, "en")
    ex = _ex("Stevens was born in Grass Valley. He was an American diplomat. He joined the State Department.",
             q, "an American diplomat")
    m = mutate_question(ex, "en", QUESTION_WORDS["en"], random.Random(0))
    assert m is not None
    assert addsent_statement(m, "John Christopher Stevens", ["an American diplomat"], "en", q) is None
    assert addsent_statement(m, "a lawyer", ["an American diplomat"], "en", q) is not None
