"""`xadv sweep` and `xadv results merge`: one suite on local processes, on a real local Ray cluster (two worker
nodes) and as two scheduler shards merged, giving the same records and the same leaderboard; a Ray worker
killed mid-sweep; merges that conflict or meet a corrupt file."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from cli import app
from xadv.errors import XadvError
from xadv.runs.plan import build_plan, parse_shard
from xadv.runs.record import read_record
from xadv.runs.store import ResultsStore
from xadv.runs.suite import EvalSuite, ModelRef, run_suite, suite_rows
from xadv.runs.verify import FAILING, check_record

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
pytestmark = pytest.mark.needs_data

# the small real suite of the issue: the default model, 2 languages, 2 attacks, 20 questions
SUITE = """models = ["default"]
langs = ["sw", "fi"]
attacks = ["keyboard", "distractor"]
n = 20
[engine]
num_threads = 1
"""


def _xadv(args: list, *, cwd: Path, cache: Path, data_dir: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "XADV_CACHE_DIR": str(cache), "XADV_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, str(REPO / "cli.py"), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _outcomes(results: Path) -> dict[str, list]:
    """{cell key: per-example outcomes} of a results directory, every record checked."""
    out = {}
    for path, rec in ResultsStore(results).records():
        assert not [f for f in check_record(rec, key=None) if f.kind in FAILING], path
        assert rec["cell"]["key"] not in out, f"duplicate cell {path}"
        out[rec["cell"]["key"]] = rec["examples"]
    return out


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory, data_dir):
    """A real Ray cluster on this machine: a head node without CPUs and two worker nodes of one CPU each
    (Ray's own `cluster_utils`). Its workers see their own prediction cache and the reference data."""
    from ray.cluster_utils import Cluster

    env = {"XADV_CACHE_DIR": str(tmp_path_factory.mktemp("ray-cache")), "XADV_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(REPO),
           # Ray runs its workers at niceness 15: beside any other busy process they starve (a sweep that
           # takes a minute alone timed out after ten beside a second pytest worker)
           "RAY_worker_niceness": "0"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the raylets (and so every worker) inherit it
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                               "object_store_memory": 100 * 2**20})
        for _ in range(2):
            cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
        cluster.wait_for_nodes()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield cluster
    cluster.shutdown()


