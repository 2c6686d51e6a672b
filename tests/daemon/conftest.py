"""Fixtures of the daemon tests: config files, decoded readings from real frames, system tools."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from solarmon.inverter.codec import decode_raw
from solarmon.inverter.frame import encode_reply
from solarmon.inverter.readings import Reading

REPO = Path(__file__).resolve().parents[2]
# PI30.md §3's reference replies: what a 5 kW 48 V unit says.
REFERENCE_PAYLOADS = {
    "QPIGS": "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
             "00 00 00856 010",
    "QPIRI": "230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 54.0 0 1",
    "QMOD": "B",
    "QPIWS": "00000000000100000000000000000000",
    "QFLAG": "EakxyDbjuvz",
}


@pytest.fixture
def write_conf(tmp_path: Path) -> Callable[..., Path]:
    """Write an INI text (dedented) to tmp_path/<name> and return its path."""

    def write(text: str, name: str = "mpp-solar.conf") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def reference_readings() -> dict[str, Reading]:
    """The reference replies decoded by the real codec, keyed by command."""
    return {cmd: decode_raw(cmd, encode_reply(payload)) for cmd, payload in REFERENCE_PAYLOADS.items()}


@pytest.fixture
def promtool() -> str:
    """Path of promtool (Debian package prometheus, installed by scripts/setup.sh)."""
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed (apt package prometheus)")
    return path


@pytest.fixture
def systemd_analyze() -> str:
    """Path of systemd-analyze (Debian package systemd)."""
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze not installed (apt package systemd)")
    return path
