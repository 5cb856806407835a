"""xadv.io: the commit stamped on records and model cards must say when the tree had local changes, and
must not borrow the commit of an unrelated repository that merely contains the code."""

import shutil
import subprocess
from pathlib import Path

import pytest

from xadv.io import git_commit

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", "-C", str(repo), *env_args, *args], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "a.txt").write_text("one\n")
    _git(root, "add", "a.txt")
    _git(root, "commit", "-q", "-m", "first")
    return root


def test_clean_tree_gives_head(repo):
    assert git_commit(repo) == _git(repo, "rev-parse", "HEAD")


def test_local_changes_are_marked_dirty(repo):
    head = _git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("two\n")
    assert git_commit(repo) == f"{head}-dirty"
    (repo / "untracked.txt").write_text("not part of the tree\n")  # untracked files alone do not count
    (repo / "a.txt").write_text("one\n")
    assert git_commit(repo) == head


def test_a_folder_inside_another_repository_has_no_commit(repo):
    (repo / "site-packages" / "xadv").mkdir(parents=True)
    assert git_commit(repo / "site-packages") is None


def test_outside_git_is_none(tmp_path):
    assert git_commit(tmp_path) is None
