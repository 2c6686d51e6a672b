"""mpp-solar.conf loading: the seed file, per-section values, warnings, and every kind of bad config."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from solarmon.daemon.config import KEYS, SCOPE_DEVICE, SCOPE_SETUP, ConfigError, key_table, load_config

from .conftest import REPO


def test_repo_config_is_the_seed_configuration() -> None:
    config = load_config(REPO / "mpp-solar.conf")
    assert config.setup.pause_s == 60
    assert config.setup.log_file is None
    assert config.setup.mqtt_broker == "localhost"
    (device,) = config.devices
    assert (device.name, device.protocol, device.port, device.porttype, device.baud) == (
        "inverter", "pi30", "/dev/hidraw0", "hidraw", 2400)
    assert device.commands == ("QPIGS",)
    assert device.dev == "main_inverter"
    # Relative to the file's folder, so the repo works wherever it is cloned.
    assert device.prom_output_dir == REPO / "prometheus"
    assert device.prom_file == REPO / "prometheus" / "mpp-solar-inverter.prom"
    assert config.setup.control_socket == Path("/run/mpp-solar/control.sock")  # web.yaml's default too
    assert device.allowed_settings == ()


def test_mppsolar_file_with_two_devices_keeps_values_per_section(write_conf, tmp_path: Path) -> None:
    path = write_conf("""
        [SETUP]
        pause = 5
        [one]
        port = /dev/hidraw3
        command = QPIGS#QPIGS2
        dev = east
        allowed_settings = POP, PEa
        [two]
        port = /dev/ttyUSB1
        baud = 9600
        prom_output_dir = /var/tmp/x
    """)
    config = load_config(path)
    one, two = config.devices
    assert (one.porttype, one.commands, one.dev, one.allowed_settings) == (
        "hidraw", ("QPIGS", "QPIGS2"), "east", ("POP", "PEa"))
    # Nothing of [one] leaks into [two] (mppsolar's daemon shares some keys across sections).
    assert (two.porttype, two.baud, two.commands, two.dev, two.allowed_settings) == (
        "serial", 9600, ("QPIGS",), "", ())
    assert two.device_label == "None"
    assert one.prom_output_dir == tmp_path / "prometheus"
    assert two.prom_output_dir == Path("/var/tmp/x")
    assert one.setting_allowed("POP02")
    assert one.setting_allowed("PEa")
    assert not one.setting_allowed("PEb")
    assert not one.setting_allowed("PCP00")
    assert not two.setting_allowed("POP02")


@pytest.mark.parametrize(("families", "command", "allowed"), [
    ("POP", "POP02", True),
    ("POP", "POPX", False),
    ("PE", "PEa", True),
    ("PE", "PDa", False),
    ("PDb", "PDb", True),
    ("PDb", "PDu", False),
    ("F", "F50", True),
    ("PF", "PF", True),
    ("MCHGC", "MCHGC040", True),
    ("MCHGC", "MUCHGC040", False),
    ("PBCV", "PBCV48.0", True),
    ("PCVV", "PCP01", False),
])
def test_allowed_settings_match_by_family(write_conf, families: str, command: str, allowed: bool) -> None:
    path = write_conf(f"[inv]\nport = /dev/hidraw0\nallowed_settings = {families}\n")
    assert load_config(path).devices[0].setting_allowed(command) is allowed


def test_unknown_keys_warn_and_are_ignored(write_conf, caplog: pytest.LogCaptureFixture) -> None:
    path = write_conf("""
        [SETUP]
        pause = 10
        colour = blue
        [inv]
        port = /dev/hidraw0
        outputs = screen,prom_file
        speed = 11
    """)
    with caplog.at_level(logging.WARNING):
        config = load_config(path)
    assert config.setup.pause_s == 10
    text = caplog.text
    assert "[SETUP] colour: unknown key" in text
    assert "[inv] speed: unknown key" in text
    assert "screen ignored" in text


INV = "[inv]\nport = /dev/hidraw0\n"
BAD_CONFIGS = [
    # (file text, section, key, words the message must contain)
    ("[SETUP]\npause = soon\n" + INV, "SETUP", "pause", "pause must be a number in 0.1..86400, got 'soon'"),
    ("[SETUP]\npause = 0\n" + INV, "SETUP", "pause", "must be a number in 0.1..86400, got '0'"),
    ("[SETUP]\npause = 60 # seconds\n" + INV, "SETUP", "pause", "got '60 # seconds'"),
    ("[SETUP]\nmqtt_port = 70000\n" + INV, "SETUP", "mqtt_port", "must be an integer in 1..65535"),
    (INV + "baud = 2401\n", "inv", "baud", "must be one of 1200, 2400"),
    (INV + "protocol = pi17\n", "inv", "protocol", "must be one of pi30, pi30max"),
    (INV + "type = victron\n", "inv", "type", "must be one of mppsolar, jkbms, dalybms"),
    (INV + "type = jkbms\n", "inv", "porttype", "a BMS (jkbms) is on a serial or RS485 port"),
    ("[bms]\nport = /dev/ttyUSB0\ntype = dalybms\nprotocol = jk485\n", "bms", "protocol",
     "allowed: daly40, daly"),
    ("[bms]\nport = /dev/ttyUSB0\ntype = jkbms\noutputs = mqtt\n", "bms", "outputs", "writes prom_file only"),
    (INV + "protocol = jkserial\n", "inv", "protocol", "is a BMS protocol"),
    (INV + "porttype = bluetooth\n", "inv", "porttype", "must be one of hidraw, serial"),
    (INV + "command = QPIGS#POP02\n", "inv", "command", "'POP02' is not a PI30 query"),
    (INV + "command = QPIGS  # general status\n", "inv", "command", "not a PI30 query"),
    (INV + "command =\n", "inv", "command", "'' is not a PI30 query"),
    (INV + "outputs = prom_file,fax\n", "inv", "outputs", "'fax' is not an output"),
    (INV + "allowed_settings = POP,XYZ\n", "inv", "allowed_settings", "'XYZ' is not a setting"),
    (INV + "settings_interval = 0\n", "inv", "settings_interval", "must be a number in 1..86400"),
    (INV + "timeout = -1\n", "inv", "timeout", "must be a number in 0..60"),
    (INV + "timeout = nan\n", "inv", "timeout", "must be a finite number in 0..60, got 'nan'"),
    ("[inv]\nport =\n", "inv", "port", "must not be empty"),
    ("[inv]\nport = /dev/ttyUSB0\nusb_reset_after = 3\n", "inv", "usb_reset_after", "only a hidraw device"),
    (INV + "usb_reset_after = -1\n", "inv", "usb_reset_after", "must be an integer in 0..1000"),
    ("[inv]\nport = auto\nporttype = serial\n", "inv", "port", "only supported with porttype = hidraw"),
    (INV + "dev = a\"b\n", "inv", "dev", "must not contain quotes"),
    ("[a]\nport = /dev/hidraw0\n[b]\nport = /dev/hidraw0\n", "b", "port", "already used by [a]"),
    ("[bad name]\nport = /dev/hidraw0\n", "bad name", None, "section name may only use"),
    ("[SETUP]\npause = 60\n", None, None, "no device section"),
    (INV + "port = /dev/hidraw1\n", None, None, "not an INI file"),
    ("pause = 60\n", None, None, "not an INI file"),
]


@pytest.mark.parametrize(("text", "section", "key", "words"), BAD_CONFIGS)
def test_bad_config_names_file_section_key_and_limits(write_conf, text: str, section: str | None,
                                                      key: str | None, words: str) -> None:
    path = write_conf(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert (info.value.section, info.value.key) == (section, key)
    if section is not None:
        assert f"[{section}]" in message
    assert words in message


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.conf")
    binary = tmp_path / "binary.conf"
    binary.write_bytes(b"\xff\xfe[inv]\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(binary)


@pytest.mark.parametrize("case", [0, 4, 8, 19, 21])
def test_daemon_exits_2_with_the_message_on_bad_config(write_conf, case: int) -> None:
    text, section, key, words = BAD_CONFIGS[case]
    path = write_conf(text)
    result = subprocess.run([sys.executable, "-m", "solarmon.daemon", "-C", str(path), "--once"],
                            capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert result.returncode == 2
    for part in ("config error", str(path), words):
        assert part in result.stderr
    assert "Traceback" not in result.stderr


def test_key_table_is_complete_and_documented() -> None:
    rows = key_table()
    assert {r["scope"] for r in rows} == {SCOPE_SETUP, SCOPE_DEVICE}
    names = [(k.scope, k.name) for k in KEYS]
    assert len(names) == len(set(names))
    doc = (REPO / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    section = doc.split("## mpp-solar.conf", 1)[1].split("\n## ", 1)[0]
    for row in rows:
        line = next((ln for ln in section.splitlines() if ln.startswith(f"| `{row['name']}` |")), None)
        assert line is not None, f"{row['name']} is not documented in docs/CONFIGURATION.md"
        assert f"`{row['default']}`" in line or (row["default"] == "" and "(empty)" in line), line
        assert f"| {row['limits']} |" in line, line
