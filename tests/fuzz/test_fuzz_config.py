"""Hostile configuration files: suite files (`xadv attack --suite`), training configs and `--set` values,
experiment configs. Each is one `error:` line and exit 2 (or a ConfigError naming the file), never a
traceback or a hang; found by a second, independent fuzzing pass (2026-12-01)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_fuzz_io import deadline  # the one SIGALRM guard of the fuzz tests: a hang fails, never stalls
from typer.testing import CliRunner

import cli
from xadv.errors import XadvError

runner = CliRunner()
DEEP = "a = " + "[" * 5000 + "]" * 5000 + "\n"


def one_error(args) -> str:
    with deadline(20):
        result = runner.invoke(cli.app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("text, needle", [
    (DEEP, "nested too deeply"),
    ('engine = "x"\n', "engine: expected a table of settings, got 'x'"),
    ('search = "greedy"\n', "search: expected a table of settings, got 'greedy'"),
    ("langs = [5]\n", "langs: '[5]' is not a valid value"),
    ("attacks = 3\n", "attacks: '3' is not a valid value"),
    ("n = 2\n[engine]\nprecision = 16\n", "engine precision must be a string"),
    ('device = "gpu"\n', "unknown device 'gpu'"),
    ("n = \"\\ud800\"\n", "not a TOML suite file"),
    (b"\xff\xfe n = 1\n", "not UTF-8"),
])
def test_malformed_suite_files_are_one_line(tmp_path, text, needle):
    suite = tmp_path / "suite.toml"
    suite.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    line = one_error(["attack", "--suite", suite])
    assert needle in line, line


def test_a_fifo_as_suite_file_is_refused_unopened(tmp_path):
    fifo = tmp_path / "suite.toml"
    os.mkfifo(fifo)
    assert "FIFO" in one_error(["attack", "--suite", fifo])


def test_training_and_experiment_configs_nested_too_deeply(tmp_path):
    from xadv.experiments.spec import ExperimentError, read_settings
    from xadv.train.config import ConfigError, load_config, parse_override

    deep = tmp_path / "deep.toml"
    deep.write_text(DEEP, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(config_file=deep)
    with pytest.raises(ExperimentError, match="nested too deeply"):
        read_settings(deep)
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_override("phases.target.lr=" + "[" * 5000 + "]" * 5000)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with deadline(20), pytest.raises(XadvError, match="FIFO"):
        load_config(config_file=fifo)
    assert issubclass(ConfigError, XadvError) and Path(deep).exists()


@pytest.mark.parametrize("setting, needle", [
    ("budget.lora_dropout=1.5", "lora_dropout must be in [0, 1)"),
    ("eval.mode=x", "eval.mode must be one of squad, multilingual"),
    ("eval.batch_size=-1", "eval.batch_size must be >= 1"),
    ("phases.target.doc_stride=1000", "doc_stride must be > 0 and below max_seq_length"),
    ("phases.target.weight_decay=-1", "weight_decay must be >= 0"),
    ("eval.precision=fp8", "eval.precision must be one of"),
])
def test_training_settings_that_fail_later_are_refused_before_training(setting, needle):
    """These used to be accepted and fail after minutes of training (eval.mode) or train nonsense."""
    from xadv.train.config import ConfigError, load_config

    with pytest.raises(ConfigError) as err:
        load_config("smoke", sets=[setting]).check()
    assert needle in str(err.value)


def test_fresh_never_follows_a_link_and_a_failed_delete_is_one_line(tmp_path, monkeypatch):
    """`train --fresh` deletes the earlier run: through a symbolic link it crashed (rmtree refuses links)
    and an undeletable folder gave a traceback."""
    import json
    import shutil

    from xadv.train import pipeline

    real = tmp_path / "real"
    real.mkdir()
    digest = "d" * 64
    (real / pipeline.RUN_FILE).write_text(json.dumps({"digest": digest, "done": {}}), encoding="utf-8")
    (real / "model.safetensors").write_bytes(b"x")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(XadvError, match="is a symbolic link: --fresh deletes"):
        pipeline._prepare_out(link, digest, fresh=True)
    assert (real / "model.safetensors").exists()

    def refuse(path, *a, **k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(shutil, "rmtree", refuse)
    with pytest.raises(XadvError, match="--fresh: cannot delete the earlier run .*Operation not permitted"):
        pipeline._prepare_out(real, digest, fresh=True)


@pytest.mark.parametrize("run_record", ["[]", "{}", '{"digest": "x"}', '{"digest": 5, "done": {}}', "null"])
def test_fresh_deletes_only_a_folder_holding_a_real_run_record(tmp_path, run_record):
    """A run file that any JSON made look like xadv's let `--fresh` delete a user's folder (thesis.tex)."""
    from xadv.train import pipeline

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / pipeline.RUN_FILE).write_text(run_record, encoding="utf-8")
    (folder / "thesis.tex").write_text("important", encoding="utf-8")
    with pytest.raises(XadvError, match="holds no xadv training run"):
        pipeline._prepare_out(folder, "d" * 64, fresh=True)
    assert (folder / "thesis.tex").read_text(encoding="utf-8") == "important"
