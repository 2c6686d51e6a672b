"""The one place a test says it needs an outside tool (Mosquitto, Chromium, FUSE, promtool,
systemd-analyze, ...): on a developer's laptop a missing tool skips the test with the way to get
it; with SOLARMON_REQUIRE_TOOLS=1 (set by .ci/run) it FAILS it, so CI cannot pass by skipping.

Only a missing tool goes through here. Conditions no installation can change stay plain skips,
each with its reason: a real inverter bridge attached to the machine, a udevadm too old to have
`verify` (Debian 12's systemd 252), tests of the hand-over to other owners that only root can run.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType
from typing import NoReturn

import pytest

REQUIRE_ENV = "SOLARMON_REQUIRE_TOOLS"
# Debian keeps some daemons (mosquitto) in sbin, not on every user's PATH.
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
# The Debian package that brings each tool (what the message tells a developer to install).
PACKAGES = {
    "mosquitto": "mosquitto", "mosquitto_passwd": "mosquitto", "promtool": "prometheus",
    "prometheus": "prometheus", "prometheus-node-exporter": "prometheus-node-exporter",
    "systemd-analyze": "systemd", "udevadm": "udev", "fusermount3": "fuse3",
    "chromium-headless-shell": "chromium-headless-shell", "npm": "npm",
    "victoria-metrics": "victoria-metrics", "vmagent": "victoria-metrics", "openssl": "openssl",
}  # fmt: skip


def tools_required() -> bool:
    """True when a missing tool must fail the test (SOLARMON_REQUIRE_TOOLS set and not 0)."""
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


def missing_tool(name: str, how: str = "") -> NoReturn:
    """Skip the test, or fail it under SOLARMON_REQUIRE_TOOLS=1, because `name` is missing or
    unusable; `how` says how to get it (default: the Debian package, as scripts/setup.sh does)."""
    how = how or f"apt-get install {PACKAGES.get(name, name)} (scripts/setup.sh does)"
    message = f"{name} is missing: {how}"
    if tools_required():
        pytest.fail(f"{message} [{REQUIRE_ENV}=1: a test needing it fails instead of skipping]",
                    pytrace=False)
    pytest.skip(message)


def require_tool(name: str, how: str = "") -> str:
    """The path of the executable `name` (on PATH or in sbin); skip or fail when it is absent."""
    found = shutil.which(name) or shutil.which(name, path=SBIN)
    if found is None:
        missing_tool(name, how)
    return found


def require_module(name: str, how: str = "") -> ModuleType:
    """The imported Python module `name` (a dev requirement such as playwright); skip or fail
    when it cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing_tool(name, how or f"pip install -r requirements-dev.txt ({exc})")
