"""`xadv attack --search ...`: the same command, records and resume as static attacks, read by
leaderboard, report and regress; bad search input is one line and exit 2.

The model is `xadv.testing.KeywordOracle` behind the CLI's model loader: it answers the first
sw dev questions right while two keywords of each question are intact, so greedy search has real
successes to find (and the ASR is known: every question it answers right can be flipped).
"""

from __future__ import annotations

import json

import pytest
from test_record_schema import assert_valid
from typer.testing import CliRunner

from cli import app
from xadv.data import load_qa
from xadv.runs import read_record

runner = CliRunner()
N = 8


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)




@pytest.fixture(scope="module")
def oracle(data_dir):
    """The oracle as a loaded model, knowing the first N sw questions that offer two keywords."""
    from xadv.models.tokenizer import load_me5_tokenizer
    from xadv.testing import KeywordOracle, StubModel, keyword_case

    tok = load_me5_tokenizer()
    rows = list(load_qa("tydiqa:sw:dev", data_dir))[:N]
    cases = [c for c in (keyword_case(tok, r, "question", min_letters=3) for r in rows) if c is not None]
    assert len(cases) >= 3, "the first sw questions should give the oracle some keyword cases"
    return StubModel("keyword-oracle", "keyword-oracle-sw-v1", zero_shot={"seen_qa_languages": ["en"]},
                     model=KeywordOracle(tok, cases), tokenizer=tok)


@pytest.fixture()
def cli(oracle, monkeypatch, data_dir, tmp_path):
    """Invoke `xadv attack` (oracle model, sw, first N questions) and return the parsed --json output."""
    import xadv.models.loading as loading

    monkeypatch.setattr(loading, "load_qa_model", lambda *a, **k: oracle)

    def attack(*args, results="res", code=0):
        result = runner.invoke(app, ["attack", "--lang", "sw", "--n", str(N), "--data-dir", str(data_dir),
                                     "--results", str(tmp_path / results), "--json", *map(str, args)])
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if code == 0 else result

    return attack


GREEDY = ["--attack", "keyboard", "--search", "greedy", "--budget", "40", "--strength", "1", "--max-words", "2"]


@pytest.mark.needs_data
def test_search_records_are_attack_records_that_leaderboard_report_and_regress_read(cli, tmp_path):
    out = cli(*GREEDY, "--write-adversarial", tmp_path / "adv")
    [cell] = out["cells"]
    assert cell["status"] == "computed" and cell["attack"] == "keyboard" and cell["target"] == "question"
    assert cell["search"]["search"] == "greedy" and cell["search"]["budget"] == 40
    assert cell["search"]["goal"] == "em-flip" and cell["search"]["max_words"] == 2
    rec = read_record(cell["path"])
    assert_valid(rec)  # the committed JSON Schema (docs/schema/)
    assert rec["schema"] == "xadv.attack-record/2" and rec["attack"]["search"] == rec["cell"]["search"]
    assert rec["criterion"] == "em" and rec["cell"]["strength"] == 1.0
    s = rec["summary"]
    # the oracle answers its keyword questions right (where its token-level span is exact) and only
    # those; greedy breaks both keywords of each
    right = sum(e["clean_em"] == 1.0 for e in rec["examples"])
    assert right >= 3 and s["asr_denominator"] == right and s["asr_successes"] == s["succeeded"] == right
    assert s["asr"] == 100.0 and s["skipped"] == N - right and s["failed"] == 0
    for key in ("clean_f1", "adv_f1", "clean_em", "adv_em", "mean_queries", "mean_share_changed",
                "seconds_per_example"):
        assert s[key] is not None, key
    assert 0 < s["mean_queries"] <= 40 and 0 < s["mean_share_changed"] <= 1
    flipped = [e for e in rec["examples"] if e["search_status"] == "succeeded"]
    assert len(flipped) == right
    assert all(e["adv_question"] and e["adv_em"] == 0.0 and e["words_changed"] == 2 and e["queries"] <= 40
               for e in flipped)
    # the adversarial examples: SQuAD JSON with the same ids, the edit log beside it
    adv = list(load_qa(cell["adversarial"]))
    assert [r["id"] for r in adv] == [e["id"] for e in rec["examples"]]
    assert {r["question"] for r in adv} >= {e["adv_question"] for e in flipped}
    assert len((tmp_path / "adv").glob("*.edits.jsonl").__next__().read_text().splitlines()) == N

    board = runner.invoke(app, ["leaderboard", "--results", str(tmp_path / "res"), "--json", "--bootstrap", "0"])
    assert board.exit_code == 0, board.output
    [row] = json.loads(board.stdout)["rows"]
    assert row["label"] == "keyboard greedy em-flip 40q" and not row["flags"]
    assert (row["asr"], row["asr_successes"], row["asr_denominator"]) == (100.0, right, right)
    report = runner.invoke(app, ["report", str(tmp_path / "res"), "--examples", "1"])
    assert report.exit_code == 0 and "keyboard greedy em-flip 40q" in report.stdout
    base = tmp_path / "baseline.json"
    assert runner.invoke(app, ["regress", "--baseline", str(base), "--current", str(tmp_path / "res"),
                               "--update-baseline"]).exit_code == 0
    gate = runner.invoke(app, ["regress", "--baseline", str(base), "--current", str(tmp_path / "res"), "--per-cell",
                               "--json"])
    assert gate.exit_code == 0, gate.output
    assert json.loads(gate.stdout)["checks"][0]["search"]["search"] == "greedy"


