"""The registered v2 analysis (xadv.experiments.registered) on real records: the committed small run
(13 models, one seed, 30 questions per language), re-computed independently from the raw record JSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from xadv.experiments.contrasts import REGISTERED, Contrast
from xadv.experiments.registered import ZERO_SHOT_LANGS, arms_from_entries, registered_analysis
from xadv.experiments.spec import ExperimentError
from xadv.experiments.store import load_record_entries

SMALL = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "experiment" / "small" / "records.json.gz"


@pytest.fixture(scope="module")
def entries():
    return load_record_entries(SMALL)


def _macro_adv(records: list[dict], group: str) -> float:
    """Mean over the 8 zero-shot languages of (mean over attack cells of mean adversarial F1), points."""
    per_lang: dict[str, list[float]] = {}
    for r in records:
        if r["model"]["name"] == f"{group}-s13" and r["cell"]["lang"] in ZERO_SHOT_LANGS:
            per_lang.setdefault(r["cell"]["lang"], []).append(np.mean([x["adv_f1"] for x in r["examples"]]))
    assert len(per_lang) == 8
    return float(np.mean([np.mean(v) for v in per_lang.values()]))


def test_contrasts_on_the_small_run_match_an_independent_computation(entries):
    records = json.loads(gzip.decompress(SMALL.read_bytes()))["records"]
    scale = 100 if max(x["adv_f1"] for r in records for x in r["examples"]) <= 1 else 1
    a = registered_analysis(entries, n_resamples=400)
    assert a["not_run"] == [{"id": "C5", "label": REGISTERED[4].label, "missing": ["baseline-plus"]}]
    assert a["langs"] == sorted(ZERO_SHOT_LANGS) and set(a["seeds"].values()) == {1}
    by_id = {r["id"]: r for r in a["primary"]}
    assert sorted(by_id) == ["C1", "C2", "C3", "C4", "C6"]
    c1 = by_id["C1"]
    assert c1["estimate"] == pytest.approx(scale * (_macro_adv(records, "mixed-qa") - _macro_adv(records, "en-qa")),
                                           abs=1e-9)
    c6 = by_id["C6"]
    nli = np.mean([_macro_adv(records, g) for g in ("en-nli", "multi-nli", "mixed-nli")])
    assert c6["estimate"] == pytest.approx(scale * (nli - _macro_adv(records, "baseline")), abs=1e-9)
    for r in a["primary"]:
        assert r["p_holm"] >= r["p"] and r["ci95"][0] <= r["estimate"] <= r["ci95"][1]
        assert r["verdict"] in ("significant", "equivalent", "unresolved")
    assert [r["id"] for r in a["clean"]] == [r["id"] for r in a["effective"]] == sorted(by_id)


def _jointly_correct_flips(records: list[dict], groups: tuple[str, ...]) -> tuple[dict[str, float], int]:
    """Per group, the macro flip rate (points) on the questions right (EM) on clean input for every group of the
    contrast, and the number of such questions: straight from the raw record JSON."""
    right: dict[tuple[str, str], set[str]] = {}
    wrong_adv: dict[tuple[str, str], list[dict[str, bool]]] = {}
    for r in records:
        group = r["model"]["name"].removesuffix("-s13")
        if group in groups and r["cell"]["lang"] in ZERO_SHOT_LANGS:
            key = (group, r["cell"]["lang"])
            right[key] = {x["id"] for x in r["examples"] if x["clean_em"] == 1}
            wrong_adv.setdefault(key, []).append({x["id"]: x["adv_em"] != 1 for x in r["examples"]})
    rates: dict[str, list[float]] = {g: [] for g in groups}
    total = 0
    for lang in ZERO_SHOT_LANGS:
        joint = set.intersection(*(right[(g, lang)] for g in groups))
        total += len(joint)
        for g in groups:
            if joint:
                rates[g].append(100 * np.mean([cell[i] for cell in wrong_adv[(g, lang)] for i in joint]))
    return {g: float(np.mean(v)) for g, v in rates.items()}, total


def test_flip_rate_on_jointly_correct_questions_matches_an_independent_computation(entries):
    records = json.loads(gzip.decompress(SMALL.read_bytes()))["records"]
    a = registered_analysis(entries, n_resamples=400)
    flips = {f["id"]: f for f in a["flip"]}
    assert sorted(flips) == ["C1", "C2", "C3", "C4", "C6"]
    rates, n = _jointly_correct_flips(records, ("mixed-qa", "en-qa"))
    assert sum(flips["C1"]["jointly_correct"].values()) == n > 20
    assert flips["C1"]["result"]["estimate"] == pytest.approx(rates["mixed-qa"] - rates["en-qa"], abs=1e-9)
    groups = ("en-nli", "multi-nli", "mixed-nli", "baseline")
    rates, n = _jointly_correct_flips(records, groups)
    assert sum(flips["C6"]["jointly_correct"].values()) == n  # one set for all four arms of C6
    assert flips["C6"]["result"]["estimate"] == pytest.approx(
        np.mean([rates[g] for g in groups[:3]]) - rates["baseline"], abs=1e-9)
    lo, hi = flips["C6"]["result"]["ci95"]
    assert lo <= flips["C6"]["result"]["estimate"] <= hi


def test_a_custom_family_and_the_effective_robustness_of_a_clean_gain(entries):
    fam = [Contrast("T", ("mixed-qa",), ("en-qa",))]
    a = registered_analysis(entries, fam, n_resamples=300)
    assert [r["id"] for r in a["primary"]] == ["T"] and a["not_run"] == []
    assert a["primary"][0]["p_holm"] == a["primary"][0]["p"]  # a family of one


def test_unpaired_or_unfinished_grids_are_refused_in_one_line(entries):
    one_lang_short = [e for e in entries if not (e.model == "en-qa-s13" and e.lang == "sw")]
    with pytest.raises(ExperimentError, match="en-qa: not every seed has records in every language"):
        arms_from_entries(one_lang_short)
    adv, clean = arms_from_entries(entries)
    assert adv["baseline"].scores["sw"].shape == (1, 30) == clean["baseline"].scores["sw"].shape


def test_the_contrasts_table_is_rendered_with_every_contrast_and_what_was_not_run(entries):
    from xadv.experiments.report import registered_markdown

    md = "\n".join(registered_markdown(registered_analysis(entries, n_resamples=200)))
    assert "## Pre-registered contrasts" in md and "| C1 | mixed-qa - en-qa |" in md
    assert "- C5 (mean(en-qa, multi-qa, mixed-qa) - baseline-plus) not run: no records for baseline-plus" in md
    assert md.count("\n| C") == 5
    assert "Δ flip rate, jointly correct (secondary)" in md and "plan amendment 4" in md
