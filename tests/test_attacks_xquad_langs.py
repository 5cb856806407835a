"""Attacks in the nine XQuAD languages beyond TyDi's (de el es hi ro th tr vi zh), on real XQuAD questions.

Every attack either serves a language (its invariants hold on 30 real questions, on each target it edits,
and its letters stay in the language's script unless mixing scripts is the attack) or refuses it with the
one-line reason tabled here; output does not depend on Python's hash seed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from hashseed import outputs_per_hash_seed

from attacks import get_attack, list_attacks
from attacks.invariants import violations
from attacks.validity import foreign_letters
from xadv.errors import XadvError

REPO = Path(__file__).resolve().parents[1]
NEW_LANGS = ("de", "el", "es", "hi", "ro", "th", "tr", "vi", "zh")
N = 30
# (attack, language) -> a phrase of its refusal: every pair not listed here must be served.
REFUSED = {
    ("homoglyph", "hi"): "Devanagari has no look-alike",
    ("nfd", "th"): "NFD leaves Thai",
    ("nfd", "zh"): "NFD leaves Han",
    ("diacritics", "el"): "tonos is mandatory",
    ("diacritics", "th"): "Thai vowel and tone marks are letters",
    ("diacritics", "zh"): "no diacritics",
    ("sentence-reorder", "th"): "ends a sentence with a space only",
    ("distractor", "th"): "Thai has no sentence terminator",
    ("distractor", "zh"): "not built for Chinese",
    ("distractor-conflict", "th"): "Thai has no sentence terminator",
    ("distractor-conflict", "zh"): "not built for Chinese",
}
MIXES_SCRIPTS = {"codemix", "homoglyph"}  # foreign letters are the point of these two


@lru_cache(maxsize=None)
def _rows(data_dir: str, lang: str) -> tuple[dict, ...]:
    from xadv.data import load_qa

    return tuple(dict(r) for r in list(load_qa(f"xquad:{lang}:test", data_dir))[:N])


def _attack(name: str, data_dir: Path):
    attack = get_attack(name)
    return get_attack(name, data_dir=str(data_dir)) if "data_dir" in attack.describe()["params"] else attack


def _served(data_dir: Path):
    return [(a.name, lang) for a in list_attacks() for lang in NEW_LANGS if not a.refusal(lang)]


@pytest.mark.needs_data
@pytest.mark.parametrize("lang", NEW_LANGS)
def test_invariants_and_script_purity_on_real_questions(lang, data_dir):
    """Every serving attack x target on 30 XQuAD questions: no invariant broken, something changed, and
    (but for codemix and homoglyph) no letter outside the language's script and the scripts already there."""
    rows = _rows(str(data_dir), lang)
    for attack in (_attack(a.name, data_dir) for a in list_attacks()):
        if attack.refusal(lang):
            continue
        for target in attack.targets:
            changed = 0
            for i, row in enumerate(rows):
                result = attack.perturb(dict(row), target, 0.3, i)
                assert violations(attack, dict(row), target, 0.3, i, result) == [], (attack.name, lang, target, i)
                changed += result.example != dict(row, lang=lang)
                if attack.name not in MIXES_SCRIPTS:
                    for f in ("question", "context"):
                        assert foreign_letters(row[f], result.example[f], lang) == 0, (attack.name, lang, f, i)
            assert changed >= N // 10, f"{attack.name} changed {changed}/{N} {lang} examples ({target})"


@pytest.mark.needs_data
def test_every_pair_is_served_or_refused_with_its_reason(data_dir):
    served = set(_served(data_dir))
    for attack in list_attacks():
        for lang in NEW_LANGS:
            phrase = REFUSED.get((attack.name, lang))
            if phrase is None:
                assert (attack.name, lang) in served, f"{attack.name} refuses {lang}: {attack.refusal(lang)}"
                continue
            why = attack.refusal(lang)
            assert why and phrase in why and "\n" not in why and repr(lang) in why, (attack.name, lang, why)
            row = _rows(str(data_dir), lang)[0]
            with pytest.raises(XadvError, match=phrase):
                _attack(attack.name, data_dir).perturb(dict(row), attack.targets[0], 0.3, 0)


def test_word_level_attacks_refuse_unspaced_languages_without_their_segmenter(monkeypatch):
    import attacks.text as text

    real = text.importlib.util.find_spec
    monkeypatch.setattr(text.importlib.util, "find_spec", lambda name: None if name in ("jieba", "pythainlp")
                        else real(name))
    for name in ("word-delete", "word-swap", "keyboard", "codemix", "invisible"):
        for lang, extra in (("zh", "xadv[zh]"), ("th", "xadv[th]")):
            why = get_attack(name).refusal(lang)
            assert why and (extra in why or "IME" in why), (name, lang, why)
    assert get_attack("word-delete").refusal("de") is None
    assert get_attack("sentence-reorder").refusal("zh") is None  # sentences need no segmenter


