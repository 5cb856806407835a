"""The `needs_data` marker: without the reference data its tests are skipped with one reason line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import missing_data_reason

pytest_plugins = ("pytester",)

CONFTEST = Path(__file__).with_name("conftest.py")


def test_the_skip_reason_is_one_line_naming_the_path_and_the_fix(tmp_path):
    reason = missing_data_reason(tmp_path / "nowhere")
    assert reason is not None and "\n" not in reason
    assert str(tmp_path / "nowhere") in reason and "XADV_DATA_DIR" in reason and "../shared/data" in reason
    (tmp_path / "data" / "tydiqa_goldp").mkdir(parents=True)
    assert missing_data_reason(tmp_path / "data") is None


def test_marked_tests_skip_and_unmarked_ones_run_without_the_data(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("XADV_DATA_DIR", str(tmp_path / "nowhere"))
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    needs_data: reads the reference data\n")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.needs_data
        def test_reads(data_dir):
            assert False, "must not run"

        def test_plain():
            pass
    """)
    result = pytester.runpytest_subprocess("-ra", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    (line,) = [s for s in result.outlines if s.startswith("SKIPPED")]
    assert line.endswith(f"reference data not found at {tmp_path / 'nowhere'} "
                         "(set XADV_DATA_DIR or put ../shared/data beside the clone)")


def test_a_test_taking_data_dir_must_carry_the_marker(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("XADV_DATA_DIR", str(tmp_path / "nowhere"))
    pytester.makeconftest(CONFTEST.read_text(encoding="utf-8"))
    pytester.makepyfile("def test_reads(data_dir):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*take the data_dir fixture without @pytest.mark.needs_data*test_reads*"])
