"""tests/tools.py: a missing tool skips a test on a laptop and fails it on CI (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import REQUIRE_ENV, missing_tool, require_module, require_tool, tools_required

REPO = Path(__file__).resolve().parents[1]
ABSENT = "solarmon-no-such-tool-xyz"


@pytest.mark.parametrize(("value", "required"), [("", False), ("0", False), ("1", True), ("yes", True)])
def test_the_switch(monkeypatch, value, required):
    monkeypatch.setenv(REQUIRE_ENV, value)
    assert tools_required() is required


def test_a_present_tool_is_found_by_path(monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    assert Path(require_tool("sh")).name == "sh"
    assert require_module("json").dumps([1]) == "[1]"


def test_a_missing_tool_skips_without_the_switch(monkeypatch):
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{ABSENT} is missing: apt-get install {ABSENT}"):
        require_tool(ABSENT)
    with pytest.raises(pytest.skip.Exception, match="pip install -r requirements-dev.txt"):
        require_module("solarmon_no_such_module")


def test_a_missing_tool_fails_with_the_switch(monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{ABSENT} is missing.*{REQUIRE_ENV}=1"):
        require_tool(ABSENT)
    with pytest.raises(pytest.fail.Exception, match="FUSE is missing: /dev/fuse absent"):
        missing_tool("FUSE", "/dev/fuse absent")


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("switch", "outcome"), [("", "1 skipped"), ("1", "1 failed")])
def test_a_pytest_run_reports_the_missing_tool_as_skip_or_failure(tmp_path, switch, outcome):
    # The whole way, as .ci/run sees it: a real pytest run's summary line.
    test = tmp_path / "test_needs_tool.py"
    test.write_text(f"from tests.tools import require_tool\n\n"
                    f"def test_it():\n    require_tool({ABSENT!r})\n")
    env = {**os.environ, REQUIRE_ENV: switch, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=110, check=False)
    assert outcome in run.stdout, run.stdout + run.stderr
