"""The Python API (`xadv.*`): the same numbers and record keys as the CLI, attacks as dataset transforms,
SQuAD augmentation, and a light `import xadv`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import xadv
from cli import app
from xadv.data.squad import read_squad
from xadv.errors import XadvError

runner = CliRunner()


def test_the_api_names_resolve_lazily():
    code = "import sys, xadv; print('xadv.api' in sys.modules); xadv.perturb_dataset; print('xadv.api' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "True"], done.stderr[-2000:]
    assert {"load_model", "evaluate", "attack", "build_leaderboard", "perturb_dataset"} <= set(dir(xadv))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        xadv.nope  # noqa: B018


def test_to_pandas_without_pandas_is_one_line(monkeypatch):
    from xadv.frames import data_frame, flatten

    assert flatten({"a": 1, "ci": {"f1": [0, 1]}}) == {"a": 1, "ci.f1": [0, 1]}
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(XadvError, match="pip install pandas") as err:
        data_frame([{"a": 1}])
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def model():
    return xadv.load_model()


@pytest.fixture(scope="module")
def sw(data_dir):
    return xadv.load_data("tydiqa:sw:dev", data_dir=data_dir, n=10)


@pytest.mark.needs_data
@pytest.mark.slow
def test_attack_gives_the_clis_cell_summary_and_key(model, sw, data_dir, tmp_path):
    cli_dir, api_dir = tmp_path / "cli", tmp_path / "api"
    done = runner.invoke(app, ["attack", "--lang", "sw", "--attack", "keyboard", "--n", "10", "--results",
                               str(cli_dir), "--data-dir", str(data_dir), "--json"])
    assert done.exit_code == 0, done.output
    [cli_cell] = json.loads(done.stdout)["cells"]
    run = xadv.attack(model, sw, "keyboard", results=api_dir)
    [cell] = run.to_dict()["cells"]
    assert cell["status"] == "computed" and cell["summary"] == cli_cell["summary"]
    assert cell["changed"] == cli_cell["changed"]
    [cli_file], [api_file] = list(cli_dir.glob("*.json")), list(api_dir.glob("*.json"))
    assert api_file.name == cli_file.name  # same cell key (model, data sha256, attack, seed, engine, ...)
    again = xadv.attack("default", "tydiqa:sw:dev", "keyboard", n=10, data_dir=data_dir, results=cli_dir)
    assert [o.status for o in again.outcomes] == ["cached"]  # the CLI's record, reused from Python
    frame = run.to_pandas()
    assert frame.loc[0, "asr"] == cli_cell["summary"]["asr"] and frame.loc[0, "seed"] == 0
    board = xadv.build_leaderboard(api_dir)
    assert not board.flagged and board.to_pandas().loc[0, "adv_f1"] == pytest.approx(cli_cell["summary"]["adv_f1"])


@pytest.mark.needs_data
@pytest.mark.slow
def test_evaluate_gives_the_clis_numbers(model, sw, data_dir):
    done = runner.invoke(app, ["eval", "--model", "default", "--data", "tydiqa:sw:dev", "--n", "10", "--data-dir",
                               str(data_dir), "--json", "--quiet"])
    assert done.exit_code == 0, done.output
    cli = json.loads(done.stdout)
    report = xadv.evaluate(model, sw)
    assert json.loads(json.dumps(report.to_dict()["overall"])) == cli["overall"]
    assert report.fingerprint == cli["fingerprint"]
    assert list(report.to_pandas()["name"]) == ["sw", "all"]
    with pytest.raises(XadvError, match="unknown engine setting"):
        xadv.evaluate(model, sw, batchsize=4)


@pytest.mark.needs_data
def test_attack_rejects_an_unknown_setting_before_any_work(sw):
    with pytest.raises(XadvError, match="unknown setting.*langs"):
        xadv.attack("no-such-model", sw, "keyboard", langs="sw")


def _answers_at_offsets(row) -> bool:
    return all(row["context"][s:s + len(t)] == t
               for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"], strict=True))


@pytest.mark.needs_data
def test_perturb_dataset_is_per_id_order_free_and_keeps_answers_exact(data_dir):
    from attacks.run import perturb_example

    ds = xadv.load_data("tydiqa:sw,ru:dev", data_dir=data_dir, n=15)
    adv = xadv.perturb_dataset(ds, "keyboard", target="both", seed=3)
    shuffled = xadv.perturb_dataset(ds.shuffle(seed=1).select(range(20)), "keyboard", target="both", seed=3)
    by_id = {r["id"]: r for r in adv}
    assert len(shuffled) == 20 and all(r == by_id[r["id"]] for r in shuffled)
    assert sum(r["question"] != o["question"] for r, o in zip(adv, ds)) > 10
    assert sum(r["context"] != o["context"] for r, o in zip(adv, ds)) > 10
    for row, orig in zip(adv, ds):
        assert _answers_at_offsets(row)
        p = perturb_example(dict(orig), "keyboard", "both", 0.2, 3)  # what `xadv perturb` writes
        assert (row["question"], row["context"], row["answers"]) == (p.example["question"], p.example["context"],
                                                                     p.example["answers"])
        assert row["edits"] == [e.to_dict() for e in p.edits]
    other = xadv.perturb_dataset(ds, "keyboard", target="both", seed=4)
    assert other["question"] != adv["question"]
    twice = xadv.perturb_dataset(adv, "homoglyph", target="question")
    assert all(len(t["edits"]) >= len(a["edits"]) for t, a in zip(twice, adv))  # the log is extended


@pytest.mark.needs_data
def test_perturb_dataset_equals_the_perturb_command_row_by_row(data_dir, tmp_path):
    """The Done-when of the API issue, through the real CLI: same questions, contexts, answers and edit log
    (and `--n` is per language in both, as in every other command)."""
    out = tmp_path / "sw-ru.json"
    result = runner.invoke(app, ["perturb", "--data", "tydiqa:sw,ru:dev", "--data-dir", str(data_dir), "--n", "12",
                                 "--attack", "keyboard", "--target", "both", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = read_squad(out).to_list()
    edits = {e["id"]: e for e in map(json.loads, out.with_name("sw-ru.edits.jsonl").read_text(
        encoding="utf-8").splitlines())}
    adv = xadv.perturb_dataset(xadv.load_data("tydiqa:sw,ru:dev", data_dir=data_dir, n=12), "keyboard",
                               target="both", seed=5)
    assert len(adv) == len(written) == len(edits) == 24
    by_id = {r["id"]: r for r in adv}
    changed = 0
    for qa in written:
        row = by_id[qa["id"]]
        assert (row["question"], row["context"], row["answers"]) == (qa["question"], qa["context"], qa["answers"])
        assert row["edits"] == edits[qa["id"]]["edits"]
        changed += bool(row["edits"])
    assert changed > 18


@pytest.mark.needs_data
def test_perturb_dataset_bad_input_is_one_line(sw):
    with pytest.raises(XadvError, match="seed"):
        xadv.perturb_dataset(sw, "keyboard", seed=-1)
    with pytest.raises(XadvError, match="missing column"):
        xadv.perturb_dataset(sw.remove_columns("answers"), "keyboard")
    with pytest.raises(XadvError, match="no-such-attack"):
        xadv.perturb_dataset(sw, "no-such-attack")


@pytest.mark.needs_data
def test_augment_writes_k_plus_one_copies_with_distinct_ids(data_dir, tmp_path):
    from attacks.run import perturb_example

    out = tmp_path / "aug.json"
    done = runner.invoke(app, ["augment", "--data", "tydiqa:sw:dev", "--n", "5", "--attack", "typo", "--copies",
                               "3", "--seed", "2", "--out", str(out), "--data-dir", str(data_dir), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["examples"] == 20 and summary["seeds"] == [2, 3, 4] and summary["attack"] == "keyboard"
    rows = list(xadv.load_data(out))  # load_qa re-validates every answer and refuses duplicate ids
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == 20 and all(_answers_at_offsets(r) for r in rows)
    originals = list(xadv.load_data("tydiqa:sw:dev", data_dir=data_dir, n=5))
    for orig in originals:
        for k in (2, 3, 4):
            [copy] = [r for r in rows if r["id"] == f"{orig['id']}#keyboard#{k}"]
            assert copy["question"] == perturb_example(dict(orig), "keyboard", "question", 0.2, k).example["question"]
    assert [r["question"] for r in rows if "#" not in r["id"]] == [o["question"] for o in originals]
    log = [json.loads(line) for line in out.with_name("aug.edits.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(log) == 15 and {rec["source_id"] for rec in log} == {o["id"] for o in originals}


def test_augment_to_a_folder_path_is_refused_before_anything_is_written(tmp_path):
    """The CLI's --out parser refuses `new/`; a Python caller's str reaches check_output_path with its slash."""
    out = str(tmp_path / "new") + "/"
    with pytest.raises(XadvError, match="ends in a slash, so it names a folder"):
        xadv.augment("tydiqa:sw:dev", "keyboard", out)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("copies", ["0", "-1", "101"])
def test_augment_bad_copies_is_one_line(tmp_path, copies):
    done = runner.invoke(app, ["augment", "--data", "tydiqa:sw:dev", "--attack", "keyboard", "--copies", copies,
                               "--out", str(tmp_path / "a.json")])
    assert done.exit_code == 2
    assert done.output.strip().count("\n") == 0 and "--copies must be a whole number from 1 to 100" in done.output
