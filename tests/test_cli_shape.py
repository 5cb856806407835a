"""The shape of the command line: small command functions, the same commands, a light `xadv --help`.

`cli.py` is the typer app; the commands live in `xadv/commands/` (the CLI layer, which the library
never imports).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import cli

REPO = Path(__file__).resolve().parents[1]
CLI_FILES = [REPO / "cli.py", *sorted((REPO / "xadv" / "commands").glob("*.py"))]
MAX_FUNCTION_LINES = 60
COMMANDS = ("data", "models", "attacks", "perturb", "attack", "leaderboard", "regress", "report", "score",
            "eval", "train", "experiment")


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@pytest.mark.parametrize("path", CLI_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_cli_function_is_longer_than_60_lines(path):
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
            for node in _functions(path) if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: split these into helpers: {', '.join(long)}"


@pytest.mark.parametrize("path", CLI_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_imports_come_first(path):
    """Module-level imports sit at the top (no mid-file `# noqa: E402` imports)."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    seen_code = False
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            assert not seen_code, f"{path.name}:{node.lineno}: import after code"
        else:
            seen_code = True


def test_help_lists_the_same_commands():
    registered = set(typer.main.get_command(cli.app).commands)
    assert registered == set(COMMANDS)
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in COMMANDS:
        assert re.search(rf"│ {command}\s", result.stdout), command


def test_library_never_imports_the_cli_layer():
    offenders = []
    for path in sorted((REPO / "xadv").rglob("*.py")):
        if (REPO / "xadv" / "commands") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [f"{node.module}.{a.name}" for a in node.names] + [node.module or ""]
                     if isinstance(node, ast.ImportFrom) else [])
            if any(n == "xadv.commands" or n.startswith("xadv.commands.") or n == "cli" for n in names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders


def test_help_imports_no_heavy_library():
    code = ("import sys, cli; heavy = ('torch', 'transformers', 'textattack', 'datasets'); "
            "print(' '.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
