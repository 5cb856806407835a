"""`xadv data list / verify / download` through typer's CliRunner: exit codes and output."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest
from typer.testing import CliRunner

import cli

DEV_COUNTS = {"ar": 921, "bn": 113, "en": 440, "fi": 782, "id": 565, "ko": 276, "ru": 812, "sw": 499, "te": 669}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_data_help_lists_the_commands(runner):
    result = runner.invoke(cli.app, ["data", "--help"])
    assert result.exit_code == 0
    for command in ("list", "verify", "download"):
        assert re.search(rf"│ {command}\s", result.stdout)


@pytest.mark.needs_data
def test_list_shows_tydi_dev_counts(runner, data_dir):
    result = runner.invoke(cli.app, ["data", "list", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    for lang, count in DEV_COUNTS.items():
        assert re.search(rf"tydiqa:{lang}:dev\s+│\s+{count}\s+│ tydiqa_goldp/tydiqa\.goldp\.{lang}\.dev\.json",
                         result.stdout)
    assert re.search(r"tydiqa:all:dev\s+│\s+5,077", result.stdout)
    assert re.search(r"squad:en:dev\s+│\s+10,570", result.stdout)


@pytest.mark.needs_data
def test_list_json(runner, data_dir):
    result = runner.invoke(cli.app, ["data", "list", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0
    files = json.loads(result.stdout)["files"]
    tydi_dev = {f["lang"]: f["examples"] for f in files if f["dataset"] == "tydiqa" and f["split"] == "dev"}
    assert tydi_dev == DEV_COUNTS
    by_name = {f["name"]: f["examples"] for f in files}
    assert by_name["tydiqa:sw:train"] == 2755 and by_name["xnli:th:dev"] == 2490 and by_name["pawsx:ja:dev"] == 2000
    assert len(files) == 12 + 1 + 12 + 15 + 7  # tydiqa, squad, xquad, xnli, pawsx


def test_list_empty_and_missing_dirs(runner, tmp_path):
    result = runner.invoke(cli.app, ["data", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "No datasets in" in result.stdout
    result = runner.invoke(cli.app, ["data", "list", "--data-dir", str(tmp_path / "nope")])
    assert result.exit_code == 0 and "(it does not exist yet)" in result.stdout
    result = runner.invoke(cli.app, ["data", "verify", "--data-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: data directory {tmp_path / 'nope'} does not exist; "
                                     "run `xadv data download tydiqa` or pass --data-dir")
    result = runner.invoke(cli.app, ["data", "verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "error: no datasets found in" in result.stderr


@pytest.mark.needs_data
def test_verify_reference_data_passes(runner, data_dir):
    result = runner.invoke(cli.app, ["data", "verify", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert len(report["files"]) == 49 + 29  # every MANIFEST.tsv and MANIFEST.next.tsv entry
    assert all(f["sha256_ok"] and f["examples"] == f["expected_examples"] for f in report["files"])


@pytest.mark.needs_data
def test_verify_reports_every_problem_and_exits_1(runner, data_dir, tmp_path):
    (tmp_path / "tydiqa_goldp").mkdir()
    for lang in ("sw", "bn"):
        shutil.copy(data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json", tmp_path / "tydiqa_goldp")
    sw = tmp_path / "tydiqa_goldp" / "tydiqa.goldp.sw.dev.json"
    obj = json.loads(sw.read_text(encoding="utf-8"))
    qa = obj["data"][0]["paragraphs"][0]["qas"][0]
    qa["answers"][0]["answer_start"] += 1
    sw.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    with open(data_dir / "MANIFEST.tsv", encoding="utf-8", newline="") as src, \
         open(tmp_path / "MANIFEST.tsv", "w", encoding="utf-8", newline="") as dst:
        rows = list(csv.reader(src, delimiter="\t"))
        keep = [r for r in rows[1:] if r[3].endswith((".sw.dev.json", ".bn.dev.json", "xnli/dev-ar.tsv"))]
        csv.writer(dst, delimiter="\t", lineterminator="\n").writerows([rows[0], *keep])

    result = runner.invoke(cli.app, ["data", "verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    out = " ".join(result.stdout.split())  # undo rich's wrapping
    assert f"example {qa['id']}: answer_start" in out
    assert "tydiqa.goldp.sw.dev.json: sha256 differs from MANIFEST.tsv" in out
    assert "xnli/dev-ar.tsv: listed in MANIFEST.tsv but missing" in out
    assert "1 of 3 files ok" in out

    report = json.loads(runner.invoke(cli.app, ["data", "verify", "--data-dir", str(tmp_path), "--json"]).stdout)
    assert {f["file"]: f["ok"] for f in report["files"]} == {
        "tydiqa_goldp/tydiqa.goldp.bn.dev.json": True,
        "tydiqa_goldp/tydiqa.goldp.sw.dev.json": False,
        "xnli/dev-ar.tsv": False,
    }


@pytest.mark.needs_data
def test_verify_without_manifest_still_parses(runner, data_dir, tmp_path):
    (tmp_path / "pawsx").mkdir()
    shutil.copy(data_dir / "pawsx" / "dev-fr.tsv", tmp_path / "pawsx")
    report = json.loads(runner.invoke(cli.app, ["data", "verify", "--data-dir", str(tmp_path), "--json"]).stdout)
    assert report["ok"] and report["files"][0]["examples"] == 2000 and report["files"][0]["sha256_ok"] is None


def test_download_rejects_a_file_that_is_not_the_official_one(runner, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tydiqa-goldp-v1.1-dev.json").write_text('{"data": []}', encoding="utf-8")
    result = runner.invoke(cli.app, ["data", "download", "tydiqa", "--split", "dev", "--base-url", str(mirror),
                                     "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: file://")
    assert "got 12 bytes, expected 5617409" in result.stderr and "nothing was written" in result.stderr
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []


def test_download_unknown_dataset(runner, tmp_path):
    result = runner.invoke(cli.app, ["data", "download", "squad", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "error: cannot download 'squad'; downloadable: tydiqa" in result.stderr


@pytest.mark.needs_data
def test_download_leaves_a_complete_split_alone(runner, data_dir, tmp_path):
    shutil.copytree(data_dir / "tydiqa_goldp", tmp_path / "tydiqa_goldp",
                    ignore=shutil.ignore_patterns("*.train.json", "LICENSE*"))
    args = ["data", "download", "tydiqa", "--split", "dev", "--data-dir", str(tmp_path),
            "--base-url", "file:///nonexistent/"]
    result = runner.invoke(cli.app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert {f["lang"]: f["examples"] for f in files} == DEV_COUNTS and {f["status"] for f in files} == {"present"}
    human = runner.invoke(cli.app, args)
    assert human.exit_code == 0 and re.search(r"tydiqa:te:dev\s+│\s+669 │ present", human.stdout)
