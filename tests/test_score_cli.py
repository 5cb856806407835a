"""`xadv score` end to end on the real TyDi dev files."""

from __future__ import annotations

import json

import pytest
from reference import squad_v11 as oracle
from typer.testing import CliRunner

import cli

pytestmark = pytest.mark.needs_data

runner = CliRunner()


def gold_predictions(path) -> dict[str, str]:
    data = oracle.load_dataset(path)
    return {qa["id"]: qa["answers"][0]["text"] for a in data for p in a["paragraphs"] for qa in p["qas"]}


def score(*args: str):
    return runner.invoke(cli.app, ["score", *args])


@pytest.fixture()
def bn_file(data_dir):
    return data_dir / "tydiqa_goldp" / "tydiqa.goldp.bn.dev.json"


def write(tmp_path, obj, name="pred.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_gold_answers_score_100_by_name(tmp_path, data_dir, bn_file):
    pred = write(tmp_path, gold_predictions(bn_file))
    result = score("--gold", "tydiqa:bn:dev", "--pred", pred, "--data-dir", str(data_dir), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["exact_match"], out["f1"], out["n"], out["mode"], out["missing"]) == (100.0, 100.0, 113, "squad", 0)
    assert out["ci95"]["f1"] == [100.0, 100.0]


def test_danda_by_mode_through_the_cli(tmp_path, bn_file):
    preds = {k: v + "।" for k, v in gold_predictions(bn_file).items()}
    pred = write(tmp_path, preds)
    squad = json.loads(score("--gold", str(bn_file), "--pred", pred, "--json").stdout)
    multi = json.loads(score("--gold", str(bn_file), "--pred", pred, "--json", "--mode", "multilingual").stdout)
    assert squad["exact_match"] == 0.0 and squad["mode"] == "squad"
    assert (multi["exact_match"], multi["f1"], multi["mode"]) == (100.0, 100.0, "multilingual")


def test_empty_predictions_score_zero(tmp_path, bn_file):
    pred = write(tmp_path, {k: "" for k in gold_predictions(bn_file)})
    out = json.loads(score("--gold", str(bn_file), "--pred", pred, "--json", "--bootstrap", "0").stdout)
    assert (out["exact_match"], out["f1"], out["missing"]) == (0.0, 0.0, 0)
    assert out["ci95"] == {}


def test_missing_and_unknown_ids_warn_and_agree_with_oracle(tmp_path, bn_file):
    preds = gold_predictions(bn_file)
    dropped = sorted(preds)[:3]
    for key in dropped:
        del preds[key]
    preds["bengali-999-not-in-gold"] = "কিছু"
    pred = write(tmp_path, preds)
    result = score("--gold", str(bn_file), "--pred", pred, "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    expected = oracle.evaluate(oracle.load_dataset(bn_file), preds)
    assert out["exact_match"] == pytest.approx(expected["exact_match"], abs=1e-9) == 100 * 110 / 113
    assert out["f1"] == pytest.approx(expected["f1"], abs=1e-9)
    assert (out["missing"], sorted(out["missing_ids"])) == (3, dropped)
    assert out["unknown_ids"] == ["bengali-999-not-in-gold"]
    assert "warning: 3 of 113 gold questions have no prediction" in result.stderr
    assert "warning: 1 predictions are for ids not in" in result.stderr


def test_human_table(tmp_path, data_dir, bn_file):
    pred = write(tmp_path, gold_predictions(bn_file))
    result = score("--gold", "tydiqa:bn,te:dev", "--pred", pred, "--data-dir", str(data_dir),
                   "--mode", "multilingual")
    assert result.exit_code == 0, result.output
    assert "mode: multilingual" in result.stdout
    lines = result.stdout.splitlines()
    assert any(" bn " in line and "100.00" in line for line in lines)
    assert any(" te " in line and " 669 " in line and "0.00" in line for line in lines)
    assert any("all" in line and " 782 " in line for line in lines)  # 113 + 669
    assert "669 of 782 gold questions have no prediction" in result.stderr


@pytest.mark.parametrize(("content", "message"), [
    ("[1, 2]", "expected a JSON object {id: answer_text}, got a JSON list"),
    ('{"bengali-1": ["a", "b"]}', "prediction for id 'bengali-1' is a list"),
    ('{"bengali-1": null}', "prediction for id 'bengali-1' is a NoneType"),
    ('{"bengali-1": "x",', "malformed JSON"),
])
def test_malformed_predictions_exit_2_with_one_line(tmp_path, bn_file, content, message):
    result = score("--gold", str(bn_file), "--pred", write(tmp_path, content))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_missing_files_exit_2(tmp_path, bn_file):
    result = score("--gold", str(bn_file), "--pred", str(tmp_path / "nope.json"))
    assert result.exit_code == 2 and "predictions file not found" in result.stderr
    result = score("--gold", str(tmp_path / "gold.json"), "--pred", write(tmp_path, {}))
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_bad_mode_is_rejected(tmp_path, bn_file):
    result = score("--gold", str(bn_file), "--pred", write(tmp_path, {}), "--mode", "strict")
    assert result.exit_code == 2 and "strict" in result.output


def test_ids_in_warnings_are_quoted_so_a_newline_cannot_forge_a_line(tmp_path):
    """An id holding a newline or carriage return printed raw split the warning (or overwrote the line on a
    terminal, e.g. into a fake `error:`): ids are shown quoted, one line per warning."""
    import json as _json

    from typer.testing import CliRunner as _Runner

    import cli as _cli

    context = "Nairobi is the capital of Kenya."
    gold = tmp_path / "gold.json"
    gold.write_text(_json.dumps({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "a\nerror: forged", "question": "Capital?", "answers": [{"text": "Nairobi", "answer_start": 0}]},
        {"id": "b", "question": "Country?", "answers": [{"text": "Kenya", "answer_start": 26}]}]}]}]}),
        encoding="utf-8")
    pred = tmp_path / "pred.json"
    pred.write_text(_json.dumps({"b": "Kenya", "c\r": "x"}), encoding="utf-8")
    result = _Runner().invoke(_cli.app, ["score", "--gold", str(gold), "--pred", str(pred), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("warning: ") for line in lines), lines
    assert "'a\\nerror: forged'" in lines[0] and "'c\\r'" in lines[1]
