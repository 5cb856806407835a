"""The research experiment (`xadv.experiments`, `xadv experiment`, the script benchmarks/experiment.py): the grid,
the zero-shot marks, a real micro run end to end (tiny model, smoke preset, 3 questions per language), resume,
rendering from the records alone, the `plan` / `render` commands, and bad input.

The micro run trains 3 grid cells (baseline, en-qa, mixed-qa) of a tiny random model with the real
tokenizer: its numbers mean nothing, but every part of the chain is the real one.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
import xadv.experiments as exp
from xadv.commands.experiment import DEFAULT_CONFIG, main
from xadv.device import training_precision
from xadv.experiments.runner import Progress
from xadv.train.config import PRESETS_DIR

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "benchmarks" / "experiment.toml"

MICRO_TOML = """
mixes = ["en", "multi", "mixed"]
tasks = ["qa", "nli", "paraphrase", "all"]
baseline = true
en_share = 0.5

[task_names]
qa = ["qa"]
nli = ["xnli"]
paraphrase = ["pawsx"]
all = ["qa", "xnli", "pawsx"]

[budget.micro]
preset = "smoke"
seeds = [13]
n_per_lang = 3
attack_seed = 0
strength = 0.2
eval_batch_size = 16
sets = ["budget.lora_r=0", "phases.intermediate.max_steps=2", "phases.target.max_steps=2",
        "phases.intermediate.max_examples=8", "phases.target.max_examples=8"]
