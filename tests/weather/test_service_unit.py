"""systemd/weather-fetcher.service checked with systemd-analyze; the shipped weather.yaml loads."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from solarmon.weather.config import load_weather_config
from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "weather-fetcher.service"


def staged(tmp_path: Path, text: str | None = None) -> Path:
    unit = tmp_path / "weather-fetcher.service"
    unit.write_text((text or UNIT.read_text()).replace("/opt/solarmon", str(REPO)))
    return unit


def verify(unit: Path) -> str:
    tool = require_tool("systemd-analyze")
    result = subprocess.run(
        [tool, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=120
    )
    # It also judges units pulled in from the host (mosquitto.service may be absent): ours only.
    return "\n".join(line for line in result.stderr.splitlines() if unit.name in line)


def test_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    assert verify(staged(tmp_path)) == ""


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("NoNewPrivileges=", "NoNewPrivilegez=")
    assert "Unknown key" in verify(staged(tmp_path, broken))


def test_unit_ordering_restart_and_hardening() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    unit, service = parser["Unit"], parser["Service"]
    for key in ("After", "Wants"):
        assert set(unit[key].split()) >= {"network-online.target", "mosquitto.service"}
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["DynamicUser"] == "yes"
    assert service["LoadCredential"].startswith("mqtt-password:")


def test_shipped_weather_yaml_is_valid() -> None:
    config = load_weather_config(REPO / "weather.yaml", env={})
    assert (config.latitude, config.longitude) == (43.7776, -72.8145)
    assert config.interval_s == 600
    assert config.mqtt.username == "solarmon-weather"
    assert config.mqtt.password is None  # no password in the repo
