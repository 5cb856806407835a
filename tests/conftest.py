"""Shared fixtures: the real reference data lives in ../shared/data (never copied into the repo).

Tests that read it carry `@pytest.mark.needs_data` (or a module-level `pytestmark`) and take the
`data_dir` fixture. Where the data is absent they are skipped with one reason line; where it is present
(CI) nothing is skipped. `XADV_DATA_DIR`, when set, points the tests at another copy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("XADV_DATA_DIR") or REPO.parent / "shared" / "data").expanduser()


def missing_data_reason(path: Path = SHARED_DATA) -> str | None:
    """None when the reference data is at `path`, else the one-line reason its tests are skipped."""
    if (path / "tydiqa_goldp").is_dir():
        return None
    return f"reference data not found at {path} (set XADV_DATA_DIR or put ../shared/data beside the clone)"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    unmarked = [item.nodeid for item in items
                if "data_dir" in getattr(item, "fixturenames", ()) and item.get_closest_marker("needs_data") is None]
    if unmarked:
        raise pytest.UsageError(f"{len(unmarked)} test(s) take the data_dir fixture without "
                                f"@pytest.mark.needs_data, first {unmarked[0]}")
    reason = missing_data_reason()
    if reason:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if item.get_closest_marker("needs_data") is not None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    reason = missing_data_reason()
    if reason:
        pytest.skip(reason)
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never write to the user's real cache."""
    monkeypatch.setenv("XADV_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "xadv-cache"))


@pytest.fixture(autouse=True)
def _no_results_key(monkeypatch):
    """Tests run without the leaderboard owner's sealing key unless they set one (`XADV_RESULTS_KEY`)."""
    monkeypatch.delenv("XADV_RESULTS_KEY", raising=False)


_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
# The README's test command runs pytest-xdist workers: each gets its share of the cores, so torch in every
# worker (and in the CLI processes its tests start, through the environment) never runs more threads in all
# than the machine has. Set before any test module imports torch; a user's own OMP_NUM_THREADS wins.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _CPUS // _WORKERS)))
_THREADS = int(os.environ.get("OMP_NUM_THREADS") or _CPUS)


@pytest.fixture(autouse=True)
def _torch_threads_given_back():
    """torch's thread count is process-wide: a test whose engine runs on one thread (`num_threads=1`, tiny
    models) must not leave every later test, training included, on one of the machine's cores."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else _THREADS
    yield
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tok():
    """The real multilingual-e5-small tokenizer (from the offline-model extra), loaded once per run."""
    from xadv.models.tokenizer import load_me5_tokenizer

    return load_me5_tokenizer()


@pytest.fixture(scope="module")
def torch_threads_restored():
    """Tiny models are all synchronisation overhead with 2+ threads on a busy machine, so the engine may
    run them on one; torch's thread count is process-wide, so give it back after the module."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