@pytest.mark.slow
def test_local_ray_and_merged_shards_give_the_same_records_and_leaderboard(tmp_path, data_dir, ray_cluster):
    from xadv.leaderboard import build_leaderboard
    from xadv.leaderboard.formats import render

    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE, encoding="utf-8")
    done = _xadv(["sweep", suite, "--results", tmp_path / "ray", "--json", "--engine", "ray", "--address",
                  ray_cluster.address], cwd=tmp_path, cache=tmp_path / "cache-ray", data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = {"ray": json.loads(done.stdout)}
    # local (--workers 2 is compared with one process on a tiny model below), then the two shards of an array job
    for name, extra in (("local", []), ("shard-1", ["--shard", "1/2"]), ("shard-2", ["--shard", "2/2"])):
        done = runner.invoke(app, ["sweep", str(suite), "--results", str(tmp_path / name), "--data-dir", str(data_dir),
                                   "--json", *extra])
        assert done.exit_code == 0, done.output[-3000:]
        reports[name] = json.loads(done.stdout)
    assert reports["local"]["computed"] == reports["ray"]["computed"] == 4
    assert reports["shard-1"]["computed"] == reports["shard-2"]["computed"] == 2  # one language each
    merged = runner.invoke(app, ["results", "merge", str(tmp_path / "shard-1"), str(tmp_path / "shard-2"),
                                 "--into", str(tmp_path / "merged")])
    assert merged.exit_code == 0, merged.output
    assert "4 record(s) added" in merged.stdout

    local, ray_, shards = (_outcomes(tmp_path / d) for d in ("local", "ray", "merged"))
    assert len(local) == 4 and set(local) == set(ray_) == set(shards)
    assert local == ray_ == shards  # per-example outcomes, cell by cell
    assert set(_outcomes(tmp_path / "shard-1")).isdisjoint(_outcomes(tmp_path / "shard-2"))
    boards = {d: render(build_leaderboard(tmp_path / d), "csv") for d in ("local", "ray", "merged")}
    assert boards["local"] == boards["ray"] == boards["merged"]
    assert boards["local"].count("\n") >= 5  # a header and the four cells


def _task_processes() -> list[psutil.Process]:
    """Ray worker processes executing a sweep task right now (Ray names them `ray::run_task`)."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any("ray::run_task" in part for part in (p.info["cmdline"] or [])):
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


@pytest.mark.slow
def test_a_ray_worker_killed_mid_sweep_is_retried_and_no_cell_is_lost_or_doubled(tmp_path, data_dir, ray_cluster):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.replace('["keyboard", "distractor"]', '["keyboard", "char-noise", "homoglyph", '
                                   '"distractor"]'), encoding="utf-8")
    results = tmp_path / "ray"
    env = {**os.environ, "XADV_CACHE_DIR": str(tmp_path / "cache"), "XADV_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(REPO)}
    sweep = subprocess.Popen([sys.executable, str(REPO / "cli.py"), "sweep", str(suite), "--engine", "ray",
                              "--address", ray_cluster.address, "--results", str(results), "--json"],
                             cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and sweep.poll() is None and time.monotonic() < deadline:
        if results.is_dir() and any(results.glob("*.json")):  # the sweep is under way: a cell is finished
            running = _task_processes()
            if running:
                killed = running[0].pid
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    out, err = sweep.communicate(timeout=600)
    assert killed is not None, f"no task was running to kill (rc {sweep.returncode}): {err[-2000:]}"
    assert sweep.returncode == 0, err[-3000:]
    report = json.loads(out)
    assert report["computed"] + report["cached"] == 8
    cells = _outcomes(results)  # every record checked, no cell twice
    assert len(cells) == 8
    assert sorted(p.name for p in results.iterdir() if not p.name.endswith(".json")) == \
        sorted(str(p.name) for p in map(Path, report["partial_files"]))  # only .part leftovers, reported
    plan_keys = {c["path"] and Path(c["path"]).name for c in report["cells"]}
    assert plan_keys == {p.name for p in results.glob("*.json")}


# --- merge ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, data_dir):
    """Records of a tiny model (A), a copy of them (B), and one cell of the same key computed by another
    model under A's fingerprint (C): the same cell with different outcomes, each record valid on its own."""
    from xadv.models.loading import load_qa_model
    from xadv.testing import tiny_checkpoint

    root = tmp_path_factory.mktemp("merge")
    ckpt = tiny_checkpoint(root / "tiny0", seed=0)
    other = tiny_checkpoint(root / "tiny1", seed=1)
    base = EvalSuite(models=(ModelRef(str(ckpt), "tiny"),), langs=("sw",), n=6, bootstrap=0,
                     attacks=EvalSuite.build({"attacks": "keyboard,char-noise"}).attacks, results=root / "A")
    run_suite(base, data_dir=data_dir)
    shutil.copytree(root / "A", root / "B")
    fingerprint = load_qa_model(str(ckpt)).fingerprint

    def impostor(ref):
        loaded = load_qa_model(str(other))
        loaded.fingerprint = fingerprint
        return loaded

    run_suite(replace(base, attacks=base.attacks[:1], results=root / "C"), data_dir=data_dir,
              loader=impostor)
    return root


def test_merge_deduplicates_identical_cells(tiny_runs, tmp_path):
    result = runner.invoke(app, ["results", "merge", str(tiny_runs / "A"), str(tiny_runs / "B"),
                                 "--into", str(tmp_path / "all"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["added"], report["duplicates"], report["conflicts"], report["rejected"]) == (2, 2, [], [])
    for p in (tiny_runs / "A").glob("*.json"):  # copied byte for byte
        assert (tmp_path / "all" / p.name).read_bytes() == p.read_bytes()
    again = runner.invoke(app, ["results", "merge", str(tiny_runs / "B"), "--into", str(tmp_path / "all")])
    assert again.exit_code == 0 and "0 record(s) added" in again.stdout and "2 already there" in again.stdout


def test_a_conflicting_cell_fails_the_merge_with_one_line_naming_it(tiny_runs, tmp_path):
    [conflicting] = list((tiny_runs / "C").glob("*.json"))
    assert (tiny_runs / "A" / conflicting.name).exists()  # the same key ...
    assert read_record(conflicting)["examples"] != read_record(tiny_runs / "A" / conflicting.name)["examples"]
    result = runner.invoke(app, ["results", "merge", str(tiny_runs / "A"), str(tiny_runs / "C"),
                                 "--into", str(tmp_path / "all")])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("conflict: cell tiny/sw/keyboard/question/s0"), lines
    assert str(conflicting) in lines[0] and "Traceback" not in result.output
    merged = {p.name for p in (tmp_path / "all").glob("*.json")}
    assert conflicting.name not in merged and len(merged) == 1  # the other cell merged, the conflict not


def test_corrupt_and_foreign_files_are_rejected_not_copied(tiny_runs, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_runs / "B", bad)
    victim = sorted(bad.glob("*.json"))[0]
    rec = json.loads(victim.read_text(encoding="utf-8"))
    rec["summary"]["adv_f1"] = 99.0  # a forged number: the digest no longer matches
    victim.write_text(json.dumps(rec), encoding="utf-8")
    (bad / "notes.json").write_text('{"hello": 1}', encoding="utf-8")
    (bad / f".{victim.name}.0123abcd.part").write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["results", "merge", str(bad), "--into", str(tmp_path / "all"), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert sorted(Path(r["file"]).name for r in report["rejected"]) == sorted([victim.name, "notes.json"])
    assert report["added"] == 1 and len(report["partial_files"]) == 1
    assert not (tmp_path / "all" / victim.name).exists()


def test_merge_bad_input_is_one_line(tmp_path):
    for args, message in ((["nope", "--into", str(tmp_path / "x")], "nope: no such results directory"),
                          ([str(tmp_path), "--into", str(tmp_path)], "also a source")):
        result = runner.invoke(app, ["results", "merge", *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


# --- the plan --------------------------------------------------------------------------------------------------


def test_shards_partition_the_plan_deterministically(data_dir):
    suite = EvalSuite.build({"langs": "sw,fi,ko", "attacks": "keyboard,char-noise,distractor,diacritics",
                             "seeds": [0, 1], "n": 5})
    rows = suite_rows(suite, data_dir)
    plan = build_plan(suite, rows, data_dir)
    assert len(plan.cells) == 3 * 4 * 2
    refused = {(c.lang, c.attack.name) for c in plan.refused}
    assert ("ko", "diacritics") in refused and all(c.refused for c in plan.refused)
    for n in (1, 2, 3, 5, 40):
        shards = [plan.shard(i, n) for i in range(1, n + 1)]
        cells = [c for s in shards for t in s for c in t.cells]
        assert sorted(cells, key=plan.cells.index) == list(plan.runnable)  # every runnable cell exactly once
        assert shards == [build_plan(suite, rows, data_dir).shard(i, n) for i in range(1, n + 1)]
        for s in shards:
            for t in s:
                assert {(c.model, c.lang) for c in t.cells} == {(t.model, t.lang)}  # one model, one language
    # tasks are (model, language) groups; asked for more workers, the largest is halved
    assert [len(t.cells) for t in plan.tasks()] == [len([c for c in plan.runnable if c.lang == lang])
                                                   for lang in ("sw", "fi", "ko")]
    assert len(plan.tasks(at_least=5)) == 5


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"])
def test_bad_shards_are_one_line(text):
    with pytest.raises(XadvError, match="--shard"):
        parse_shard(text)


def test_sweep_bad_input_is_one_line(tmp_path, data_dir):
    suite = tmp_path / "s.toml"
    suite.write_text(SUITE, encoding="utf-8")
    for args, message in ((["--engine", "slurm"], "unknown engine"), (["--shard", "3/2"], "--shard"),
                          (["--address", "auto"], "--address only applies"),
                          (["--workers", "0"], "--workers")):
        result = runner.invoke(app, ["sweep", str(suite), "--data-dir", str(data_dir), *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(SUITE + "[sweep]\nnum_gpus = -1\n", encoding="utf-8")
    result = runner.invoke(app, ["sweep", str(bad), "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "num_gpus" in result.output


def test_dry_run_lists_tasks_refusals_and_cost(tmp_path, data_dir):
    suite = tmp_path / "s.toml"
    suite.write_text(SUITE.replace('["keyboard", "distractor"]', '["keyboard", "diacritics"]')
                     .replace('["sw", "fi"]', '["fi", "ko"]'), encoding="utf-8")
    result = runner.invoke(app, ["sweep", str(suite), "--data-dir", str(data_dir), "--dry-run", "--json",
                                 "--results", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["cells"] == 4 and plan["runnable"] == 3
    assert [r["cell"] for r in plan["refused"]] == ["ko/diacritics/question/s0"]
    assert [t["lang"] for t in plan["tasks"]] == ["fi", "ko"] and plan["estimate"]["seconds"] > 0
    assert not (tmp_path / "r").exists()  # a dry run writes nothing


def test_a_rerun_skips_finished_cells_and_a_worker_process_writes_the_same(tmp_path, data_dir):
    from xadv.testing import tiny_checkpoint

    ckpt = tiny_checkpoint(tmp_path / "tiny", seed=0)
    suite = tmp_path / "s.toml"
    suite.write_text(f'models = ["{ckpt}"]\nlangs = ["sw", "te"]\nattacks = ["keyboard", "char-noise"]\nn = 4\n',
                     encoding="utf-8")
    args = ["sweep", str(suite), "--data-dir", str(data_dir), "--json", "--results"]
    first = runner.invoke(app, [*args, str(tmp_path / "r")])
    assert first.exit_code == 0, first.output
    assert (json.loads(first.stdout)["computed"], json.loads(first.stdout)["cached"]) == (4, 0)
    again = runner.invoke(app, [*args, str(tmp_path / "r")])
    assert (json.loads(again.stdout)["computed"], json.loads(again.stdout)["cached"]) == (0, 4)
    done = _xadv([*args[:5], "--workers", "2", "--results", tmp_path / "w"], cwd=tmp_path, cache=tmp_path / "c",
                 data_dir=data_dir, timeout=300)  # two spawned worker processes
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["computed"] == 4
    assert _outcomes(tmp_path / "w") == _outcomes(tmp_path / "r")


def _flags(*command: str) -> set[str]:
    res = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return set(re.findall(r"--[a-z][a-z0-9-]*", res.output))


def test_the_sweep_docs_and_the_array_script_use_real_flags_and_suites():
    suite = EvalSuite.build(EvalSuite.from_toml(REPO / "docs" / "suite-example.toml"))
    assert (suite.sweep.num_cpus, suite.sweep.num_gpus, suite.sweep.max_retries) == (1.0, 0.0, 3)
    text = "\n".join((REPO / "docs" / name).read_text(encoding="utf-8") for name in ("sweeps.md", "sweep-slurm.sbatch"))
    for command in (("sweep",), ("results", "merge")):
        used = re.findall(rf"xadv {' '.join(command)}\b([^\n\"`]*)", text)
        assert used, command
        unknown = {f for line in used for f in re.findall(r"--[a-z][a-z0-9-]*", line)} - _flags(*command)
        assert not unknown, (command, unknown)
    assert subprocess.run(["bash", "-n", str(REPO / "docs" / "sweep-slurm.sbatch")]).returncode == 0


def test_a_sweep_over_cross_lingual_pairs_plans_and_runs_each_pair_apart(tmp_path, data_dir):
    """MLQA-layout data with English contexts and German (and English) questions: one task per pair, the
    distractor refused for the pair (it would restate a German question into an English context), and each
    record holds only its pair's rows."""
    from xadv.data import load_qa
    from xadv.testing import tiny_checkpoint

    en = [dict(r) for r in load_qa("xquad:en:test", data_dir)][:5]
    de = {r["id"]: r["question"] for r in load_qa("xquad:de:test", data_dir)}
    folder = tmp_path / "data" / "MLQA_V1" / "dev"
    folder.mkdir(parents=True)
    for qlang in ("de", "en"):
        paragraphs = [{"context": r["context"], "qas": [{"id": r["id"], "question": de[r["id"]] if qlang == "de" else
                                                       r["question"], "answers": [
            {"text": t, "answer_start": s} for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]}]}
            for r in en]
        (folder / f"dev-context-en-question-{qlang}.json").write_text(json.dumps(
            {"version": "1.0", "data": [{"title": "t", "paragraphs": paragraphs}]}, ensure_ascii=False), "utf-8")
    ckpt = tiny_checkpoint(tmp_path / "tiny", seed=0)
    suite = tmp_path / "s.toml"
    suite.write_text(f'models = ["{ckpt}"]\ndata = "mlqa:en-de,en:dev"\nattacks = ["keyboard", "distractor"]\n',
                     encoding="utf-8")
    plan = runner.invoke(app, ["sweep", str(suite), "--data-dir", str(tmp_path / "data"), "--dry-run", "--json"])
    assert plan.exit_code == 0, plan.output
    planned = json.loads(plan.stdout)
    assert sorted(t["lang"] for t in planned["tasks"]) == ["en", "en-de"]
    assert [r["cell"] for r in planned["refused"]] == ["en-de/distractor/context/s0"]
    done = runner.invoke(app, ["sweep", str(suite), "--data-dir", str(tmp_path / "data"), "--json", "--results",
                               str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    records = [rec for _, rec in ResultsStore(tmp_path / "r").records()]
    assert sorted((r["cell"]["lang"], r["cell"].get("question_lang") or "", r["cell"]["attack"]) for r in records) == [
        ("en", "", "distractor"), ("en", "", "keyboard"), ("en", "de", "keyboard")]
    assert all(r["data"]["n"] == 5 for r in records)  # each pair's own five questions, never both pairs
