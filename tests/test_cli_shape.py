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
COMMANDS = ("data", "models", "attacks", "perturb", "augment", "attack", "sweep", "leaderboard", "regress", "report",
            "score", "eval", "train", "experiment", "results")


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


USAGE_ERRORS = [
    (["--bogus"], "No such option: --bogus", "xadv --help"),
    (["nosuch"], "No such command 'nosuch'", "xadv --help"),
    (["attack", "--bogus"], "No such option: --bogus", "xadv attack --help"),
    (["attack", "--seed", "abc"], "Invalid value for '--seed'", "xadv attack --help"),
    (["data", "nosuch"], "No such command 'nosuch'", "xadv data --help"),
    (["models", "import"], "Missing argument", "xadv models import --help"),
]


@pytest.mark.parametrize("args,message,help_hint", USAGE_ERRORS,
                         ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_usage_errors_are_one_line_and_exit_2(args, message, help_hint):
    """The real console entry point: an unknown option or a mistyped value is one `error:` line naming the
    help to read, exit 2; never click's usage banner and boxed message."""
    proc = subprocess.run([sys.executable, "-c", "import cli; cli.app(prog_name='xadv')", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0] and f"(see '{help_hint}')" in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("group", ["data", "models", "attacks", "experiment"])
def test_a_group_without_a_command_shows_its_help_and_no_empty_error(group):
    proc = subprocess.run([sys.executable, "-c", "import cli; cli.app(prog_name='xadv')", group],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "Usage: xadv " + group in proc.stdout and "error:" not in proc.stderr, proc.stderr


FILE_OUTS = [
    ["perturb", "--data", "tydiqa:sw:dev", "--attack", "keyboard"],
    ["eval", "--model", "default", "--data", "tydiqa:sw:dev"],
    ["attack", "--model", "default", "--lang", "sw", "--attack", "keyboard"],
    ["leaderboard", "--results", "."],
    ["augment", "--data", "tydiqa:sw:dev", "--attack", "keyboard"],
]


@pytest.mark.parametrize("args", FILE_OUTS, ids=lambda v: v[0])
def test_an_out_file_ending_in_a_slash_is_refused_before_anything_is_written(args, tmp_path):
    """`Path("new/")` drops the slash: such an --out used to write a *file* named `new`."""
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(REPO)!r}); import cli; "
                           "cli.app(prog_name='xadv')", *args, "--out", "new/"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: --out new/: ends in a slash") and "new/out.json" in line
    assert list(tmp_path.iterdir()) == []