attacks = ["keyboard:question", "distractor:context"]
"""


def _settings_and_budget(name="small"):
    settings = exp.read_settings(CONFIG)
    return settings, exp.get_budget(settings, name)


def test_grid_is_13_models_per_seed_with_the_baseline_once():
    settings, budget = _settings_and_budget()
    grid = exp.expand_grid(settings, budget)
    assert len(grid) == 13 and len({c.id for c in grid}) == 13
    baselines = [c for c in grid if c.mix is None]
    assert len(baselines) == 1 and baselines[0].intermediate == () and baselines[0].id == "baseline-s13"
    assert {(c.mix, c.task) for c in grid if c.mix} == {(m, t) for m in ("en", "multi", "mixed")
                                                        for t in ("qa", "nli", "paraphrase", "all")}
    assert next(c for c in grid if c.id == "mixed-all-s13").intermediate == ("qa", "xnli", "pawsx")
    assert next(c for c in grid if c.id == "en-paraphrase-s13").intermediate == ("pawsx",)
    two = exp.expand_grid(settings, budget, seeds=[1, 2])
    assert len(two) == 26 and sum(c.mix is None for c in two) == 2
    assert len(exp.expand_grid(settings, budget, mixes=["mixed"], tasks=["qa"])) == 2
    assert len(exp.expand_grid(settings, budget, baseline=False)) == 12
    _, full = _settings_and_budget("full")
    assert full.seeds == [13, 14, 15] and full.n_per_lang == 0 and full.preset == "gpu"
    assert len(exp.expand_grid(settings, full)) == 39
    for cid in ("baseline-s13", "mixed-paraphrase-s7"):
        assert exp.parse_cell_id(cid)["seed"] in (13, 7)


def test_every_cell_trains_the_same_budget_and_base_flows_through():
    settings, budget = _settings_and_budget()
    grid = exp.expand_grid(settings, budget)
    configs = {c.id: exp.train_config(c, settings, budget) for c in grid}
    sets = dict(s.split("=", 1) for s in budget.sets)  # the budget's own overrides reach every cell
    assert {"phases.target.max_steps", "phases.intermediate.max_steps", "phases.intermediate.max_examples"} <= set(sets)
    for cid, cfg in configs.items():
        assert cfg.target == "tydiqa:en:train" and cfg.seed == 13 and cfg.base == "me5-small"
        assert cfg.target_phase.max_steps == int(sets["phases.target.max_steps"]) > 0
        assert cfg.budget.mixed_precision == "auto"  # bf16 where the CPU has it natively (xadv.device)
        assert cfg.intermediate_phase.lr == 5e-4  # the cpu preset's (2e-3 collapsed the encoder)
        if cid != "baseline-s13":
            assert cfg.intermediate_phase.max_steps == int(sets["phases.intermediate.max_steps"]) > 0
            assert cfg.intermediate_phase.max_examples == int(sets["phases.intermediate.max_examples"])
    assert configs["baseline-s13"].intermediate == []
    assert configs["mixed-nli-s13"].mix == "mixed" and configs["mixed-nli-s13"].intermediate == ["xnli"]
    assert len({c.digest() for c in configs.values()}) == 13
    cell = next(c for c in grid if c.id == "en-qa-s13")
    assert exp.train_config(cell, settings, budget, base="xlm-roberta-large").base == "xlm-roberta-large"
    runs, store, results = exp.resolve_paths(budget, root=REPO, base="xlm-roberta-large")
    assert runs.name == "small-xlm-roberta-large" and results.name == "small-xlm-roberta-large"


@pytest.mark.needs_data
def test_seen_languages_mark_ko_sw_for_multilingual_qa_only(data_dir):
    settings, budget = _settings_and_budget("smoke")
    seen = {}
    for mix, task in (("en", "qa"), ("multi", "qa"), ("mixed", "all"), ("mixed", "nli"), ("multi", "paraphrase")):
        cell = exp.GridCell(mix, task, 13, tuple(settings.task_names[task]))
        seen[cell.group] = exp.seen_qa_languages(exp.train_config(cell, settings, budget), data_dir)
    assert seen == {"en-qa": ["en"], "multi-qa": ["en", "ko", "sw"], "mixed-all": ["en", "ko", "sw"],
                    "mixed-nli": ["en"], "multi-paraphrase": ["en"]}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=xadv tests", "-c", "user.email=tests@xadv",
                           *args], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def _commit_plan(root: Path, text: str) -> str:
    if not (root / ".git").exists():
        _git(root, "init", "-q")
    (root / "plan.md").write_text(text, encoding="utf-8")
    _git(root, "add", "plan.md")
    _git(root, "commit", "-q", "-m", "plan")
    return _git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def micro(tmp_path_factory, data_dir):
    """A real micro run of three grid cells (one torch thread: the tiny model gains nothing from two, and
    two threads crawl on a shared machine); returns its paths and exit code."""
    import os

    import torch

    from xadv.testing import tiny_qa_model

    root = tmp_path_factory.mktemp("experiment")
    model, tok = tiny_qa_model(seed=0, hidden=32, layers=2)
    base = root / "tiny-base"
    model.save_pretrained(str(base))
    tok.save_pretrained(str(base))
    config = root / "experiment.toml"
    config.write_text('plan = "plan.md"\nstand_ins = true\n' + MICRO_TOML, encoding="utf-8")
    _commit_plan(root, "# micro plan\n")  # a registered plan, committed before the run
    argv = ["--budget", "micro", "--config", str(config), "--base", str(base), "--mixes", "en,mixed",
            "--tasks", "qa", "--runs", str(root / "runs"), "--results", str(root / "results"),
            "--data-dir", str(data_dir), "--quiet"]
    threads, env = torch.get_num_threads(), os.environ.get("XADV_NUM_THREADS")
    os.environ["XADV_NUM_THREADS"] = "1"
    try:
        rc = main(argv)  # the script's entry: `run` implied, run.json records `python benchmarks/experiment.py ...`
    finally:
        torch.set_num_threads(threads)
        if env is None:
            os.environ.pop("XADV_NUM_THREADS", None)
        else:
            os.environ["XADV_NUM_THREADS"] = env
    return {"root": root, "argv": argv, "base": base, "results": root / "results", "runs": root / "runs",
            "rc": rc}


def _records(results: Path) -> list[dict]:
    return json.loads(gzip.decompress((results / exp.RECORDS_FILE).read_bytes()))["records"]


@pytest.mark.needs_data
def test_micro_run_writes_records_models_run_and_table(micro):
    assert micro["rc"] == 0
    results = micro["results"]
    records = _records(results)
    # 3 models x 9 languages x 2 attack cells, every one a real, sealed attack record
    assert len(records) == 3 * 9 * 2
    assert {r["schema"] for r in records} == {"xadv.attack-record/2"} and all(r["digest"] for r in records)
    assert {r["model"]["name"] for r in records} == {"baseline-s13", "en-qa-s13", "mixed-qa-s13"}
    assert {(r["attack"]["name"], r["attack"]["target"]) for r in records} == {
        ("keyboard", "question"), ("distractor", "context")}
    assert {r["data"]["n"] for r in records} == {3}
    # the same questions for every model: paired
    assert len({(r["cell"]["lang"], r["cell"]["data_sha256"]) for r in records}) == 9
    models = {m["id"]: m for m in json.loads((results / exp.MODELS_FILE).read_text())["models"]}
    assert models["baseline-s13"]["steps"] == {"target": 2}
    assert models["mixed-qa-s13"]["steps"] == {"intermediate": 2, "target": 2}
    # per-task losses reach models.json and the models table (2 steps: too few to judge learning)
    assert models["mixed-qa-s13"]["task_losses"]["intermediate"]["qa"]["steps"] == 2
    assert models["baseline-s13"]["task_losses"] == {"target": models["baseline-s13"]["task_losses"]["target"]}
    assert models["mixed-qa-s13"]["not_learning"] == {}
    # --base reached training: every card names the tiny base
    assert {m["base_model"]["name"] for m in models.values()} == {str(micro["base"])}
    run = json.loads((results / exp.RUN_FILE).read_text())
    assert run["command"].startswith("python benchmarks/experiment.py --budget micro")
    assert run["device"]["type"] in ("cpu", "cuda") and run["machine"]["cpus"] >= 1
    assert run["software"]["torch"] and run["wall_seconds"] > 0 and run["reading"]["text"] is None
    assert set(run["cell_seconds"]) == {"baseline-s13", "en-qa-s13", "mixed-qa-s13"}
    # one part, run to its end, that trained and evaluated all three; the plan's commit is recorded
    (part,) = run["parts"]
    assert part["finished"] and part["wall_seconds"] > 0 and part["started"] <= part["last"]
    assert part["trained"] == part["evaluated"] == ["baseline-s13", "en-qa-s13", "mixed-qa-s13"]
    assert run["plan"]["path"] == "plan.md" and run["plan"]["commit"] == _git(micro["root"], "rev-parse", "HEAD")
    md = (results / exp.TABLE_FILE).read_text(encoding="utf-8")
    assert (f"registered plan: `plan.md` at commit {run['plan']['commit'][:12]}" in md
            and "every one of the 54 records was created after it, and every one of the 3 model cards after "
                "the plan's registration" in md)
    assert "- run in 1 part (wall minutes each;" in md and "more than one machine" not in md
    # the precision each model trained in, from its card: the smoke preset pins fp32 ("no") on every machine,
    # while the device line may say the CPU has native bf16
    smoke = tomllib.loads((PRESETS_DIR / "smoke.toml").read_text(encoding="utf-8"))
    assert training_precision(smoke["budget"]["mixed_precision"]).name == "no"
    assert {m["precision"] for m in models.values()} == {"no"}
    assert "- training precision (from the model cards): fp32 for every model" in md
    for part in ("## Clean F1 per language", "### `keyboard/question`", "mixed vs en", "## Alignment",
                 "## Reading", "plots/robust_f1.png", "intermediate loss"):
        assert part in md
    mixed_qa = next(line for line in md.splitlines() if line.startswith("| `mixed-qa-s13` |"))
    first, last = (models["mixed-qa-s13"]["task_losses"]["intermediate"]["qa"][k] for k in ("first", "last"))
    assert f"qa {first:.2f}→{last:.2f}" in mixed_qa
    assert all((results / exp.PLOTS_DIR / f).stat().st_size > 1000
               for f in ("robust_f1.png", "mixed_gains.png", "tasks.png"))


@pytest.mark.needs_data
def test_micro_run_marks_seen_languages(micro):
    records = _records(micro["results"])
    zs = {(r["model"]["name"], r["cell"]["lang"]): r["model"]["zero_shot"] for r in records}
    assert zs[("mixed-qa-s13", "ko")] is False and zs[("mixed-qa-s13", "sw")] is False
    assert zs[("mixed-qa-s13", "fi")] is True and zs[("en-qa-s13", "ko")] is True
    assert all(zs[(m, "en")] is False for m in ("baseline-s13", "en-qa-s13", "mixed-qa-s13"))
    md = (micro["results"] / exp.TABLE_FILE).read_text(encoding="utf-8")
    row = next(line for line in md.splitlines() if line.startswith("| `mixed-qa` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    langs = ["ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te"]
    marked = {lang for lang, c in zip(langs, cells[1:10]) if c.endswith("*")}
    assert marked == {"en", "ko", "sw"}
    # the mixed-vs-en comparison is also given on the languages zero-shot for both
    assert "| qa | mixed vs en | ar bn fi id ru te |" in md


@pytest.mark.needs_data
def test_rerun_skips_the_models_in_the_ledger(micro, monkeypatch, capsys):
    import xadv.experiments.runner as runner
    import xadv.train.pipeline

    def boom(*a, **k):
        raise AssertionError("a finished model was trained or evaluated again")

    monkeypatch.setattr(xadv.train.pipeline, "train", boom)
    monkeypatch.setattr(runner, "evaluate_cell", boom)
    ledger = micro["results"] / "ledger"
    before = {p.name: p.read_bytes() for p in ledger.glob("*.json.gz")}
    assert sorted(before) == ["baseline-s13.json.gz", "en-qa-s13.json.gz", "mixed-qa-s13.json.gz"]
    records = (micro["results"] / exp.RECORDS_FILE).read_bytes()
    assert main(micro["argv"]) == 0
    err = capsys.readouterr().err
    assert err.count("trained and evaluated in an earlier part") == 3
    assert {p.name: p.read_bytes() for p in ledger.glob("*.json.gz")} == before  # written once, never rewritten
    assert (micro["results"] / exp.RECORDS_FILE).read_bytes() == records
    # the rerun is a second part that trained and evaluated nothing
    parts = json.loads((micro["results"] / exp.RUN_FILE).read_text())["parts"]
    assert len(parts) == 2 and parts[1]["finished"] and parts[1]["trained"] == parts[1]["evaluated"] == []
    assert parts[0]["trained"] == ["baseline-s13", "en-qa-s13", "mixed-qa-s13"]


@pytest.mark.needs_data
def test_a_lost_models_directory_resumes_from_the_ledger(micro, tmp_path, monkeypatch, capsys):
    """A fresh clone on a new machine: the committed outputs (with their ledger) and no runs/ at all. Nothing
    is trained or evaluated again and the export gives the same records and models (the reason for the ledger:
    the v2 grid's first 11 models were lost with a machine)."""
    import xadv.experiments.runner as runner
    import xadv.train.pipeline

    def boom(*a, **k):
        raise AssertionError("a finished model was trained or evaluated again")

    monkeypatch.setattr(xadv.train.pipeline, "train", boom)
    monkeypatch.setattr(runner, "evaluate_cell", boom)
    results = tmp_path / "results"
    shutil.copytree(micro["results"], results)
    argv = list(micro["argv"])
    argv[argv.index("--runs") + 1] = str(tmp_path / "no-runs")
    argv[argv.index("--results") + 1] = str(results)
    assert main(argv) == 0
    assert capsys.readouterr().err.count("trained and evaluated in an earlier part") == 3
    assert (results / exp.RECORDS_FILE).read_bytes() == (micro["results"] / exp.RECORDS_FILE).read_bytes()

    def models(path):
        return [{k: v for k, v in m.items() if k != "checkpoint"}
                for m in json.loads((path / exp.MODELS_FILE).read_text())["models"]]

    assert models(results) == models(micro["results"])
    run = json.loads((results / exp.RUN_FILE).read_text())
    assert run["cell_seconds"] == json.loads((micro["results"] / exp.RUN_FILE).read_text())["cell_seconds"]
    assert run["cell_seconds"]["mixed-qa-s13"]["train_wall_seconds"] > 0


@pytest.mark.needs_data
def test_each_model_is_evaluated_and_in_the_ledger_before_the_next_trains(micro, tmp_path, monkeypatch, capsys):
    """A part killed while training the second model has already evaluated the first and written its ledger
    entry; a lost ledger is rebuilt from the models and the store (nothing trained, nothing computed)."""
    import xadv.experiments.runner as runner

    real = runner.train_cell

    def killed_at_the_second(config, out, **k):
        if out.name == "en-qa-s13":
            raise SystemExit(143)
        return real(config, out, **k)

    runs = tmp_path / "runs"
    shutil.copytree(micro["runs"], runs)
    argv = list(micro["argv"])
    argv[argv.index("--runs") + 1] = str(runs)
    argv[argv.index("--results") + 1] = str(tmp_path / "results")
    monkeypatch.setattr(runner, "train_cell", killed_at_the_second)
    with pytest.raises(SystemExit):
        main(argv)
    ledger = tmp_path / "results" / "ledger"
    assert sorted(p.name for p in ledger.glob("*.json.gz")) == ["baseline-s13.json.gz"]
    err = capsys.readouterr().err
    assert "already trained (model card found): skipped" in err and "0 computed, 9 cached" in err
    [part] = json.loads((ledger / "parts.json").read_text())
    assert not part["finished"] and part["trained"] == part["evaluated"] == []
    entry = json.loads(gzip.decompress((ledger / "baseline-s13.json.gz").read_bytes()))
    mine = [r for r in _records(micro["results"]) if r["model"]["name"] == "baseline-s13"]
    def by_cell(records):
        return sorted(records, key=lambda r: r["cell"]["key"])

    assert by_cell(entry["records"]) == by_cell(mine) and entry["schema"] == "xadv.experiment-cell/1"


@pytest.mark.needs_data
@pytest.mark.parametrize("damage, message", [
    (lambda e: e.update(config_digest="0" * 64), "made with a different config (digest 000000000000"),
    (lambda e: e.update(id="en-qa-s13"), "the entry of 'en-qa-s13', not of 'baseline-s13'"),
    (lambda e: e["records"][0]["model"].update(name="en-qa-s13"), "not all of model baseline-s13"),
    (lambda e: e.pop("card"), "not an xadv.experiment-cell/1 ledger entry"),
    (None, "not a gzipped ledger entry"),
])
def test_a_damaged_ledger_entry_is_one_line_and_exit_2(micro, tmp_path, damage, message, capsys):
    results = tmp_path / "results"
    shutil.copytree(micro["results"], results)
    path = results / "ledger" / "baseline-s13.json.gz"
    if damage is None:
        path.write_bytes(b"not gzip")
    else:
        entry = json.loads(gzip.decompress(path.read_bytes()))
        damage(entry)
        path.write_bytes(gzip.compress(json.dumps(entry).encode()))
    parts = (results / "ledger" / "parts.json").read_bytes()
    argv = list(micro["argv"])
    argv[argv.index("--results") + 1] = str(results)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1] and not any("Traceback" in e for e in err)
    assert (results / "ledger" / "parts.json").read_bytes() == parts  # refused before a part was logged


