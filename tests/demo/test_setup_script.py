"""scripts/setup.sh as the demo and the test command use it (issue 12): the demo installs only what
it needs (runtime requirements, front-end packages, Mosquitto), a later test run adds the dev
requirements on top, and a second run of either does nothing (stamps). System tools are stubs on
PATH that record their calls: the script's own logic runs for real."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STUBS = {
    # Every package missing, so the script shows which ones it would install.
    "dpkg-query": 'echo "dpkg-query $*" >> "$CALLS"; echo "unknown ok not-installed"',
    "apt-get": 'echo "apt-get $*" >> "$CALLS"',
    "sudo": 'echo "sudo $*" >> "$CALLS"; "$@"',
    "node": "true",
    "npm": 'echo "npm $*" >> "$CALLS"; mkdir -p node_modules',
    # The system python: makes a venv whose pip records what it installs.
    "python3": ('echo "python3 $*" >> "$CALLS"; mkdir -p .venv/bin; '
                "printf '#!/bin/sh\\necho \"pip $*\" >> \"$CALLS\"\\n' > .venv/bin/pip; "
                "printf '#!/bin/sh\\n' > .venv/bin/python; chmod +x .venv/bin/pip .venv/bin/python"),
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    for name in ("requirements.txt", "requirements-dev.txt", "package-lock.json"):
        shutil.copy(REPO / name, root / name)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in STUBS.items():
        (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / name).chmod(0o755)
    return root


def run_setup(root: Path, purpose: str) -> list[str]:
    """Source setup.sh for `purpose` (demo / test) as manage_web.sh and test.sh do; the calls made."""
    calls = root.parent / "calls.log"
    calls.write_text("")
    env = {**os.environ, "PATH": f"{root.parent / 'bin'}:{os.environ['PATH']}", "CALLS": str(calls)}
    env.pop("BOOTSTRAP_PYTHON", None)
    script = f"SETUP_FOR={purpose}; source scripts/setup.sh"
    result = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in calls.read_text().splitlines() if not line.startswith("dpkg-query")]


def apt_packages(calls: list[str]) -> set[str]:
    install = [c for c in calls if " install " in c and "apt-get" in c]
    assert len(install) == 1, calls
    return set(install[0].split("--no-install-recommends", 1)[1].split())


def test_demo_installs_its_needs_then_tests_add_theirs_and_reruns_do_nothing(checkout: Path) -> None:
    calls = run_setup(checkout, "demo")
    # A fresh clone: the venv is made by the system's python3 (not by the venv's own python).
    assert "python3 -m venv .venv" in calls
    packages = apt_packages(calls)
    assert "mosquitto" in packages
    test_only = {"chromium-headless-shell", "prometheus", "wrk", "fuse3", "prometheus-node-exporter"}
    assert not packages & test_only
    assert "pip install -q -r requirements.txt" in calls
    assert not any("requirements-dev.txt" in c for c in calls)
    assert "npm ci --no-audit --no-fund --silent" in calls

    again = run_setup(checkout, "demo")
    assert [c for c in again if c.startswith(("pip", "npm", "python3"))] == []  # stamps: nothing to do

    tests = run_setup(checkout, "test")
    assert "pip install -q -r requirements-dev.txt" in tests  # the dev requirements on top
    assert {"chromium-headless-shell", "prometheus", "wrk"} <= apt_packages(tests)
    assert not any(c.startswith(("python3", "npm")) for c in tests)

    after = run_setup(checkout, "demo")  # the dev stamp covers the runtime requirements
    assert [c for c in after if c.startswith(("pip", "npm", "python3"))] == []


def test_an_unknown_purpose_is_refused(checkout: Path) -> None:
    result = subprocess.run(["bash", "-c", "SETUP_FOR=prod; source scripts/setup.sh"], cwd=checkout,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "SETUP_FOR must be demo, fleet-demo or test" in result.stderr


def test_the_fleet_demo_installs_the_store_and_the_agent_not_the_test_tools(checkout: Path) -> None:
    calls = run_setup(checkout, "fleet-demo")
    packages = apt_packages(calls)
    assert {"prometheus", "victoria-metrics"} <= packages
    assert not packages & {"chromium-headless-shell", "wrk", "fuse3", "mosquitto"}
    assert "pip install -q -r requirements.txt" in calls
    assert not any("requirements-dev.txt" in c for c in calls)
