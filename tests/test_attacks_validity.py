"""attacks.validity: language-id validity, edit rates, and the before/after sample writer."""

from __future__ import annotations

import json

import pytest
from test_attacks_properties import tydi_rows

from attacks import get_attack
from attacks.validity import char_edit_rate, identify_language, measure_validity, sample_pairs, write_samples
from xadv.errors import XadvError
from xadv.langs import TYDI_LANGS


@pytest.mark.needs_data
def test_language_identifier_knows_all_nine_languages(data_dir):
    for lang in TYDI_LANGS:
        rows = tydi_rows(data_dir, lang)[:8]
        hits = sum(identify_language(r["context"]) == lang for r in rows)
        assert hits >= 7, (lang, hits)


def test_char_edit_rate():
    assert char_edit_rate("abcd", "abcd") == 0.0
    assert char_edit_rate("abcd", "abxd") == 0.25
    assert char_edit_rate("", "a") == 1.0


@pytest.mark.needs_data
def test_measure_validity_per_attack_language_and_field(data_dir):
    rows = [r for lang in ("sw", "te", "ko") for r in tydi_rows(data_dir, lang)[:8]]
    table = measure_validity(rows, ["keyboard", "homoglyph"], target="both", strength=0.2, seed=1)
    keys = {(v.attack, v.lang, v.field) for v in table}
    # homoglyph refuses Korean, so it has no Korean rows
    assert ("homoglyph", "ko", "question") not in keys and ("keyboard", "ko", "question") in keys
    assert len(table) == 2 * 3 + 2 * 2
    for v in table:
        assert v.n == 8 and v.malformed == 0
        assert 0.0 < v.char_edit_rate < 0.2
        assert 0.0 <= v.langid_perturbed <= 1.0 and v.langid_clean >= 0.75
        assert 0.1 < v.strength_applied < 0.3
    # light typos keep long contexts recognisably in their language
    ctx = [v for v in table if v.field == "context"]
    assert all(v.langid_perturbed >= v.langid_clean - 0.125 for v in ctx)


@pytest.mark.needs_data
def test_heavy_noise_lowers_language_validity(data_dir):
    rows = tydi_rows(data_dir, "id")[:12]
    light, heavy = (measure_validity(rows, ["char-noise"], "question", s, 0)[0] for s in (0.1, 1.0))
    assert heavy.char_edit_rate > 3 * light.char_edit_rate
    assert heavy.langid_perturbed <= light.langid_perturbed


@pytest.mark.needs_data
def test_samples_are_written_as_jsonl_and_markdown(tmp_path, data_dir):
    rows = tydi_rows(data_dir, "bn")[:6]
    pairs = sample_pairs(rows, get_attack("char-noise"), "question", 0.3, seed=2, n=4)
    assert len(pairs) == 4
    for p in pairs:
        assert p["before"] != p["after"] and p["edits"] and p["field"] == "question"
    path = write_samples(pairs, tmp_path / "s" / "samples.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["after"] for x in lines] == [p["after"] for p in pairs]
    md = write_samples(pairs, tmp_path / "samples.md").read_text(encoding="utf-8")
    assert pairs[0]["after"] in md and "char-noise · bn · question" in md
    with pytest.raises(XadvError, match=r"\.jsonl or \.md"):
        write_samples(pairs, tmp_path / "samples.csv")
    assert sample_pairs(rows, "char-noise", "question", 0.3, seed=2, n=4) == pairs  # seeded