@pytest.mark.needs_data
def test_a_part_killed_inside_a_training_keeps_its_time(micro, tmp_path, monkeypatch):
    """A session's end kills the part mid-training (SIGTERM -> SystemExit): the seconds it spent count in
    timings.json (they used to be lost, so a cell resumed over parts under-reported its training time)."""
    import time

    import xadv.experiments.runner as runner

    def killed(*a, **k):
        time.sleep(0.3)
        raise SystemExit(143)

    monkeypatch.setattr(runner, "train_cell", killed)
    argv = list(micro["argv"])
    argv[argv.index("--runs") + 1] = str(tmp_path / "runs")
    argv[argv.index("--results") + 1] = str(tmp_path / "results")
    with pytest.raises(SystemExit):
        main(argv)
    timings = json.loads((tmp_path / "runs" / "timings.json").read_text())
    assert list(timings) == ["baseline-s13"] and timings["baseline-s13"]["train_wall_seconds"] >= 0.3
    [part] = json.loads((tmp_path / "results" / "ledger" / "parts.json").read_text())
    assert not part["finished"] and part["trained"] == []


@pytest.mark.needs_data
def test_a_run_refuses_an_edited_or_uncommitted_plan(micro, capsys):
    plan = micro["root"] / "plan.md"
    before = (micro["results"] / "ledger" / "parts.json").read_bytes()
    plan.write_text("# micro plan\nchanged after the records\n", encoding="utf-8")
    try:
        assert main(micro["argv"]) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("error: plan.md has uncommitted changes") and "amendment" in err
    finally:
        _git(micro["root"], "checkout", "--", "plan.md")
    config = micro["root"] / "experiment.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('plan = "plan.md"', 'plan = "draft.md"'), encoding="utf-8")
    (micro["root"] / "draft.md").write_text("# not committed\n", encoding="utf-8")
    try:
        assert main(micro["argv"]) == 2
        assert "draft.md: the registered plan is not committed" in capsys.readouterr().err
    finally:
        config.write_text(text, encoding="utf-8")
    assert (micro["results"] / "ledger" / "parts.json").read_bytes() == before  # refused before anything was written


