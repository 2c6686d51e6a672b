"""The daemon against a simulated PI18 unit (protocol = pi18 and = auto) and protocol = auto on a PI30
system, on a pty and on hidraw, through to the .prom file, the detection record and a checked setting."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.daemon.client import request
from solarmon.simulator.runner import SimulatorProcess
from tests.fixtures.simulator import fuse_usable

from .conftest import REPO, wait_until
from .test_parallel_e2e import _by_device

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator:
    """``start(transport, sim_args, **section)``: simulator + daemon; returns (prom path, tmp_path)."""
    started: list = []

    def start(transport: str, sim_args: tuple[str, ...], **section: str):
        if transport == "hidraw" and (reason := fuse_usable()) is not None:
            pytest.skip(f"FUSE unavailable: {reason}")
        sim = SimulatorProcess(tmp_path / f"sim-{transport}", transport=transport, baud=0, seed=5,
                               extra_args=sim_args)
        started.append(sim)
        sim.start()
        lines = ["[SETUP]", "pause = 0.3", "control_socket = ctl.sock", "audit_log = audit.jsonl",
                 f"[u]\nport = {sim.port}\nporttype = {'serial' if transport == 'pty' else 'hidraw'}",
                 "prom_output_dir = prom", "dev = sim", "command = QPIGS"]
        lines += [f"{key} = {value}" for key, value in section.items()]
        (tmp_path / "mpp-solar.conf").write_text("\n".join(lines) + "\n")
        conf = tmp_path / "mpp-solar.conf"
        proc = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO,
                                stderr=(tmp_path / "daemon.log").open("w"))
        started.append(proc)
        return tmp_path / "prom" / "mpp-solar-u.prom"

    yield start
    for item in reversed(started):
        if isinstance(item, subprocess.Popen):
            item.terminate()
            item.wait(10)
        else:
            item.stop()


def _file_with(prom: Path, text: str) -> str:
    wait_until(lambda: prom.exists() and text in prom.read_text(), what=text)
    return prom.read_text()


@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_a_pi18_unit_through_to_the_file_and_a_checked_setting(daemon, tmp_path: Path,
                                                               transport: str) -> None:
    prom = daemon(transport, ("--protocol", "pi18"), protocol="pi18", allowed_settings="POP, PSDV")
    text = _file_with(prom, 'cmd="FLAG"')
    values = _by_device(text)["u"]
    assert values["mpp_solar_battery_voltage"] > 40
    assert values["mpp_solar_up"] == 1.0
    assert 'cmd="GS",name="grid_voltage",key="ac_input_voltage",kind="measurement",unit="V"' in text
    assert 'cmd="MOD"' in text
    assert 'cmd="FWS"' in text
    assert 'cmd="QPIGS"' not in text

    refused = request(tmp_path / "ctl.sock", {"command": "PSDV300", "confirm": True, "device": "u"})
    assert refused["ok"] is False
    assert refused["error"] == "invalid"  # the PI18 range check, before anything is sent
    unconfirmed = request(tmp_path / "ctl.sock", {"command": "POP1", "device": "u"})
    assert unconfirmed["reason"] == "confirm_required"
    done = request(tmp_path / "ctl.sock", {"command": "POP1", "confirm": True, "device": "u"})
    assert done["ok"], done
    wait_until(lambda: 'myStr="Solar-Battery-Utility"' in prom.read_text(), what="the new priority")


@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_auto_detects_pi18_and_writes_it_down(daemon, tmp_path: Path, transport: str) -> None:
    prom = daemon(transport, ("--protocol", "pi18"), protocol="auto")
    _file_with(prom, 'cmd="GS"')
    found = json.loads((tmp_path / "prom" / "mpp-solar-u.detected.json").read_text())
    assert found["protocol"] == "pi18"
    assert found["protocol_id"] == "PI18"


@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_auto_detects_a_pi30_parallel_system(daemon, tmp_path: Path, transport: str) -> None:
    prom = daemon(transport, ("--units", "3", "--layout", "parallel"), protocol="auto", parallel="auto")
    _file_with(prom, 'inverter="u-unit2"')
    found = json.loads((tmp_path / "prom" / "mpp-solar-u.detected.json").read_text())
    assert found["protocol"] == "pi30"
    assert found["parallel"] is True


@pytest.mark.parametrize(("sim_args", "protocol"), [(("--protocol", "pi18"), "pi18"), ((), "pi30")])
def test_manage_daemon_detect_asks_and_writes_down(tmp_path: Path, sim_args: tuple[str, ...],
                                                     protocol: str) -> None:
    with SimulatorProcess(tmp_path / "sim", baud=0, seed=5, truth_log=tmp_path / "truth.jsonl",
                          extra_args=sim_args).start() as sim:
        conf = tmp_path / "mpp-solar.conf"
        conf.write_text(f"[u]\nport = {sim.port}\nporttype = serial\nprom_output_dir = prom\n")
        env = {"MPP_SOLAR_CONF": str(conf), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(["bash", str(REPO / "manage_daemon.sh"), "detect"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        events = sim.truth()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["protocol"] == protocol
    assert json.loads((tmp_path / "prom" / "mpp-solar-u.detected.json").read_text())["protocol"] == protocol
    sent = [event.get("request") for event in events if event.get("event") == "exchange"]
    assert sent  # it asked
    # Queries only: PI30 ones, and PI18's PI (a PI30 frame to a PI18 unit reads as no command: None).
    assert all(command is None or command.startswith("Q") or command == "PI" for command in sent), sent
