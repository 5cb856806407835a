"""Shared fixtures: the real reference data lives in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("XADV_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (SHARED_DATA / "tydiqa_goldp").is_dir():
        pytest.fail(f"reference data not found at {SHARED_DATA} (set XADV_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never write to the user's real cache."""
    monkeypatch.setenv("XADV_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "xadv-cache"))


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
