"""docs/python-api.md runs: its fenced python blocks, executed in order in one namespace, on the real data
and the embedded default model (20 Swahili questions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_doc_has_its_blocks():
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 5
    assert all("xadv." in b for b in blocks)


def test_the_python_api_doc_runs_in_order(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("XADV_DATA_DIR", str(data_dir))
    monkeypatch.chdir(tmp_path)  # the blocks write xadv-results/ and sw-aug.json here
    namespace: dict = {}
    for i, block in enumerate(python_blocks(DOC.read_text(encoding="utf-8"))):
        exec(compile(block, f"{DOC.name}[block {i + 1}]", "exec"), namespace)
    assert namespace["report"].overall.n == 20
    assert len(namespace["run"].records) == 2
    assert len(list((tmp_path / "xadv-results").glob("*.json"))) == 2
    assert namespace["done"].originals == 20 and namespace["done"].copies == 40
