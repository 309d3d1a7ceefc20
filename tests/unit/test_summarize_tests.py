"""scripts/summarize_tests.py counts each test once, whatever pytest wrote for its reruns, and sums
each kind of security case on one line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "summarize_tests.py"
_spec = importlib.util.spec_from_file_location("summarize_tests", _SCRIPT)
assert _spec and _spec.loader
summarize_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(summarize_tests)


def _junit(tmp_path: Path, cases: str) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(f'<testsuites><testsuite name="s">{cases}</testsuite></testsuites>')
    return path


def test_a_rerun_after_a_crashed_tab_counts_once(tmp_path: Path) -> None:
    cases = '<testcase classname="m" name="t"/><testcase classname="m" name="t"/>'
    assert summarize_tests.junit_counts(_junit(tmp_path, cases)) == (1, 0, 0)


def test_a_failure_followed_by_a_teardown_error_is_one_failed_test(tmp_path: Path) -> None:
    cases = (
        '<testcase classname="m" name="t"><failure/></testcase>'
        '<testcase classname="m" name="t"><error/></testcase>'
        '<testcase classname="m" name="u"/>'
    )
    assert summarize_tests.junit_counts(_junit(tmp_path, cases)) == (1, 1, 0)


def test_same_names_apart_are_different_tests_and_skips_count(tmp_path: Path) -> None:
    cases = (
        '<testcase classname="test" name="t"/>'
        '<testcase classname="test" name="u"><skipped/></testcase>'
        '<testcase classname="test" name="t"/>'
    )
    assert summarize_tests.junit_counts(_junit(tmp_path, cases)) == (2, 0, 1)


def test_integrity_cases_of_every_spec_make_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stages").write_text("security passed\n")
    (tmp_path / "security").mkdir()
    worked = {"control": "worked", "checked": "refused"}
    (tmp_path / "security" / "integrity.json").write_text(json.dumps([worked, worked]))
    (tmp_path / "security" / "integrity-messages.json").write_text(
        json.dumps([worked, {"control": "failed", "checked": "worked"}])
    )
    assert summarize_tests.main(tmp_path) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "integrity" in line]
    assert lines == [
        "  security: 4 integrity cases, 3 controls worked as they should, "
        "1 got past the host's checks"
    ]
