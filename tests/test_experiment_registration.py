"""The registered plan's commit (`xadv.experiments.registration`) and the parts log of a resumed run
(`xadv.experiments.parts`): a plan must be committed and unchanged to run, and every record of the small
run's real records is checked against a plan commit time placed before, inside and after them."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from xadv.experiments.parts import PartsLog, RunPart
from xadv.experiments.registration import PlanCommit, check_after_plan, plan_commit
from xadv.experiments.report import render
from xadv.experiments.spec import ExperimentError

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "benchmarks" / "results" / "experiment" / "small"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=xadv tests", "-c", "user.email=tests@xadv",
                           *args], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def test_plan_commit_needs_a_committed_unchanged_file(tmp_path):
    with pytest.raises(ExperimentError, match="not in a git checkout"):
        (tmp_path / "plan.md").write_text("# plan\n", encoding="utf-8")
        plan_commit(tmp_path / "plan.md")
    _git(tmp_path, "init", "-q")
    with pytest.raises(ExperimentError, match="plan.md: the registered plan is not committed"):
        plan_commit(tmp_path / "plan.md")
    _git(tmp_path, "add", "plan.md")
    _git(tmp_path, "commit", "-q", "-m", "register")
    (tmp_path / "other.txt").write_text("later work\n", encoding="utf-8")
    _git(tmp_path, "add", "other.txt")
    _git(tmp_path, "commit", "-q", "-m", "not the plan")
    pc = plan_commit(tmp_path / "plan.md")
    assert pc.path == "plan.md" and pc.commit == _git(tmp_path, "rev-list", "-1", "HEAD~1")  # the plan's own commit
    assert pc.sha256 == hashlib.sha256(b"# plan\n").hexdigest()
    assert pc.committed == pc.registered == _git(tmp_path, "log", "-1", "--format=%cI", "HEAD~1")
    # an amendment: the last commit moves, the registration stays
    (tmp_path / "plan.md").write_text("# plan\n\n## Amendments\n1. ...\n", encoding="utf-8")
    _git(tmp_path, "commit", "-q", "-am", "amendment 1")
    amended = plan_commit(tmp_path / "plan.md")
    assert amended.commit == _git(tmp_path, "rev-parse", "HEAD") and amended.registered == pc.registered
    assert PlanCommit.from_dict(json.loads(json.dumps(pc.to_dict()))) == pc
    (tmp_path / "plan.md").write_text("# plan, edited\n", encoding="utf-8")
    with pytest.raises(ExperimentError, match="uncommitted changes"):
        plan_commit(tmp_path / "plan.md")
    with pytest.raises(ExperimentError, match="does not exist"):
        plan_commit(tmp_path / "missing.md")


@pytest.mark.skipif(not (SMALL / "records.json.gz").is_file(), reason="no committed small run")
def test_every_record_and_card_is_checked_against_the_plans_commit_time():
    records = json.loads(gzip.decompress((SMALL / "records.json.gz").read_bytes()))["records"]
    models = json.loads((SMALL / "models.json").read_text())["models"]
    times = sorted(r["env"]["created"] for r in records)
    assert len(records) == 572 and times[0] < times[-1]

    def plan_at(when: str) -> PlanCommit:
        return PlanCommit("plan.md", "0" * 40, when, "f" * 64)

    # the small run's models.json predates cards' `created`: give them a time after the plan
    dated = [{**m, "created": times[-1]} for m in models]
    before = check_after_plan(plan_at("2026-11-01T00:00:00+00:00"), records, dated)
    assert before.ok and before.records == len(records) and before.models == len(models)
    assert (f"every one of the {len(records)} records was created after it, and every one of the {len(models)} "
            f"model cards after the plan's registration" in before.line())
    # a model trained between the registration and the last amendment is named, not flagged; a record is flagged
    amended = PlanCommit("plan.md", "0" * 40, times[0], "f" * 64, registered="2026-11-01T00:00:00Z")
    early_card = [{**dated[0], "created": "2026-11-15T00:00:00Z"}, *dated[1:]]
    named = check_after_plan(amended, records, early_card)
    assert named.ok and named.amended_after == (f"model {models[0]['id']}",)
    assert f"1 trained before its last amendment, with the config the plan still gives them: {models[0]['id']}" \
        in named.line() and "registered 2026-11-01T00:00:00Z" in named.line()
    card_before_registration = [{**dated[0], "created": "2026-10-01T00:00:00Z"}, *dated[1:]]
    assert check_after_plan(amended, records, card_before_registration).early == (f"model {models[0]['id']}",)
    middle = times[len(times) // 2]
    inside = check_after_plan(plan_at(middle), records, dated)
    assert len(inside.early) == sum(t < middle for t in times) > 0 and "⚠" in inside.line()
    after = check_after_plan(plan_at("2027-01-01T00:00:00Z"), records, dated)
    assert len(after.early) == len(records) + len(models)
    # a card with no creation time cannot be shown to follow the plan
    undated = check_after_plan(plan_at("2026-11-01T00:00:00Z"), records[:3], models[:1])
    assert undated.undated == (f"model {models[0]['id']}",) and not undated.ok and "(no time)" in undated.line()
    with pytest.raises(ExperimentError, match="not an ISO 8601 time"):
        check_after_plan(plan_at("yesterday"), records[:1], [])


@pytest.mark.skipif(not (SMALL / "records.json.gz").is_file(), reason="no committed small run")
def test_a_registered_render_leads_with_the_contrasts_and_checks_zero_shot_and_the_plan(tmp_path):
    """The small run's real records rendered as a registered (v2) run: contrasts first, the rest labelled
    exploratory, the plan check, and the zero-shot guard, which must catch the v1 multi/mixed QA models
    (they trained on TyDi ko/sw)."""
    for name in ("records.json.gz", "models.json"):
        shutil.copy(SMALL / name, tmp_path / name)
    run = json.loads((SMALL / "run.json").read_text(encoding="utf-8"))
    run["settings"]["sample"] = "registered"
    run["plan"] = PlanCommit("benchmarks/experiment-v2.md", "1" * 40, "2026-11-01T00:00:00+00:00", "2" * 64).to_dict()
    run["parts"] = [{**_part("python benchmarks/experiment.py").to_dict(), "wall_seconds": 600.0},
                    {**_part("python benchmarks/experiment.py").to_dict(), "wall_seconds": 90.0, "finished": True}]
    (tmp_path / "run.json").write_text(json.dumps(run), encoding="utf-8")
    md = render(tmp_path).read_text(encoding="utf-8")
    assert md.index("## Pre-registered contrasts") < md.index("## Models") < md.index("## Clean F1 per language")
    assert "## Mixed vs English-only and mixed vs multilingual-only, per intermediate task (exploratory)" in md
    assert "## Alignment: QA vs NLI vs paraphrase (and each vs no intermediate task) (exploratory)" in md
    assert "- run in 2 parts (wall minutes each;" in md and ": 10.0 (stopped), 1.5" in md
    # v1's models.json has no card times: the check says so instead of passing them
    assert "registered plan: `benchmarks/experiment-v2.md` at commit 111111111111" in md and "(no time)" in md
    guard = next(line for line in md.splitlines() if "Not zero-shot" in line)
    assert "`multi-qa-s13` saw ko sw" in guard and "`mixed-all-s13` saw ar ko ru sw" in guard
    assert "`multi-nli-s13` saw ar ru sw" in guard
    assert "`en-qa-s13`" not in guard and "seen TyDi langs (any data)" in md


@pytest.mark.skipif(not (SMALL / "records.json.gz").is_file(), reason="no committed small run")
def test_diverged_models_are_left_out_of_the_registered_contrasts(tmp_path):
    """Amendment 5 on real records: a model whose models.json entry says its target loss did not fall is left
    out of the registered analysis (its contrasts lose their arm) and named; the records stay."""
    for name in ("records.json.gz", "run.json"):
        shutil.copy(SMALL / name, tmp_path / name)
    run = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    run["settings"].update(sample="registered", stand_ins=True)
    (tmp_path / "run.json").write_text(json.dumps(run), encoding="utf-8")
    models = json.loads((SMALL / "models.json").read_text(encoding="utf-8"))
    for m in models["models"]:
        if m["id"] == "mixed-qa-s13":
            m["not_learning"] = {"target": ["qa"]}
    (tmp_path / "models.json").write_text(json.dumps(models), encoding="utf-8")
    render(tmp_path)
    reg = json.loads((tmp_path / "analysis.json").read_text(encoding="utf-8"))["registered"]
    assert reg["excluded"] == ["mixed-qa-s13"] and "mixed-qa" not in reg["seeds"]
    not_run = {m["id"]: m["missing"] for m in reg["not_run"]}
    assert not_run["C1"] == not_run["C2"] == ["mixed-qa"] and "C3" not in not_run  # C5 lacks v1's B+ anyway
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "left out as diverged (plan amendment 5" in md and "`mixed-qa-s13`" in md
    assert "| `mixed-qa-s13` |" in md.split("## Clean F1 per language")[0]  # still in the models table ...
    assert "`mixed-qa`" not in md.split("## Clean F1 per language")[1]  # ... and out of every analysis
    # without `stand_ins` in run.json's settings (v1), nothing is left out
    run["settings"].pop("stand_ins")
    (tmp_path / "run.json").write_text(json.dumps(run), encoding="utf-8")
    render(tmp_path)
    assert json.loads((tmp_path / "analysis.json").read_text(encoding="utf-8"))["registered"]["excluded"] == []


def _part(command: str) -> RunPart:
    return RunPart(started="2026-12-02T05:00:00Z", last="2026-12-02T05:00:00Z", wall_seconds=0.0,
                   command=command, git_commit="abc", cpu="cpu", device="cpu", threads=2)


def test_parts_log_keeps_a_stopped_part_and_appends_the_next(tmp_path):
    path = tmp_path / "parts.json"
    first = PartsLog(path, _part("first"))
    first.save(trained="baseline-s13")
    # the first process is killed here: never finished; a second invocation reads it and appends
    second = PartsLog(path, _part("second"))
    second.save(evaluated="baseline-s13")
    second.save(finished=True)
    parts = json.loads(path.read_text())
    assert [p["command"] for p in parts] == ["first", "second"]
    assert parts[0]["trained"] == ["baseline-s13"] and not parts[0]["finished"]
    assert parts[1]["evaluated"] == ["baseline-s13"] and parts[1]["finished"] and parts[1]["trained"] == []
    assert second.to_list() == parts
    path.write_text("not json", encoding="utf-8")  # an unreadable log starts afresh, never crashes a run
    assert len(PartsLog(path, _part("third")).parts) == 1


def test_a_killed_part_records_its_last_moment_and_the_signal_handler_is_restored(tmp_path):
    """A session's end sends SIGTERM: inside `recording()` it ends the run through SystemExit, and the part is
    saved (not finished) on the way out; outside, the previous handler is back."""
    path = tmp_path / "parts.json"
    log = PartsLog(path, _part("killed"))
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stop, log.recording():
        log.save(trained="baseline-s13")
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert stop.value.code == 128 + signal.SIGTERM and signal.getsignal(signal.SIGTERM) is before
    (part,) = json.loads(path.read_text())
    assert part["trained"] == ["baseline-s13"] and not part["finished"] and part["wall_seconds"] >= 0.05
