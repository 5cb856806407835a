"""The CI docs cannot rot: the suite files they reference parse as an `EvalSuite`, the results folder the
workflow gates is the one its suite writes, and every flag they pass to `xadv attack` / `xadv regress` exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from xadv.runs.suite import EvalSuite

REPO = Path(__file__).resolve().parents[1]
CI = REPO / "docs" / "ci-example.yml"
MODEL_REPO = REPO / "docs" / "model-repo-gate.md"


def _env(text: str) -> dict[str, str]:
    return dict(re.findall(r"^  ([A-Z_]+): (\S+)", text, flags=re.M))


def _commands(text: str, sub: str) -> list[str]:
    """Each `xadv <sub> ...` command line of a doc, backslash continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return re.findall(rf"xadv {sub}\b[^\n|#]*", joined)


def _help_flags(sub: str) -> set[str]:
    from typer.testing import CliRunner

    from cli import app

    res = CliRunner().invoke(app, [sub, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return set(re.findall(r"--[a-z][a-z0-9-]*", res.output))


def test_the_ci_workflow_suite_parses_and_is_what_it_gates():
    env = _env(CI.read_text(encoding="utf-8"))
    suite_path = REPO / env["SUITE"]
    suite = EvalSuite.build(EvalSuite.from_toml(suite_path), where=str(suite_path))
    assert suite.n == 100 and suite.seeds == (0,) and len(suite.langs) == 4
    assert [str(a) for a in suite.attacks] == ["keyboard", "homoglyph", "invisible", "distractor"]
    assert str(suite.results) == env["RESULTS"]
    text = CI.read_text(encoding="utf-8")
    assert '--suite "$SUITE"' in text and '--current "$RESULTS"' in text


def test_the_model_repo_suite_parses_and_names_its_model():
    text = MODEL_REPO.read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", text, flags=re.S).group(1)
    suite = EvalSuite.from_mapping(tomllib.loads(block), where="model-repo-gate.md")
    assert suite.models[0].name == "my-qa" and suite.models[0].path == "ckpt"
    assert "--current .xadv-results" in text and str(suite.results) == ".xadv-results"
    assert "--baseline ckpt/xadv-baseline.json" in text


@pytest.mark.parametrize("sub", ["attack", "regress"])
def test_every_flag_the_docs_pass_exists(sub):
    known = _help_flags(sub)
    for doc in (CI, MODEL_REPO):
        commands = _commands(doc.read_text(encoding="utf-8"), sub)
        assert commands, f"{doc.name} runs no `xadv {sub}`"
        for command in commands:
            unknown = set(re.findall(r"--[a-z][a-z0-9-]*", command)) - known
            assert not unknown, f"{doc.name}: `{command.strip()}` passes unknown flag(s) {sorted(unknown)}"