@pytest.mark.needs_data
def test_render_from_the_records_alone(micro, tmp_path):
    only = tmp_path / "only-records"
    only.mkdir()
    shutil.copy(micro["results"] / exp.RECORDS_FILE, only / exp.RECORDS_FILE)
    assert main(["render", "--results", str(only)]) == 0
    md = (only / exp.TABLE_FILE).read_text(encoding="utf-8")
    assert "## Robust F1 per language" in md and "### `distractor/context`" in md
    # with run.json the reading written there appears in the table
    shutil.copy(micro["results"] / exp.RUN_FILE, only / exp.RUN_FILE)
    run = json.loads((only / exp.RUN_FILE).read_text())
    run["reading"]["text"] = "Mixed helps nowhere at this budget."
    (only / exp.RUN_FILE).write_text(json.dumps(run), encoding="utf-8")
    assert main(["render", "--results", str(only)]) == 0
    assert "Mixed helps nowhere at this budget." in (only / exp.TABLE_FILE).read_text(encoding="utf-8")
    # a run resumed on another machine says which parts ran where
    first = run["parts"][0]
    run["parts"] = [first, {**first, "device": "cpu: 2 cores, Other CPU, no native bf16 (no GPU found)"}, first]
    (only / exp.RUN_FILE).write_text(json.dumps(run), encoding="utf-8")
    assert main(["render", "--results", str(only)]) == 0
    assert (f"- the parts ran on more than one machine: parts 1, 3 on {first['device']}; part 2 on cpu: 2 cores, "
            f"Other CPU, no native bf16 (no GPU found)") in (only / exp.TABLE_FILE).read_text(encoding="utf-8")


