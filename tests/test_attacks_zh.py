"""Chinese typos: `keyboard` on zh makes pinyin-IME homophone slips, `homoglyph` on zh swaps visually similar
characters (形近字) from the team's table; both leave every other language's output as it was.

On the first 100 XQuAD zh test rows: every IME slip is a character with the same toneless pinyin (checked with
pypinyin's own readings, not the shipped table), every look-alike comes from the table, answers stay at their
offsets, the target field changes and the other does not, and a re-run (in another order, another process)
gives the same bytes. TyDi / XQuAD outputs of the two attacks in other languages are pinned to digests computed
with the code before Chinese was served (commit bba6346).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

pytest.importorskip("jieba")
pytest.importorskip("pypinyin")

from attacks import get_attack  # noqa: E402
from attacks.chinese import (  # noqa: E402
    IME_PAGE,
    LOOKALIKE_GROUPS,
    common_chars,
    ime_candidates,
    ime_page,
    is_han,
    lookalike_table,
)

REPO = Path(__file__).resolve().parents[1]
N = 100


@lru_cache(maxsize=None)
def _rows(data_dir: str, name: str, n: int) -> tuple[dict, ...]:
    from xadv.data import load_qa

    return tuple(dict(r) for r in list(load_qa(name, data_dir))[:n])


def _heteronyms(ch: str) -> set[str]:
    from pypinyin import Style, pinyin

    return set(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


def _digest(name: str, rows) -> str:
    h = hashlib.sha256()
    attack = get_attack(name)
    for i, row in enumerate(rows):
        result = attack.perturb(dict(row), "both", 0.3, i)
        h.update(json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- tables, no data needed


def test_inventory_is_small_frequency_ordered_and_read_as_pypinyin_reads():
    assert (REPO / "attacks" / "zh_chars.txt").stat().st_size < 200_000
    inv = common_chars()
    assert len(inv) == 3500 and inv[0][0] == "一" and len({c for c, _ in inv}) == 3500
    for ch, readings in inv:
        assert is_han(ch) and ch.encode("gb2312") and readings, ch
        assert set(readings) <= _heteronyms(ch), (ch, readings)
    assert ime_candidates("shi")[:4] == ("是", "时", "市", "事")
    assert "以" not in ime_candidates("si")  # pypinyin's obscure readings are not IME candidates
    assert {"xing", "hang"} <= {r for c, rs in inv if c == "行" for r in rs}


def test_a_slip_stays_on_the_intended_characters_page():
    si = ime_candidates("si")
    page = ime_page(si[1], "si")
    assert page == tuple(c for c in si[:IME_PAGE] if c != si[1])
    assert ime_page(si[IME_PAGE], "si") == tuple(si[IME_PAGE + 1 : 2 * IME_PAGE])
    assert ime_page("㐀", "si") == si[:IME_PAGE]  # not listed: the first page


def test_lookalike_table_is_symmetric_han_and_common():
    table = lookalike_table()
    for group in LOOKALIKE_GROUPS:
        assert len(set(group)) == len(group) >= 2, group
        for ch in group:
            assert is_han(ch) and ch.encode("gb2312"), ch
            assert set(group) - {ch} <= set(table[ch])
    for ch, alts in table.items():
        assert all(ch in table[a] for a in alts), ch
    for pair in ("己已", "未末", "土士", "人入", "日曰", "戊戌", "折拆", "候侯"):
        assert pair[1] in table[pair[0]], pair


def test_served_on_zh_and_refused_without_pypinyin(monkeypatch):
    import attacks.chinese as chinese

    assert get_attack("keyboard").refusal("zh") is None
    assert get_attack("homoglyph").refusal("zh") is None
    assert "zh" in get_attack("keyboard").describe()["languages"]
    real = chinese.importlib.util.find_spec
    monkeypatch.setattr(chinese.importlib.util, "find_spec", lambda n: None if n == "pypinyin" else real(n))
    why = get_attack("keyboard").refusal("zh")
    assert why and "pypinyin" in why and "xadv[zh]" in why and "\n" not in why
    assert get_attack("keyboard").refusal("ru") is None
    assert get_attack("homoglyph").refusal("zh") is None  # the table needs no pypinyin


def test_a_latin_word_in_chinese_text_gets_a_qwerty_typo():
    ex = {"id": "zh-latin", "lang": "zh", "context": "NFL", "question": "Microsoft",
          "answers": {"text": [], "answer_start": []}}
    r = get_attack("keyboard").perturb(ex, "question", 1.0, 0)
    assert r.example["question"] != "Microsoft" and all(e.kind.startswith("keyboard:") for e in r.edits)
    assert all(e.kind != "keyboard:ime" for e in r.edits)


# --------------------------------------------------------------------------- real XQuAD zh rows


def _check_field_edits(result, row, target):
    other = {"question": "context", "context": "question"}[target]
    assert result.example[other] == row[other]
    assert result.example[target] != row[target]
    answers = result.example["answers"]
    assert answers["text"] == row["answers"]["text"]
    if all(len(e.new) == len(e.old) for e in result.edits):  # Han slips: one character for one
        assert answers == row["answers"]
    ctx = result.example["context"]
    for t, s in zip(result.example["answers"]["text"], result.example["answers"]["answer_start"]):
        assert ctx[s : s + len(t)] == t
    assert result.edits and all(e.field == target for e in result.edits)
    return result.edits


@pytest.mark.needs_data
@pytest.mark.parametrize("target", ["question", "context"])
def test_ime_slips_are_same_pinyin_characters(target, data_dir):
    rows = _rows(str(data_dir), "xquad:zh:test", N)
    attack = get_attack("keyboard")
    inventory = {c for c, _ in common_chars()}
    slips = changed = 0
    for i, row in enumerate(rows):
        result = attack.perturb(dict(row), target, 0.3, i)
        if result.example[target] == row[target]:
            continue
        changed += 1
        for e in _check_field_edits(result, row, target):
            if e.kind != "keyboard:ime":
                assert not any(is_han(c) for c in e.old), e
                continue
            slips += 1
            assert is_han(e.old) and is_han(e.new) and e.old != e.new and e.new in inventory, e
            assert _heteronyms(e.old) & _heteronyms(e.new), (e.old, e.new)
        assert attack.perturb(dict(row), target, 0.3, i).to_dict() == result.to_dict()
    assert changed >= 0.9 * N and slips >= changed


@pytest.mark.needs_data
@pytest.mark.parametrize("target", ["question", "context"])
def test_visually_similar_swaps_come_from_the_table(target, data_dir):
    rows = _rows(str(data_dir), "xquad:zh:test", N)
    attack = get_attack("homoglyph")
    table = lookalike_table()
    changed = 0
    for i, row in enumerate(rows):
        result = attack.perturb(dict(row), target, 0.3, i)
        if result.example[target] == row[target]:
            continue
        changed += 1
        for e in _check_field_edits(result, row, target):
            if is_han(e.old):
                assert e.new in table[e.old], (e.old, e.new)
        assert attack.perturb(dict(row), target, 0.3, i).to_dict() == result.to_dict()
    assert changed >= 0.5 * N


@pytest.mark.needs_data
def test_zh_output_is_order_and_process_independent(data_dir):
    rows = _rows(str(data_dir), "xquad:zh:test", 20)
    here = {name: _digest(name, rows) for name in ("keyboard", "homoglyph")}
    backwards = {get_attack("keyboard").perturb(dict(r), "both", 0.3, 7).to_dict()["example"]["context"]
                 for r in reversed(rows)}
    assert backwards == {get_attack("keyboard").perturb(dict(r), "both", 0.3, 7).to_dict()["example"]["context"]
                         for r in rows}
    script = ("import sys, json; sys.path.insert(0, 'tests'); from test_attacks_zh import _rows, _digest; "
              "rows = _rows(sys.argv[1], 'xquad:zh:test', 20); "
              "print(json.dumps({n: _digest(n, rows) for n in ('keyboard', 'homoglyph')}))")
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, str(data_dir)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == here


# Digests of `_digest` (first 50 rows, target both, strength 0.3, seed = row index) computed with the code at
# bba6346, before keyboard and homoglyph served Chinese: their other languages must not move.
BEFORE_ZH = {
    ("keyboard", "tydiqa:sw:dev"): "dc8808fbb1ab51f3",
    ("homoglyph", "tydiqa:sw:dev"): "21da32cb115d0b48",
    ("keyboard", "tydiqa:ru:dev"): "d3e0280d748b3d5b",
    ("homoglyph", "tydiqa:ru:dev"): "d81960f66ef58032",
    ("keyboard", "tydiqa:en:dev"): "8d838ac6403f4885",
    ("homoglyph", "tydiqa:en:dev"): "e034b939a34a9149",
    ("keyboard", "xquad:el:test"): "d323b2e2e4bd5b98",
    ("homoglyph", "xquad:th:test"): "c6fb8091998543b9",
}


@pytest.mark.needs_data
@pytest.mark.parametrize("name,dataset", sorted(BEFORE_ZH))
def test_other_languages_are_unchanged(name, dataset, data_dir):
    assert _digest(name, _rows(str(data_dir), dataset, 50)) == BEFORE_ZH[(name, dataset)]
