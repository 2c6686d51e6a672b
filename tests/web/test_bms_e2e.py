"""End to end: a simulated JK BMS on a pty, the real daemon, the real web app (reader, history,
alerts): /api/battery shows the pack, the history keeps the cell spread, a protection the BMS
trips becomes the built-in alert, and a frame the wire damaged is counted and never shown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.simulator.runner import BmsSimulatorProcess
from tests.daemon.conftest import REPO, wait_until

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def bms_daemon(web_paths, tmp_path: Path) -> Iterator[BmsSimulatorProcess]:
    sim = BmsSimulatorProcess(tmp_path / "bms", bms_type="jkbms", cells=8, seed=2).start()
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text(f"[SETUP]\npause = 0.5\ncontrol_socket =\naudit_log = {tmp_path / 'audit.jsonl'}\n"
                    f"[pack1]\ntype = jkbms\nport = {sim.port}\nprom_output_dir = {web_paths.prom_dir}\n")
    daemon = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO,
                              stderr=(tmp_path / "daemon.log").open("w"))
    try:
        yield sim
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
        sim.stop()


def test_simulator_daemon_web(bms_daemon: BmsSimulatorProcess, client, web_runtime, web_paths) -> None:
    def pack() -> dict:
        return client.get("/api/battery").json["bms"].get("inverter:pack1") or {}

    wait_until(lambda: len(pack().get("cells", [])) == 8, timeout_s=60, what="the BMS in /api/battery")
    state = bms_daemon.control({"op": "snapshot"})["state"]
    assert 8 * 2.5 < pack()["pack"]["pack_voltage"]["value"] < 8 * 3.7
    assert pack()["alarms"] == []
    assert abs(client.get("/api/battery").json["soc"]["value"] - state["soc"]) < 2

    bms_daemon.control({"op": "trip", "protection": "cell_overvoltage"})
    wait_until(lambda: pack()["alarms"], timeout_s=30, what="the protection in /api/battery")
    assert pack()["alarms"] == [{"key": "cell_overvoltage", "label": "Cell overvoltage", "kind": "fault"}]

    def alert() -> list:
        active = client.get("/api/alerts").json["active"]
        return [a for a in active if a.get("rule") == "bms_protection"]
    firing = wait_until(alert, timeout_s=30, what="the bms_protection alert")
    assert "Cell overvoltage" in str(firing)

    def spread() -> list:
        body = client.get("/api/historical?device=pack1&hours=1&metrics=cell_voltage_delta").json
        series = body.get("series", {}).get("cell_voltage_delta")
        values = series if isinstance(series, list) else (series or {}).get("avg", [])
        return [v for v in values if v is not None]
    assert wait_until(spread, timeout_s=60, what="the cell spread in the history")

    # A damaged frame: counted by the daemon, never shown (the page keeps the last good picture
    # only until the next file, which withdraws the answer's values).
    bms_daemon.control({"op": "corrupt", "kind": "crc", "count": 1})
    prom = web_paths.prom_dir / "mpp-solar-pack1.prom"
    counted = 'mpp_solar_errors_total{inverter="pack1",device="None",kind="crc"} 1'
    wait_until(lambda: counted in prom.read_text(), timeout_s=30, what="the counted crc frame")
    wait_until(lambda: len(pack().get("cells", [])) == 8, timeout_s=30, what="good values again")
