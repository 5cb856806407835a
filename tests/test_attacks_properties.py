"""Invariants of every attack, property-tested on real TyDi QA GoldP dev examples of all 9 languages.

For any example, target, strength and seed: answers still sit at their offsets with unchanged text,
the field not attacked is byte-identical, the edit log reproduces the output, the applied strength
is reported and never exceeds the request (beyond rounding), no orphan mark or lost NFC appears,
and the same seed gives byte-identical output.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attacks import get_attack, list_attacks
from attacks.base import TARGETS
from attacks.invariants import violations
from xadv.langs import TYDI_LANGS

ROWS_PER_LANG = 24
REPO = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=None)
def _load(path: str, n: int) -> tuple[dict, ...]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                rows.append({
                    "id": qa["id"], "title": article.get("title", ""), "context": para["context"],
                    "question": qa["question"],
                    "answers": {"text": [a["text"] for a in qa["answers"]],
                                "answer_start": [a["answer_start"] for a in qa["answers"]]},
                })
    step = max(1, len(rows) // n)  # spread over the file, not just its first article
    return tuple(rows[::step][:n])


def tydi_rows(data_dir: Path, lang: str, n: int = ROWS_PER_LANG) -> list[dict]:
    """Rows of TyDi GoldP dev in the data layer's shape (with `lang`)."""
    path = data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json"
    return [dict(r, lang=lang) for r in _load(str(path), n)]


def attack_for(name: str, lang: str, data_dir: Path):
    """The attack as a caller would configure it for `lang` (codemix needs its dictionaries,
    and a partner language for English)."""
    if name == "codemix":
        return get_attack("codemix", data_dir=str(data_dir),
                          partner="sw" if lang == "en" else "")
    return get_attack(name)


@pytest.fixture(scope="module")
def all_rows(data_dir) -> list[dict]:
    return [r for lang in TYDI_LANGS for r in tydi_rows(data_dir, lang)]


def check_invariants(attack, row, target, strength, seed):
    result = attack.perturb(row, target, strength, seed)
    assert violations(attack, row, target, strength, seed, result) == []
    return result


ATTACK_NAMES = [a.name for a in list_attacks()]


