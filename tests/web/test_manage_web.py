"""manage_web.sh: the staged install of the systemd unit, and the demo end to end (real processes)."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "manage_web.sh"
UNIT = REPO / "systemd" / "mpp-solar-web.service"


def staged_install(tmp_path: Path) -> Path:
    env = os.environ | {"ROOTDIR": str(tmp_path / "root")}
    result = subprocess.run(["bash", str(MANAGE), "install"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return tmp_path / "root" / "etc/systemd/system/mpp-solar-web.service"


def test_install_points_the_unit_at_this_checkout_and_uninstall_removes_it(tmp_path):
    unit = staged_install(tmp_path)
    text = unit.read_text()
    assert "/opt/solarmon" not in text
    assert f"ExecStart={REPO}/.venv/bin/python {REPO}/web_interface.py -c {REPO}/web.yaml" in text
    env = os.environ | {"ROOTDIR": str(tmp_path / "root")}
    subprocess.run(["bash", str(MANAGE), "uninstall"], env=env, check=True, capture_output=True, timeout=60)
    assert not unit.exists()


def test_the_installed_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = require_tool("systemd-analyze")
    unit = staged_install(tmp_path)
    result = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True,
                            text=True, timeout=120, check=False)
    # systemd-analyze also judges units it pulls in from the host; keep only lines about ours.
    own = [line for line in result.stderr.splitlines() if unit.name in line]
    assert own == []
    broken = unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilegez=")
    unit.write_text(broken)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert "Unknown key" in result.stderr  # the check above can fail


def test_the_unit_is_a_hardened_service_with_its_own_user():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    service = parser["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a bad web.yaml does not loop
    assert service["User"] == "solarmon-web"
    assert service["SupplementaryGroups"] == "mpp-solar"  # reaches the daemon's control socket
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/opt/solarmon/var -/opt/solarmon/prometheus"
    assert service["CapabilityBoundingSet"] == ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def start_demo(demo_dir: Path, port: int) -> subprocess.Popen[str]:
    """`manage_web.sh demo` in its own session (as a terminal runs it), output to a pipe."""
    env = os.environ | {"DEMO_DIR": str(demo_dir), "DEMO_PORT": str(port), "DEMO_DAYS": "0.2"}
    env.pop("DEMO_TIME", None)
    return subprocess.Popen(["bash", str(MANAGE), "demo"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for_data(process: subprocess.Popen[str], port: int) -> dict:
    deadline = time.monotonic() + 240
    body: dict = {}
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, body = get(f"http://127.0.0.1:{port}/api/data")
        except OSError:
            status = 0
        if status == 200:
            return body
        time.sleep(0.5)
    assert process.poll() is None, process.stdout.read()
    raise AssertionError("no /api/data within 240 s")


def ctrl_c(process: subprocess.Popen[str]) -> str:
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    output, _ = process.communicate(timeout=60)
    return output


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_demo_runs_the_whole_system_and_ctrl_c_stops_it():
    demo_dir = Path(tempfile.mkdtemp(prefix="smdemo-"))
    port = free_port()
    process = start_demo(demo_dir, port)
    try:
        body = wait_for_data(process, port)
        assert body.get("device") == "demo"
        assert body["values"]["battery_voltage"] > 40
        history = get(f"http://127.0.0.1:{port}/api/historical?hours=4&metrics=battery_voltage")[1]
        assert any(v is not None for v in history["series"]["battery_voltage"]["avg"])
        status = get(f"http://127.0.0.1:{port}/api/status")[1]
        assert status["sources"]["daemon"]["ok"] is True
        assert status["commands_enabled"] is True  # the demo's admin account (docs/SECURITY.md)
        users = json.loads((demo_dir / "users.json").read_text())["users"]
        assert users["demo"]["role"] == "admin"
    finally:
        output = ctrl_c(process)
    assert "demo stopped" in output
    password = (demo_dir / "demo.password").read_text().strip()
    assert f"sign in as demo (admin), password: {password}" in output
    assert f"http://localhost:{port}/" in output
    leftovers = subprocess.run(["pgrep", "-f", str(demo_dir)], capture_output=True, text=True, check=False)
    assert leftovers.stdout == ""

    # A second start carries on from where the first stopped: the simulator saved its state at
    # exit, the demo fills the history since then from it, and the battery goes on as it was.
    stopped = json.loads((demo_dir / "simulator-state.json").read_text())
    process = start_demo(demo_dir, port)
    try:
        body = wait_for_data(process, port)
        assert body["values"]["battery_capacity"] == pytest.approx(100 * stopped["battery"]["soc"], abs=2)
    finally:
        output = ctrl_c(process)
    assert "filling the history since the last run" in output
    assert "generating" not in output
    # Logs begin afresh with each run: "listening" from the first run cannot pass for the second.
    assert (demo_dir / "web.log").read_text().count("listening on") == 1
    shutil.rmtree(demo_dir, ignore_errors=True)


def test_mqtt_setup_runs_the_broker_setup_with_its_arguments(tmp_path):
    env = os.environ | {"ROOTDIR": str(tmp_path / "root")}
    passdir = tmp_path / "root/etc/solarmon/mqtt"

    def mqtt_setup(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(MANAGE), "mqtt-setup", *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)

    first = mqtt_setup()
    assert first.returncode == 0, first.stderr
    installed_acl = tmp_path / "root/etc/mosquitto/solarmon.acl"
    assert installed_acl.read_text() == (REPO / "mosquitto/solarmon.acl").read_text()
    before = {p.name: p.read_text() for p in passdir.glob("*.pass")}
    assert {"solarmon-web.pass", "solarmon-bms.pass", "house-sensor.pass"} <= set(before)
    # The arguments reach setup.sh: --rotate renews one password and keeps the others.
    rotated = mqtt_setup("--rotate", "solarmon-bms")
    assert rotated.returncode == 0, rotated.stderr
    after = {p.name: p.read_text() for p in passdir.glob("*.pass")}
    assert after["solarmon-bms.pass"] != before["solarmon-bms.pass"]
    assert {k: v for k, v in after.items() if k != "solarmon-bms.pass"} == \
        {k: v for k, v in before.items() if k != "solarmon-bms.pass"}
    bad = mqtt_setup("--no-such-option")
    assert bad.returncode == 2
    assert "unknown argument: --no-such-option" in bad.stderr


def test_usage_names_the_demo_options_and_nothing_but_the_header():
    run = subprocess.run(["bash", str(MANAGE)], capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 2
    for option in ("DEMO_PORT", "DEMO_DIR", "DEMO_DAYS", "DEMO_TIME"):
        assert option in run.stderr
    assert "set -euo" not in run.stderr