@pytest.mark.needs_data
def test_search_cells_resume_and_never_collide_with_static_or_other_searches(cli, tmp_path):
    first = cli(*GREEDY)["cells"][0]
    again = cli(*GREEDY)["cells"][0]
    assert again["status"] == "cached" and again["path"] == first["path"]
    random_ = cli(*GREEDY[:3], "random", *GREEDY[4:])["cells"][0]
    budget = cli(*GREEDY[:5], "20", *GREEDY[6:])["cells"][0]
    static = cli("--attack", "keyboard", "--strength", "1", "--write-adversarial", tmp_path / "adv")["cells"][0]
    assert [c["status"] for c in (random_, budget, static)] == ["computed"] * 3
    assert static["search"] is None
    adversarial_ids = [r["id"] for r in load_qa(static["adversarial"])]
    assert adversarial_ids == [e["id"] for e in read_record(static["path"])["examples"]]
    assert len({c["path"] for c in (first, random_, budget, static)}) == 4
    board = runner.invoke(app, ["leaderboard", "--results", str(tmp_path / "res"), "--json", "--bootstrap", "0"])
    assert board.exit_code == 0, board.output
    rows = json.loads(board.stdout)["rows"]
    assert sorted(r["label"] for r in rows) == sorted([
        "keyboard", "keyboard greedy em-flip 40q", "keyboard greedy em-flip 20q", "keyboard random em-flip 40q"])
    assert not any(r["flags"] for r in rows)  # clean outcomes agree across static and search records


@pytest.mark.needs_data
@pytest.mark.parametrize("args, message", [
    (["--search", "annealing"], "unknown search 'annealing'"),
    (["--search", "greedy", "--goal", "f1-below:abc"], "threshold 'abc' is not a number"),
    (["--search", "greedy", "--goal", "f1-below:2"], "F1 threshold must be in (0, 1]"),
    (["--search", "greedy", "--goal", "accuracy"], "unknown search goal 'accuracy'"),
    (["--search", "greedy", "--budget", "0"], "query budget is model queries per example"),
    (["--search", "greedy", "--budget", "-5"], "query budget is model queries per example"),
    (["--search", "greedy", "--attack", "distractor"], "word-level search cannot use it"),
    (["--search", "beam", "--attack", "keyboard,word-swap"], "word-level search cannot use it"),
    (["--search", "greedy", "--attack", "nope"], "unknown attack 'nope'"),
    (["--search", "greedy", "--strength", "0"], "share of words a search may change"),
    (["--search", "greedy", "--f1-threshold", "0.5"], "use --goal f1-below:T"),
    (["--goal", "f1-zero"], "only apply to a search"),
    (["--search", "greedy", "--beam-width", "3"], "only applies to --search beam"),
])
def test_bad_search_input_is_one_line_and_exit_2(args, message, data_dir, tmp_path):
    result = runner.invoke(app, ["attack", "--data-dir", str(data_dir), "--n", "2", "--results", str(tmp_path),
                                 *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.strip().count("\n") == 0 and result.output.startswith("error: ")
    assert "Traceback" not in result.output


def test_help_teaches_the_search_options():
    result = runner.invoke(app, ["attack", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in ("--search", "greedy", "random", "f1-below:T", "f1-zero", "em-flip",
                   "Model queries per example", "--write-adversarial"):
        assert phrase in text, phrase