@pytest.mark.needs_data
def test_render_refuses_an_edited_record(micro, tmp_path, capsys):
    data = json.loads(gzip.decompress((micro["results"] / exp.RECORDS_FILE).read_bytes()))
    example = data["records"][0]["examples"][0]
    example["adv_f1"] = 0.25 if example["adv_f1"] != 0.25 else 0.75  # an edit after the run
    bad = tmp_path / "bad"
    exp.write_records(bad / exp.RECORDS_FILE, data["records"])
    assert main(["render", "--results", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err


@pytest.mark.parametrize("damage", ["header", "deflate", "truncated"])
def test_render_of_a_damaged_records_file_is_one_line_and_exit_2(tmp_path, capsys, damage):
    """gzip raises three kinds of error (OSError for the header, zlib.error for damaged compressed data,
    EOFError for a cut file): each is one line, never a traceback."""
    blob = bytearray((REPO / "benchmarks" / "results" / "experiment" / "small" / exp.RECORDS_FILE).read_bytes())
    if damage == "header":
        blob[:2] = b"xx"
    elif damage == "deflate":
        for i in range(40, 80):
            blob[i] ^= 0x55
    else:
        del blob[len(blob) // 2:]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / exp.RECORDS_FILE).write_bytes(bytes(blob))
    assert main(["render", "--results", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a gzipped records file" in err and "\n" not in err


def test_progress_counts_what_is_left_at_the_measured_pace():
    def row(state, records=0, train=None, ev=None):
        return {"state": state, "records": records, "train_minutes": train, "eval_minutes": ev}

    rows = [row("done", 44, 30.0, 10.0), row("done", 0, 20.0), row("diverged", 44, 40.0, 14.0), row("partial"),
            row("new"), row("done")]  # the last: trained in a pilot, its time not in timings.json
    p = Progress.of(rows)
    assert (p.trained, p.evaluated, p.train_left, p.eval_left) == (4, 2, 1.5, 4)
    assert p.train_minutes == 30.0 and p.eval_minutes == 12.0
    assert p.line() == ("4/6 trained, 2/6 with records; 1.5 trainings left at 30 min: about 0.8 h; "
                        "4 evaluations left at 12 min: about 0.8 h")
    fresh = Progress.of([row("new"), row("new")])
    assert fresh.line() == "0/2 trained, 0/2 with records; 2 trainings left, not yet timed; 2 evaluations left, " \
                           "not yet timed"


@pytest.mark.needs_data
def test_xadv_experiment_plan_shows_what_is_done_and_refuses_an_unknown_budget(micro):
    """`xadv experiment plan` on the micro run's options: every model done, its seen languages; no training."""
    runner = CliRunner()
    plan_args = [a for a in micro["argv"] if a != "--quiet"]
    result = runner.invoke(cli.app, ["experiment", "plan", *plan_args])
    assert result.exit_code == 0, result.output
    *rows, progress = result.stdout.splitlines()
    lines = {line.split()[0]: line for line in rows}
    assert set(lines) == {"baseline-s13", "en-qa-s13", "mixed-qa-s13"}
    assert all(line.split()[1] == "done" for line in lines.values())
    n = len(_records(micro["results"])) // 3
    assert all(f"; {n} records" in line for line in lines.values())
    assert progress == "3/3 trained, 3/3 with records; no training left; no evaluation left"
    assert "seen QA languages: en ko sw (not zero-shot); " in lines["mixed-qa-s13"]
    assert "intermediate=none" in lines["baseline-s13"]
    assert DEFAULT_CONFIG == CONFIG  # without --config: the repository's grid
    bad = runner.invoke(cli.app, ["experiment", "plan", "--budget", "huge"])
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.strip() == "error: unknown budget 'huge': choose one of small, full, smoke"


@pytest.mark.needs_data
def test_xadv_experiment_render_rebuilds_the_table(micro, tmp_path):
    only = tmp_path / "render-cli"
    only.mkdir()
    shutil.copy(micro["results"] / exp.RECORDS_FILE, only / exp.RECORDS_FILE)
    result = CliRunner().invoke(cli.app, ["experiment", "render", "--results", str(only)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(only / exp.TABLE_FILE)
    md = (only / exp.TABLE_FILE).read_text(encoding="utf-8")
    assert "registered plan" not in md  # records alone: no run.json, no plan to check them against
    for part in ("## Clean F1 per language", "### `keyboard/question`", "### `distractor/context`", "mixed vs en"):
        assert part in md
    analysis = json.loads((only / "analysis.json").read_text(encoding="utf-8"))
    assert set(analysis["groups"]) == {"baseline", "en-qa", "mixed-qa"}
    assert (only / exp.PLOTS_DIR / "robust_f1.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["--budget", "huge"], "unknown budget 'huge'"),
    (["--budget", "small", "--mixes", "en,fr"], "unknown mix 'fr'"),
    (["--budget", "small", "--tasks", "qa,sts"], "unknown task 'sts'"),
    (["--budget", "small", "--seeds", "1,x"], "--seeds must be"),
    (["--budget", "small", "--config", "/nonexistent.toml"], "experiment config not found"),
    (["render", "--results", "/nonexistent-dir"], "no records file"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_bad_attack_in_config_and_script_exit_code(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MICRO_TOML.replace('"distractor:context"', '"distractor:question"'), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "experiment.py"), "--budget", "micro",
                           "--config", str(bad), "--dry-run"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "cannot target 'question'" in proc.stderr


# --- the committed run (benchmarks/results/experiment/small): data checked in CI, as a leaderboard is ----

COMMITTED = REPO / "benchmarks" / "results" / "experiment" / "small"


@pytest.mark.skipif(not (COMMITTED / exp.RECORDS_FILE).is_file(), reason="no committed small run")
def test_committed_small_run_re_renders_to_the_committed_table(tmp_path):
    """Every number of the committed results.md comes from the committed records (each record's digest
    and summary re-checked by render), and the run is of the budget the config names today."""
    copy = tmp_path / "small"
    shutil.copytree(COMMITTED, copy)
    (copy / exp.TABLE_FILE).unlink()
    assert main(["render", "--results", str(copy)]) == 0
    assert (copy / exp.TABLE_FILE).read_text(encoding="utf-8") == \
        (COMMITTED / exp.TABLE_FILE).read_text(encoding="utf-8")
    run = json.loads((COMMITTED / exp.RUN_FILE).read_text(encoding="utf-8"))
    _, budget = _settings_and_budget("small")
    assert run["settings"]["sets"] == list(budget.sets)
    assert run["settings"]["attacks"] == [f"{a.attack}/{a.target}" for a in budget.attacks]
    assert (run["settings"]["n_per_lang"], run["settings"]["seeds"]) == (budget.n_per_lang, list(budget.seeds))
    assert len(run["grid"]) == 13 and run["wall_seconds"] > 0 and run["reading"]["text"]


@pytest.mark.needs_data
def test_a_diverged_training_gets_a_stand_in_that_is_trained_evaluated_and_reported(micro, capsys):
    """Amendment 5 of the v2 plan: the card of a training whose target loss did not fall makes the runner
    train and evaluate the same arm with seed + 10; both stay in the records; models.json says which is which.
    (Last in this file: it adds a model to the shared micro run.)"""
    card_path = micro["runs"] / "baseline-s13" / "xadv_card.json"
    entry_path = micro["results"] / "ledger" / "baseline-s13.json.gz"
    original, original_entry = card_path.read_bytes(), entry_path.read_bytes()
    card = json.loads(original)
    next(p for p in card["phases"] if p["name"] == "target")["not_learning"] = ["qa"]  # what a diverged run's says
    card_path.write_text(json.dumps(card), encoding="utf-8")
    entry = json.loads(gzip.decompress(original_entry))
    entry["card"] = card  # the ledger's copy of the card is the one a resumed run reads
    entry_path.write_bytes(gzip.compress(json.dumps(entry).encode()))
    try:
        assert main(micro["argv"]) == 0
        err = capsys.readouterr().err
        assert main(["plan", *micro["argv"]]) == 0
        shown = capsys.readouterr().out
    finally:
        card_path.write_bytes(original)
        entry_path.write_bytes(original_entry)
    assert "baseline-s13             diverged" in shown and "baseline-s23 stands in for it" in shown
    assert "baseline-s23             done" in shown
    assert "baseline-s13 diverged (its target loss did not fall): baseline-s23 stands in for it" in err
    models = {m["id"]: m for m in json.loads((micro["results"] / exp.MODELS_FILE).read_text())["models"]}
    assert models["baseline-s13"]["diverged"] and models["baseline-s13"]["stands_in_for"] is None
    assert models["baseline-s23"]["stands_in_for"] == "baseline-s13" and not models["baseline-s23"]["diverged"]
    assert models["baseline-s23"]["seed"] == 23 and models["en-qa-s13"]["diverged"] is False
    assert {r["model"]["name"] for r in _records(micro["results"])} == {
        "baseline-s13", "en-qa-s13", "mixed-qa-s13", "baseline-s23"}  # the diverged one's records are kept
    parts = json.loads((micro["results"] / exp.RUN_FILE).read_text())["parts"]
    assert parts[-1]["trained"] == parts[-1]["evaluated"] == ["baseline-s23"]
