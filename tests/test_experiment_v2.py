"""The v2 grid (benchmarks/experiment-v2.toml, registered in benchmarks/experiment-v2.md): its arms, B+'s
equal span-QA steps, content-matched pools, zero-shot for every TyDi language but English, and the
registered evaluation sample kept apart from the tuning questions."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xadv.experiments.contrasts import REGISTERED
from xadv.experiments.ledger import Ledger
from xadv.experiments.pilot import target_steps
from xadv.experiments.report import render
from xadv.experiments.runner import eval_rows, run_order
from xadv.experiments.sample import evaluation_sample
from xadv.experiments.spec import ExperimentError, parse_cell_id, plan_grid, train_config
from xadv.langs import TYDI_LANGS
from xadv.train import pipeline as train_pipeline

REPO = Path(__file__).resolve().parents[1]
V2 = REPO / "benchmarks" / "experiment-v2.toml"


def test_the_grid_has_every_registered_arm_per_seed_and_b_plus_gets_the_intermediate_steps():
    settings, budget, grid = plan_grid(V2, "v2")
    groups = {c.group for c in grid}
    # paraphrase arms by the pilot's rule 4a (PAWS-X learnable at 2I), exploratory
    assert groups == {"baseline", "baseline-plus", "en-qa", "multi-qa", "mixed-qa", "en-nli", "multi-nli",
                      "mixed-nli", "en-paraphrase", "multi-paraphrase", "mixed-paraphrase"}
    assert {n for c in REGISTERED for n in (*c.plus, *c.minus)} <= groups  # every contrast has its arms
    assert sorted({c.seed for c in grid}) == [13, 14, 15] and len(grid) == 33
    configs = {c.id: train_config(c, settings, budget) for c in grid}
    b0, plus, qa = configs["baseline-s13"], configs["baseline-plus-s13"], configs["en-qa-s13"]
    assert plus.target_phase.max_steps == b0.target_phase.max_steps + qa.intermediate_phase.max_steps == 594
    assert plus.intermediate == [] and qa.intermediate == ["qa"]
    # T is the one the pilot's rule 4c with amendment 5 picked (pilot.json, committed before the grid runs):
    # T = 237 by F1 on the tuning questions, but B0 seed 15 diverged there, so T = 474
    pilot = json.loads((V2.parent / "results" / "experiment" / "v2" / "pilot.json").read_text(encoding="utf-8"))
    half = pilot["seeds-T237"]["diverged"]
    assert b0.target_phase.max_steps == target_steps({int(k): v for k, v in pilot["budget"]["macro_f1"].items()},
                                                     [bool(v) for v in half.values()]) == 474
    assert pilot["budget"]["T"] == 237 and half == {"13": False, "14": False, "15": True}
    assert parse_cell_id("baseline-plus-s14") == {"group": "baseline-plus", "mix": None, "task": "plus",
                                                  "seed": 14}


def test_a_run_takes_the_registered_arms_first_and_the_exploratory_paraphrase_arms_last():
    """A grid of CPU-days may be cut short: the models of the six registered contrasts run first (seed by
    seed), the exploratory paraphrase arms after them; an unregistered grid runs in its own order."""
    _, _, grid = plan_grid(V2, "v2")
    order = run_order(grid, registered=True)
    assert sorted(c.id for c in order) == sorted(c.id for c in grid) and len(order) == 33
    assert {c.task for c in order[:24]} == {None, "plus", "qa", "nli"}
    assert {c.task for c in order[24:]} == {"paraphrase"}
    assert [c.id for c in order[:10]] == ["baseline-s13", "baseline-plus-s13", "en-qa-s13", "en-nli-s13",
                                          "multi-qa-s13", "multi-nli-s13", "mixed-qa-s13", "mixed-nli-s13",
                                          "baseline-s14", "baseline-plus-s14"]
    assert run_order(grid, registered=False) == grid


@pytest.mark.parametrize("native_bf16", [True, False])
def test_every_arm_trains_in_fp32_on_every_machine_as_the_models_in_the_ledger_did(monkeypatch, native_bf16):
    """The plan (section 2) allows bf16 only where xadv.device.ACCEPTED lists it, and the arms of a comparison
    share one precision. A grid spread over replaced machines (AVX2-only, AVX512-BF16) must therefore train
    fp32 everywhere: the configs' digests may not depend on the CPU, and the committed ledger's models were
    trained with exactly these configs."""
    import xadv.device

    monkeypatch.setattr(xadv.device, "native_bf16", lambda *a, **k: native_bf16)
    settings, budget, grid = plan_grid(V2, "v2")
    configs = {c.id: train_config(c, settings, budget) for c in grid}
    assert {cfg.precision().name for cfg in configs.values()} == {"no"}
    # Ledger.get raises on an entry made with another config digest, and checks the entry's id and records
    ledger = Ledger(V2.parent / "results" / "experiment" / "v2" / "ledger")
    finished = [cell_id for cell_id, cfg in configs.items() if ledger.get(cell_id, cfg.digest()) is not None]
    assert len(finished) == len(list(ledger.root.glob("*.json.gz"))) > 0  # every committed entry is a grid model


@pytest.mark.needs_data
def test_no_arm_sees_a_tydi_language_but_english(data_dir):
    """The zero-shot promise of the design: fails if any arm's card would list another TyDi language as
    seen (in any task, not only QA)."""
    settings, budget, grid = plan_grid(V2, "v2", seeds="13")
    for cell in grid:
        planned = train_pipeline.plan(train_config(cell, settings, budget), data_dir)
        assert planned["seen_languages"]["eval_any"] == ["en"], cell.id
        assert planned["zero_shot_languages"] == [x for x in TYDI_LANGS if x != "en"], cell.id
        inter = [t for t in planned["tasks"] if t["phase"] == "intermediate"]
        assert len(inter) == (cell.mix is not None), cell.id
        for task in inter:
            assert task["content_matched"]["holdout"] == 0.16 and task["content_matched"]["items"] > 900
            expected = {"en": {"en"}, "multi": set(task["available_per_language"]) - {"en"},
                        "mixed": set(task["available_per_language"])}[cell.mix]
            assert set(task["examples_per_language"]) == expected, cell.id


@pytest.mark.needs_data
def test_the_evaluation_rows_are_the_registered_sample_and_never_tuning_questions(data_dir):
    rows = eval_rows(data_dir, 0, "registered")
    assert len(rows) == 1283
    dev = eval_rows(data_dir, 0)
    tuning = evaluation_sample(dev).tuning_ids()
    assert len(tuning) == 270 and not {r["id"] for r in rows} & tuning


def test_the_registered_sample_cannot_be_resized_from_the_command_line(tmp_path):
    with pytest.raises(ExperimentError, match="registered questions"):
        plan_grid(V2, "v2", n_per_lang=30)
    bad = tmp_path / "bad.toml"
    bad.write_text(V2.read_text(encoding="utf-8").replace('sample = "registered"', 'sample = "random"'),
                   encoding="utf-8")
    with pytest.raises(ExperimentError, match="sample must be one of first, registered"):
        plan_grid(bad, "v2")


# --- the committed v2 results (benchmarks/results/experiment/v2): the "done when", checked in CI -----

RESULTS = REPO / "benchmarks" / "results" / "experiment" / "v2"


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()


@pytest.mark.skipif(not (RESULTS / "records.json.gz").is_file(), reason="the v2 grid has not been run yet")
def test_committed_v2_results_follow_the_plan_and_re_render(tmp_path):
    run = json.loads((RESULTS / "run.json").read_text(encoding="utf-8"))
    # the plan the run answered to is the plan as committed now (frozen after the first record) ...
    plan = run["plan"]
    assert plan["path"] == "benchmarks/experiment-v2.md"
    assert plan["commit"] == _git("log", "-1", "--format=%H", "--", plan["path"])
    # ... and every record was made by code that descends from the plan's commit, after it
    records = json.loads(gzip.decompress((RESULTS / "records.json.gz").read_bytes()))["records"]
    for commit in {r["env"]["git_commit"].removesuffix("-dirty") for r in records}:
        assert subprocess.run(["git", "-C", str(REPO), "merge-base", "--is-ancestor", plan["commit"], commit],
                              timeout=60).returncode == 0, commit
    md = (RESULTS / "results.md").read_text(encoding="utf-8")
    assert "was created after it" in md and "⚠" not in md.split("## Models")[0]
    # ASR counts averaged over seeds read as counts (84.7/511.3), not as float noise (84.6667/511.333)
    assert re.findall(r"\((\d+(?:\.\d)?)/(\d+(?:\.\d)?)\) \|$", md, re.M) and not re.search(r"\(\d+\.\d\d+/", md)
    # the reading answers both questions (plan, section 8)
    reading = md.split("## Reading")[1]
    assert "**RQ1" in reading and "**RQ2" in reading and "(to be written" not in reading
    # >= 3 seeds of every arm (B+ included) in the registered analysis, 150 questions per language (bn 83)
    reg = json.loads((RESULTS / "analysis.json").read_text(encoding="utf-8"))["registered"]
    arms = {"baseline", "baseline-plus", "en-qa", "multi-qa", "mixed-qa", "en-nli", "multi-nli", "mixed-nli"}
    assert arms <= set(reg["seeds"]) and all(reg["seeds"][a] >= 3 for a in arms)  # seeds counted per arm
    assert reg["n_resamples"] == 10_000  # the plan's bootstrap, not a quick look
    assert {r["data"]["n"] for r in records if r["cell"]["lang"] != "bn"} == {150}
    assert {r["data"]["n"] for r in records if r["cell"]["lang"] == "bn"} == {83}
    assert [r["id"] for r in reg["primary"]] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert all(0 < r["p"] <= r["p_holm"] <= 1 for r in reg["primary"])
    # the committed table is what the records render to, byte for byte
    for name in ("records.json.gz", "models.json", "run.json"):
        shutil.copy(RESULTS / name, tmp_path / name)
    assert render(tmp_path).read_bytes() == (RESULTS / "results.md").read_bytes()
