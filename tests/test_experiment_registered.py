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