@pytest.mark.needs_data
@pytest.mark.parametrize("name", ATTACK_NAMES)
@settings(max_examples=18, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_attack_invariants_on_tydi(name, data, all_rows, data_dir):
    row = data.draw(st.sampled_from(all_rows), label="row")
    attack = attack_for(name, row["lang"], data_dir)
    if attack.refusal(row["lang"]):
        return  # refusals are tested separately
    target = data.draw(st.sampled_from([t for t in TARGETS if t in attack.targets]), label="target")
    strength = data.draw(st.sampled_from([0.0, 0.05, 0.1, 0.3, 0.6, 1.0]), label="strength")
    seed = data.draw(st.integers(0, 2**31), label="seed")
    check_invariants(attack, row, target, strength, seed)


@pytest.mark.needs_data
@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_every_attack_serves_or_refuses_every_language(name, data_dir):
    """Each of the 9 languages is either served (and something changes somewhere in 10 examples)
    or refused with one clear line."""
    from xadv.errors import XadvError

    for lang in TYDI_LANGS:
        attack = attack_for(name, lang, data_dir)
        rows = tydi_rows(data_dir, lang)[:10]
        target = "context" if "context" in attack.targets else attack.targets[0]
        if attack.refusal(lang):
            with pytest.raises(XadvError) as err:
                attack.perturb(rows[0], target, 0.3, 0)
            assert "\n" not in str(err.value) and lang in str(err.value)
            continue
        results = [check_invariants(attack, r, target, 0.3, 7) for r in rows]
        assert any(r.edits for r in results), f"{name} changed nothing in 10 {lang} contexts"


@pytest.mark.needs_data
@pytest.mark.parametrize("name", ["keyboard", "char-noise", "invisible", "word-delete", "homoglyph"])
def test_requested_strength_is_honoured_on_average(name, all_rows, data_dir):
    """Over many contexts the mean applied share of words is the requested one (words with nothing
    to edit, such as bare numbers, are the only shortfall)."""
    for strength in (0.1, 0.4):
        applied = []
        for row in all_rows:
            attack = attack_for(name, row["lang"], data_dir)
            if attack.refusal(row["lang"]):
                continue
            applied.append(attack.perturb(row, "context", strength, 3).strength_applied)
        mean = sum(applied) / len(applied)
        assert strength * 0.85 <= mean <= strength * 1.05, (strength, mean)


@pytest.mark.needs_data
def test_composition_remaps_answers_through_every_step(all_rows, data_dir):
    attack = get_attack("keyboard+word-swap+distractor")
    assert attack.targets == ("context",)
    for row in all_rows[::6]:
        r = check_invariants(attack, row, "context", 0.2, 11)
        assert [s["attack"] for s in r.steps] == ["keyboard", "word-swap", "distractor"]
        assert {e.attack for e in r.edits} <= {"keyboard", "word-swap", "distractor"}


@pytest.mark.needs_data
def test_seeded_output_is_identical_across_processes(data_dir):
    """Seeding uses a stable hash, so another interpreter (other PYTHONHASHSEED) agrees byte for byte."""
    rows = [tydi_rows(data_dir, lang)[0] for lang in ("bn", "ko", "ru")]
    code = (
        "import json,sys\n"
        "from attacks import get_attack\n"
        "rows=json.loads(sys.stdin.read())\n"
        "a=get_attack('keyboard+char-noise+sentence-reorder')\n"
        "print(json.dumps([a.perturb(r,'context',0.3,5).to_dict() for r in rows],ensure_ascii=False))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(rows), capture_output=True,
                         text=True, env=env, check=True, cwd=REPO).stdout
    a = get_attack("keyboard+char-noise+sentence-reorder")
    here = json.dumps([a.perturb(r, "context", 0.3, 5).to_dict() for r in rows], ensure_ascii=False)
    assert out.strip() == here
    assert get_attack("keyboard").perturb(rows[0], "context", 0.3, 6).example != json.loads(here)[0]["example"]


@pytest.mark.needs_data
def test_seed_stream_depends_on_example_not_on_batch_order(all_rows):
    from attacks import perturb_rows

    rows = all_rows[:5]
    forward = perturb_rows(rows, "char-noise", "question", 0.5, seed=9)
    backward = perturb_rows(rows[::-1], "char-noise", "question", 0.5, seed=9)[::-1]
    assert [r.to_dict() for r in forward] == [r.to_dict() for r in backward]
    assert math.isclose(sum(r.strength_applied for r in forward), sum(r.strength_applied for r in backward))


@pytest.mark.needs_data
def test_rows_from_the_data_layer_can_be_perturbed(data_dir):
    """`xadv.data.load_qa` rows (a datasets.Dataset) go straight into the attacks."""
    from attacks import perturb_rows
    from xadv.data import load_qa

    ds = load_qa("tydiqa:te:dev", data_dir).select(range(6))
    results = perturb_rows(ds, "keyboard+distractor", "context", 0.2, seed=1)
    for row, r in zip(ds, results):
        check_invariants(get_attack("keyboard+distractor"), row, "context", 0.2, 1)
        assert r.example["id"] == row["id"] and r.edits


@pytest.mark.needs_data
@pytest.mark.parametrize("name", ["keyboard", "char-noise", "homoglyph", "invisible"])
def test_attacks_asked_to_edit_answers_keep_offsets_valid(name, all_rows):
    attack = get_attack(name, edits_answers=True)
    changed = 0
    for row in all_rows[::3]:
        if attack.refusal(row["lang"]):
            continue
        r = check_invariants(attack, row, "context", 1.0, 2)
        changed += r.example["answers"]["text"] != row["answers"]["text"]
    assert changed > 10  # at strength 1.0 most answers are hit


def test_structural_attacks_cannot_be_asked_to_edit_answers():
    from xadv.errors import XadvError

    for name in ("word-delete", "sentence-reorder", "distractor", "codemix"):
        with pytest.raises(XadvError, match="no parameter 'edits_answers'"):
            get_attack(name, edits_answers=True)
