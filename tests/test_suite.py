"""`EvalSuite`: one typed description of an evaluation job, from flags or a TOML file (flags override the
file, the file overrides the defaults); `xadv attack --suite FILE` gives the same records as the flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attacks.spec import AttackSpec
from cli import app
from xadv.errors import XadvError
from xadv.runs.suite import EvalSuite, ModelRef
from xadv.score.criterion import Criterion
from xadv.testing import tiny_checkpoint
from xadv.types import Target

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_the_documented_example_suite_parses():
    suite = EvalSuite.build(EvalSuite.from_toml(REPO / "docs" / "suite-example.toml"))
    assert suite.models == (ModelRef("default"),) and suite.langs == ("sw", "ru") and suite.n == 50
    assert [str(a) for a in suite.attacks] == ["keyboard", "codemix", "distractor:context"]
    assert suite.search is None and suite.criterion == Criterion.exact_match()
    assert suite.engine.batch_size == 8 and suite.engine.int8 is False


def test_flags_override_the_file_and_the_file_overrides_defaults():
    file = {"langs": ["fi", "te"], "n": 10, "seeds": [0, 1], "attacks": ["typo+word-swap", "noise"],
            "engine": {"batch_size": 4, "int8": True}, "f1_threshold": 0.5}
    flags = {"n": 3, "langs": None, "attacks": None, "engine": {"batch_size": 16, "int8": None}}
    suite = EvalSuite.build(file, flags)
    assert suite.langs == ("fi", "te") and suite.n == 3 and suite.seeds == (0, 1)
    assert suite.attacks == (AttackSpec(("keyboard", "word-swap")), AttackSpec(("char-noise",)))
    assert suite.engine.batch_size == 16 and suite.engine.int8 is True
    assert suite.criterion.format() == "f1>=0.5" and suite.targets == (Target.AUTO,)
    default = EvalSuite.build({})
    assert default.langs == ("sw",) and [a.name for a in default.attacks] == [
        "keyboard", "char-noise", "homoglyph", "codemix", "distractor"]


def test_a_search_table_sets_the_criterion_and_defaults():
    suite = EvalSuite.build({"search": {"search": "greedy", "goal": "f1-zero", "budget": 20}})
    assert suite.search.budget == 20 and suite.criterion == Criterion.f1_positive()
    assert [a.name for a in suite.attacks] == ["keyboard"]


@pytest.mark.parametrize("raw, message", [
    ({"langz": ["sw"]}, "unknown key(s) langz"),
    ({"langs": ["xx"]}, "unknown language 'xx'"),
    ({"attacks": ["nope"]}, "unknown attack 'nope'"),
    ({"targets": ["title"]}, "unknown target 'title'"),
    ({"strength": 2}, "strength must be a number in [0, 1]"),
    ({"n": 0}, "n (questions per language) must be a whole number >= 1"),
    ({"seeds": [-1]}, "a seed must be a whole number >= 0"),
    ({"mode": "loose"}, "unknown scorer mode 'loose'"),
    ({"criterion": "f1>0.5"}, "unknown ASR criterion 'f1>0.5'"),
    ({"engine": {"batchsize": 4}}, "engine: unknown setting(s) batchsize"),
    ({"search": {"budget": 5}}, "budget only apply to a search"),
    ({"search": {"search": "greedy", "budgett": 5}}, "unknown setting(s) budgett"),
    ({"search": {"search": "greedy"}, "f1_threshold": 0.5}, "the goal sets the ASR criterion"),
    ({"models": [{"path": 3}]}, "expected a name or path"),
])
def test_bad_suite_values_are_one_line_errors(raw, message):
    with pytest.raises(XadvError) as exc:
        EvalSuite.build(raw)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_unreadable_suite_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("langs = [sw\n", encoding="utf-8")
    for path, message in ((bad, "not a TOML suite file"), (tmp_path / "none.toml", "no such suite file")):
        result = runner.invoke(app, ["attack", "--suite", str(path)])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def _comparable(run_file: Path) -> list[dict]:
    """A run's records without what differs between two runs of the same cells (time, seconds)."""
    records = json.loads(run_file.read_text(encoding="utf-8"))["records"]
    return sorted(({k: v for k, v in r.items() if k not in ("env", "digest")} for r in records),
                  key=lambda r: r["cell"]["key"])


@pytest.mark.needs_data
def test_suite_file_gives_the_same_records_as_the_equivalent_flags(data_dir, tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "tiny", seed=1)
    suite = tmp_path / "suite.toml"
    suite.write_text(f'models = ["{ckpt}"]\nlangs = ["te", "fi"]\nattacks = ["typo", "sentence-reorder:context"]\n'
                     f'n = 5\nseeds = [0]\nstrength = 0.3\n[engine]\nbatch_size = 4\n', encoding="utf-8")
    common = ["--data-dir", str(data_dir), "--json"]
    by_file = runner.invoke(app, ["attack", "--suite", str(suite), "--n", "3", "--results", str(tmp_path / "a"),
                                  "--out", str(tmp_path / "a.json"), *common])
    assert by_file.exit_code == 0, by_file.output
    by_flags = runner.invoke(app, ["attack", "--model", str(ckpt), "--lang", "te,fi", "--attack",
                                   "keyboard,sentence-reorder:context", "--n", "3", "--strength", "0.3",
                                   "--batch-size", "4", "--results", str(tmp_path / "b"),
                                   "--out", str(tmp_path / "b.json"), *common])
    assert by_flags.exit_code == 0, by_flags.output
    a, b = _comparable(tmp_path / "a.json"), _comparable(tmp_path / "b.json")
    assert len(a) == 4 and a == b
    assert {r["data"]["n"] for r in a} == {3}  # the flag's --n 3 won over the file's n = 5
    assert {r["cell"]["attack"] for r in a} == {"keyboard", "sentence-reorder"}  # typo is keyboard's alias
