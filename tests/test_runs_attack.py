"""`xadv attack`'s job: clean vs adversarial per cell, records that recompute, resume, skips, CLI errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from attacks.spec import AttackSpec
from cli import app
from xadv.data import load_qa
from xadv.errors import XadvError
from xadv.models.tokenizer import load_me5_tokenizer
from xadv.qa.engine import EngineConfig, QAEngine
from xadv.runs import ResultsStore, read_record
from xadv.runs.attack import CellSettings
from xadv.runs.attack import run_attacks as _run_attacks
from xadv.testing import SpanOracle, StubModel
from xadv.types import Target

pytestmark = pytest.mark.needs_data

runner = CliRunner()


def run_attacks(loaded, rows, *, engine=None, store=None, attacks, targets=("auto",), **settings):
    """The job with its settings typed once, as `xadv attack` builds them."""
    cells = CellSettings(attacks=AttackSpec.parse_list(attacks), targets=Target.parse_list(targets), **settings)
    return _run_attacks(loaded, rows, cells, engine=engine, store=store)




@pytest.fixture(scope="module")
def sw_rows(data_dir):
    return list(load_qa("tydiqa:sw:dev", data_dir))[:12]


@pytest.fixture(scope="module")
def oracle_engine(sw_rows):
    """A model that answers every clean sw question with its first gold answer, and knows nothing else."""
    tok = load_me5_tokenizer()
    targets = {}
    for r in sw_rows:
        s, t = r["answers"]["answer_start"][0], r["answers"]["text"][0]
        targets[(r["question"], r["context"])] = (s, s + len(t))
    return QAEngine(SpanOracle(tok, targets), tok, "oracle-sw", EngineConfig(num_threads=1))


def test_question_attack_flips_exactly_the_changed_questions(sw_rows, oracle_engine, tmp_path):
    loaded = StubModel("oracle", "oracle-sw", zero_shot={"seen_qa_languages": ["en"]})
    [cell] = run_attacks(loaded, sw_rows, attacks=["keyboard"], targets=["question"], strength=0.5, seed=3,
                         engine=oracle_engine, store=ResultsStore(tmp_path), n_resamples=200)
    rec = cell.record.to_dict()
    assert cell.status == "computed" and rec["model"]["zero_shot"] is True
    s = rec["summary"]
    right = [e for e in rec["examples"] if e["clean_em"] == 1.0]
    # the oracle answers every clean question at token granularity: all but answers that start
    # inside a token (one sw dev answer, "km² 390,757" in "wakm²") are exact
    assert len(right) >= len(sw_rows) - 1 and s["asr_denominator"] == len(right)
    flipped = [e for e in right if e["adv_question"] is not None]
    assert 0 < len(flipped) <= len(right)
    # the oracle only knows clean questions: every changed question is answered wrongly, the rest right
    for e in rec["examples"]:
        assert (e["adv_em"] == 0.0) == (e["adv_question"] is not None or e["clean_em"] == 0.0), e["id"]
        assert e["context_changed"] is False
    assert s["asr_successes"] == len(flipped)
    assert s["asr"] == pytest.approx(100 * len(flipped) / len(right))
    # every aggregate recomputes from the per-example outcomes
    adv_f1 = np.mean([e["adv_f1"] for e in rec["examples"]]) * 100
    assert s["adv_f1"] == pytest.approx(adv_f1)
    assert s["robust_f1"] == pytest.approx(np.mean([min(e["clean_f1"], e["adv_f1"]) for e in rec["examples"]]) * 100)
    lo, hi = s["ci"]["asr"]
    assert lo <= s["asr"] <= hi
    # the stored file is the same record
    assert read_record(cell.path) == json.loads(json.dumps(rec))
    # only the changed questions went through the model again: the rest reused the clean pass's predictions
    changed = sum(e["adv_question"] is not None for e in rec["examples"])
    assert (rec["env"]["computed"], rec["env"]["reused"]) == (changed, len(sw_rows) - changed)


def test_context_attack_keeps_answers_and_resumes(sw_rows, oracle_engine, tmp_path):
    loaded = StubModel("oracle", "oracle-sw")
    store = ResultsStore(tmp_path)
    first = run_attacks(loaded, sw_rows, attacks=["word-swap"], targets=["context"], engine=oracle_engine,
                        store=store, n_resamples=0)
    assert [c.status for c in first] == ["computed"]
    assert all(e["adv_question"] is None for e in first[0].record.to_dict()["examples"])
    assert any(e["context_changed"] for e in first[0].record.to_dict()["examples"])
    again = run_attacks(loaded, sw_rows, attacks=["word-swap"], targets=["context"], engine=oracle_engine,
                        store=store, n_resamples=0)
    assert [c.status for c in again] == ["cached"]
    assert again[0].record.to_dict()["summary"] == json.loads(json.dumps(first[0].record.to_dict()["summary"]))
    # another seed is another cell
    other = run_attacks(loaded, sw_rows, attacks=["word-swap"], targets=["context"], seed=1,
                        engine=oracle_engine, store=store, n_resamples=0)
    assert [c.status for c in other] == ["computed"]
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_corrupt_record_is_reported_not_skipped(sw_rows, oracle_engine, tmp_path):
    loaded = StubModel("oracle", "oracle-sw")
    store = ResultsStore(tmp_path)
    [cell] = run_attacks(loaded, sw_rows[:3], attacks=["invisible"], engine=oracle_engine, store=store,
                         n_resamples=0)
    cell.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(XadvError, match="not a JSON attack record"):
        run_attacks(loaded, sw_rows[:3], attacks=["invisible"], engine=oracle_engine, store=store,
                    n_resamples=0)


def test_unservable_cells_are_skipped_with_reason(data_dir, oracle_engine):
    ko = list(load_qa("tydiqa:ko:dev", data_dir))[:2]
    loaded = StubModel("oracle", "oracle-sw")
    with pytest.raises(XadvError, match="no attack could run.*homoglyph"):
        run_attacks(loaded, ko, attacks=["homoglyph"], engine=oracle_engine, n_resamples=0)
    cells = run_attacks(loaded, ko, attacks=["homoglyph", "distractor"], engine=oracle_engine, n_resamples=0)
    assert [(c.attack, c.target, c.status) for c in cells] == [
        ("homoglyph", "question", "skipped"), ("distractor", "context", "computed")]
    assert "ko" in cells[0].reason


@pytest.mark.parametrize("args, message", [
    (["--lang", "xx"], "unknown language 'xx'"),
    (["--attack", "nope"], "unknown attack 'nope'"),
    (["--target", "title"], "unknown target 'title'"),
    (["--mode", "loose"], "unknown scorer mode 'loose'"),
    (["--model", "/nonexistent/ckpt"], "/nonexistent/ckpt"),
])
def test_attack_cli_bad_input_is_one_line(args, message, data_dir, tmp_path):
    result = runner.invoke(app, ["attack", "--data-dir", str(data_dir), "--n", "2", "--results",
                                 str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_attack_cli_end_to_end_on_a_checkpoint(data_dir, tmp_path):
    from xadv.testing import tiny_checkpoint

    ckpt = tiny_checkpoint(tmp_path / "tiny", seed=1)
    out = tmp_path / "run.json"
    args = ["attack", "--model", str(ckpt), "--lang", "te", "--attack", "char-noise,sentence-reorder",
            "--n", "3", "--data-dir", str(data_dir), "--results", str(tmp_path / "res"), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "char-noise" in result.output and "sentence-reorder" in result.output
    run = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["attack"]["name"], r["attack"]["target"]) for r in run["records"]] == [
        ("char-noise", "question"), ("sentence-reorder", "context")]
    assert all(r["data"]["n"] == 3 and r["data"]["lang"] == "te" for r in run["records"])
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 0
    assert [c["status"] for c in json.loads(again.output)["cells"]] == ["cached", "cached"]


def test_engine_settings_are_part_of_the_cell(sw_rows, oracle_engine, tmp_path):
    """A run with other decoding settings (window, stride, int8, max answer length) never reuses a cell."""
    loaded = StubModel("oracle", "oracle-sw")
    store = ResultsStore(tmp_path)
    kw = dict(attacks=["word-swap"], targets=["context"], store=store, n_resamples=0)
    [a] = run_attacks(loaded, sw_rows[:3], engine=oracle_engine, **kw)
    other = QAEngine(oracle_engine.model, oracle_engine.tokenizer, "oracle-sw",
                     EngineConfig(num_threads=1, max_answer_length=12))
    [b] = run_attacks(loaded, sw_rows[:3], engine=other, **kw)
    assert (a.status, b.status) == ("computed", "computed")
    assert a.record.cell.key != b.record.cell.key


def test_a_no_op_cell_is_warned_about_and_its_changed_share_reported(data_dir, tmp_path):
    """`diacritics` on Russian questions mostly without ё or stress marks changes (almost) nothing: ASR 0.0
    [0, 0] read as "robust". The run warns in one line, and --json reports the changed share (counted here
    independently by perturbing the same rows) and ASR over changed examples; an attack that changes every
    question is not flagged."""
    from attacks.run import perturb_rows
    from xadv.data import load_qa
    from xadv.testing import tiny_checkpoint

    rows = [dict(r) for r in load_qa("tydiqa:ru:dev", data_dir=data_dir)][:6]
    expected = sum(p.example["question"] != r["question"]
                   for p, r in zip(perturb_rows(rows, "diacritics", "question", 0.2, 0), rows))
    assert expected < 3  # the premise: a no-op cell on real Russian questions
    ckpt = tiny_checkpoint(tmp_path / "tiny", seed=1)
    args = ["attack", "--model", str(ckpt), "--lang", "ru", "--attack", "diacritics,char-noise", "--n", "6",
            "--strength", "0.2", "--seed", "0", "--data-dir", str(data_dir), "--results", str(tmp_path / "res"),
            "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    warns = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warns) == 1 and "ru/diacritics/question" in warns[0], warns
    assert f"changed only {expected} of 6" in warns[0], warns
    cells = {c["attack"]: c for c in json.loads(result.stdout)["cells"]}
    noop, real = cells["diacritics"]["changed"], cells["char-noise"]["changed"]
    assert noop["n"] == 6 and noop["changed"] == expected and noop["noop"]
    assert noop["share"] == round(expected / 6, 4)
    assert noop["asr_changed_denominator"] <= cells["diacritics"]["summary"]["asr_denominator"]
    assert real["changed"] >= 4 and not real["noop"]
    assert real["asr_changed_denominator"] <= cells["char-noise"]["summary"]["asr_denominator"]
    assert real["asr_changed_successes"] <= cells["char-noise"]["summary"]["asr_successes"]
    again = runner.invoke(app, args)  # a cached no-op cell is still a no-op cell
    assert again.exit_code == 0 and f"changed only {expected} of 6" in again.stderr
    # the leaderboard marks it where it is read: a note (not a failing flag) on that cell only
    from xadv.leaderboard.entries import NOOP, load_entries

    entries = load_entries(tmp_path / "res")
    notes = {e.attack: [f for f in e.flags if f.kind == NOOP] for e in entries}
    assert [f"changed only {expected} of 6" in f.message for f in notes["diacritics"]] == [True]
    assert notes["char-noise"] == [] and not any(e.failing for e in entries)
    board = runner.invoke(app, ["leaderboard", "--results", str(tmp_path / "res")])
    assert board.exit_code == 0 and "no-op: the attack changed only" in board.output