def test_layouts_are_real_and_keep_their_case_pairs():
    from attacks.keyboard import key_candidates, toned_candidates
    from attacks.layouts import LAYOUTS, neighbours

    for layout in LAYOUTS.values():
        assert all(len(a) == len(b) for a, b in zip(layout.rows, layout.shifted)), layout.name
    assert "z" in neighbours("qwertz", "u") and "ß" in neighbours("qwertz", "0")
    assert "ñ" in key_candidates("spanish", "l")
    assert "İ" in neighbours("turkish-q", "i") and "I" in neighbours("turkish-q", "ı")
    assert "ș" in key_candidates("romanian", "l") and "â" in key_candidates("romanian", "î")
    assert "ς" in key_candidates("greek", "ε")
    assert set(key_candidates("hindi-inscript", "क")) >= {"त", "ग"}
    assert set(key_candidates("kedmanee", "่")) == {"้", "๊", "๋"}  # a tone mark slips to tone marks only
    # a Vietnamese vowel with a tone slips only to a neighbouring vowel, keeping the tone
    assert toned_candidates("qwerty", "ố", "vi") == ("í",)  # o's neighbours: i p k l 9 0; only i is a vowel
    assert toned_candidates("qwerty", "o", "vi") is None


def test_vietnamese_and_greek_tones_stay_on_vowels():
    import unicodedata

    from attacks.noise import _retone

    rng = __import__("random").Random(0)
    for cluster, lang in (("ệ", "vi"), ("Ứ", "vi"), ("ά", "el"), ("ώ", "el")):
        for _ in range(20):
            new = _retone(cluster, lang, rng)
            assert new and unicodedata.is_normalized("NFC", new) and len(new) == 1
            assert unicodedata.normalize("NFD", new)[0].lower() in "aeiouyαεηιουω", new
            assert new.isupper() == cluster.isupper()


def test_segmentation_and_chinese_sentences():
    from attacks.text import segment, sentences

    assert [w.text for w in segment("谁创立了苹果公司？", "zh")] == ["谁", "创立", "了", "苹果公司"]
    assert [w.text for w in segment("ใครเป็นผู้ก่อตั้งบริษัท", "th")][:2] == ["ใคร", "เป็น"]
    assert [s.text for s in sentences("他来了。她走了！好吗？ 是的", "zh")] == [
        "他来了。", "她走了！", "好吗？", "是的"]
    assert len(sentences("他来了。她走了！")) == 1  # other languages split as before


def test_distractor_statements_in_new_languages():
    from attacks.distractor import distractor_sentence

    assert distractor_sentence("Wie viele Sacks hatte Allen?", "12", "de") == "12 Sacks hatte Allen."
    assert distractor_sentence("¿Cuántos goles marcó Messi?", "7", "es") == "7 goles marcó Messi."
    assert distractor_sentence("Allen có bao nhiêu lần vật ngã?", "12", "vi") == "Allen có 12 lần vật ngã."
    assert distractor_sentence("Πόσα sacks είχε ο Allen;", "12", "el") == "12 sacks είχε ο Allen."
    assert distractor_sentence("एलन के पास कितने सैक थे?", "12", "hi") == "एलन के पास 12 सैक थे।"


def test_romanian_mai_is_a_month_only_next_to_a_number():
    import random

    from attacks.fakes import date_edits

    assert date_edits("Cine a marcat cele mai multe goluri?", "ro", random.Random(0)) == []
    assert date_edits("Ce s-a întâmplat pe 3 mai 1990?", "ro", random.Random(0))


def test_suite_accepts_registry_languages_with_their_data():
    from xadv.runs.suite import EvalSuite

    assert EvalSuite.build({"data": "xquad:de:test"}).langs == ("de",)
    assert EvalSuite.build({"data": "xquad:de,zh:test", "langs": "all"}).langs == ("de", "zh")
    assert EvalSuite.build({"data": "xquad:all:test", "langs": "th"}).langs == ("th",)
    assert EvalSuite.build({}).langs == ("sw",)
    with pytest.raises(XadvError, match=r"^unknown language 'xx' \(known: ar bn en") as exc:
        EvalSuite.build({"langs": "xx"})
    assert "\n" not in str(exc.value)


SCRIPT = r"""
import hashlib, json, sys
from attacks import list_attacks
from attacks.registry import get_attack
from xadv.data import load_qa
from xadv.errors import XadvError

data_dir = sys.argv[1]
langs = "de el es hi ro th tr vi zh".split()
rows = [r for lang in langs for r in list(load_qa(f"xquad:{lang}:test", data_dir))[:4]]
out = hashlib.sha256()
for attack in list_attacks():
    atk = get_attack(attack.name, data_dir=data_dir) if "data_dir" in attack.describe()["params"] else attack
    for target in atk.targets:
        for r in rows:
            try:
                p = atk.perturb(dict(r), target, 0.5, 1)
                ex = p.example
                blob = [ex["question"], ex["context"], ex["answers"], [e.to_dict() for e in p.edits]]
            except XadvError as exc:
                blob = ["refused", str(exc)]
            out.update(json.dumps([attack.name, target, r["id"], r["lang"], blob], ensure_ascii=False,
                                  sort_keys=True).encode("utf-8"))
print(out.hexdigest())
"""


@pytest.mark.needs_data
@pytest.mark.slow
def test_new_languages_are_byte_identical_across_hash_seeds(data_dir):
    digests = outputs_per_hash_seed(SCRIPT, [str(data_dir)], ("0", "4242"), cwd=REPO,
                                    env={"PYTHONPATH": str(REPO)})
    assert digests["0"] == digests["4242"] and len(digests["0"]) == 64
