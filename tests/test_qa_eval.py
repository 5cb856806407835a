"""`xadv eval` end to end with the tiny random model on the real TyDi dev files (first 5 per language)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

import cli
from xadv.data import load_qa
from xadv.langs import TYDI_LANGS
from xadv.score import score_predictions

pytestmark = pytest.mark.needs_data

runner = CliRunner()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models are all synchronisation overhead with 2+ threads on a busy machine: run them on one,
    and give torch its thread count back afterwards (it is process-wide)."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    """A tiny QA checkpoint, and the same encoder saved without its QA head (like the me5-small import)."""
    from xadv.testing import tiny_qa_model

    root = tmp_path_factory.mktemp("ckpt")
    model, tok = tiny_qa_model(seed=0)
    model.save_pretrained(root / "qa")
    tok.save_pretrained(root / "qa")
    model.bert.save_pretrained(root / "encoder")
    for f in (root / "qa").iterdir():
        if f.name.startswith(("tokenizer", "special_tokens")):
            shutil.copy(f, root / "encoder" / f.name)
    return root / "qa", root / "encoder"


def run_eval(*args):
    return runner.invoke(cli.app, ["eval", "--quiet", "--threads", "1", *map(str, args)])


def test_eval_json_predictions_and_cache(tiny_dirs, data_dir, tmp_path, monkeypatch):
    qa_dir, _ = tiny_dirs
    # a cache of its own: the session-wide one may already hold these predictions from another test
    monkeypatch.setenv("XADV_CACHE_DIR", str(tmp_path / "cache"))
    pred = tmp_path / "pred.json"
    result = run_eval("--model", qa_dir, "--data", "tydiqa:all:dev", "--data-dir", data_dir, "--n", 5,
                      "--out", pred, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["has_qa_head"] is True and out["n"] == 45
    assert sorted(out["languages"]) == sorted(TYDI_LANGS)
    for row in [*out["languages"].values(), out["overall"], out["macro"]]:
        assert 0 <= row["f1_ci"][0] <= row["f1"] <= row["f1_ci"][1] <= 100
        assert 0 <= row["exact_match_ci"][0] <= row["exact_match"] <= row["exact_match_ci"][1] <= 100
    assert out["macro"]["f1"] == pytest.approx(sum(r["f1"] for r in out["languages"].values()) / 9)

    preds = json.loads(pred.read_text(encoding="utf-8"))
    rows = {r["id"]: r for r in load_qa("tydiqa:all:dev", data_dir=data_dir)}
    assert len(preds) == 45 and all(isinstance(v, str) for v in preds.values())
    for i, text in preds.items():
        assert text and text in rows[i]["context"] and text == text.strip()
    # the file scores exactly as the command reported (the same numbers `xadv score` would give)
    assert score_predictions({i: rows[i]["answers"]["text"] for i in preds}, preds).f1 == \
        pytest.approx(out["overall"]["f1"])
    assert out["engine"]["cache_hits"] == 0 and out["engine"]["features"] >= 45

    again = json.loads(run_eval("--model", qa_dir, "--data-dir", data_dir, "--n", 5, "--json").stdout)
    assert again["engine"]["cache_hits"] == 45 and again["engine"]["forward_passes"] == 0
    assert again["overall"] == out["overall"]


def test_eval_table_for_humans(tiny_dirs, data_dir):
    qa_dir, _ = tiny_dirs
    result = run_eval("--model", qa_dir, "--data", "tydiqa:sw,fi:dev", "--data-dir", data_dir, "--n", 3,
                      "--mode", "multilingual", "--batch-size", 2, "--no-cache")
    assert result.exit_code == 0, result.output
    for word in ("sw", "fi", "macro", "F1 95% CI", "mode: multilingual", "6 questions"):
        assert word in result.stdout


def test_untrained_head_is_refused_then_flagged(tiny_dirs, data_dir):
    _, encoder_dir = tiny_dirs
    refused = run_eval("--model", encoder_dir, "--data", "tydiqa:sw:dev", "--data-dir", data_dir, "--n", 2)
    assert refused.exit_code == 2 and "no trained QA head" in refused.stderr
    assert "Traceback" not in refused.output
    ok = run_eval("--model", encoder_dir, "--data", "tydiqa:sw:dev", "--data-dir", data_dir, "--n", 2,
                  "--allow-untrained-head", "--json")
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.stdout)
    assert out["has_qa_head"] is False and "UNTRAINED" in out["notes"][0]
    assert "UNTRAINED" in ok.stderr


@pytest.mark.parametrize("args, message", [
    (["--data", "tydiqa:xx:dev"], "xx"),
    (["--max-seq-length", "64"], "doc_stride"),
])
def test_bad_input_is_one_line(tiny_dirs, data_dir, args, message):
    qa_dir, _ = tiny_dirs
    result = run_eval("--model", qa_dir, "--data-dir", data_dir, "--n", 1, *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
