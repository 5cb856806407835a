"""`xadv models import` and `xadv models info` end to end through the typer app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import cli
from xadv.testing import tiny_qa_model

runner = CliRunner()


@pytest.fixture(scope="module")
def me5_default(tmp_path_factory):
    """The session-wide me5-small import at the default cache location (reused if already built)."""
    from xadv.models.me5 import import_me5_small

    return import_me5_small(tmp_path_factory.getbasetemp() / "xadv-cache" / "models" / "me5-small").path


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-ckpts")
    model, tok = tiny_qa_model(seed=0, hidden=16, layers=1, heads=2)
    for name, safe in (("safe", True), ("pickle", False)):
        model.save_pretrained(root / name, safe_serialization=safe)
        tok.save_pretrained(root / name)
    return root / "safe", root / "pickle"


def invoke(*args: str):
    return runner.invoke(cli.app, ["models", *args])


def test_models_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "import" in result.output and "info" in result.output


def test_import_reports_an_existing_import(me5_default):
    result = invoke("import", "me5-small", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["path"] == str(me5_default) and summary["imported"] is False
    assert summary["n_params"] == 117_505_920
    assert summary["provenance"]["weights"]["sha256"].startswith("1571fc98")
    human = invoke("import", "me5-small")
    assert human.exit_code == 0 and "already imported" in human.stdout


def test_import_refuses_a_foreign_directory_and_unknown_models(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    result = invoke("import", "me5-small", "--out", str(tmp_path), "--force")
    assert result.exit_code == 2
    assert "error:" in result.stderr and "not an xadv me5-small import" in result.stderr
    assert (tmp_path / "keep.txt").exists()
    assert invoke("import", "gpt-5").exit_code == 2


def test_info_on_me5_small_json(me5_default):
    result = invoke("info", "me5-small", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["path"] == str(me5_default)
    assert (info["model_type"], info["layers"], info["hidden_size"], info["vocab_size"]) == ("bert", 12, 384, 250037)
    assert info["has_qa_head"] is False and info["tokenizer"] == "XLMRobertaTokenizerFast"
    assert len(info["fingerprint"]) == 64


def test_info_table_for_a_trained_head(tiny_dirs):
    safe, _ = tiny_dirs
    result = invoke("info", str(safe))
    assert result.exit_code == 0, result.output
    for text in ("BertForQuestionAnswering", "trained", "safetensors", "XLMRobertaTokenizerFast", "fingerprint"):
        assert text in result.stdout


def test_info_refuses_pickles_without_the_flag(tiny_dirs):
    _, pickled = tiny_dirs
    refused = invoke("info", str(pickled))
    assert refused.exit_code == 2 and "--allow-pickle" in refused.stderr
    assert "Traceback" not in refused.output
    allowed = invoke("info", str(pickled), "--allow-pickle", "--json")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["weights_format"] == "pickle"


def test_info_on_an_empty_directory(tmp_path):
    result = invoke("info", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path} is an empty directory, not a checkpoint"
