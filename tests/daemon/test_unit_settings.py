"""A per-unit setting on a simulated 3-unit parallel system through a pty: the daemon sends one
addressed command per unit in order, stops at the first NAK, says per unit what took, audits each
command and reads the units back (QPGSn) so the reply and the .prom file show what they confirm."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.daemon.client import request
from solarmon.daemon.config import load_config
from solarmon.daemon.notify import Notifier
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link

from .conftest import REPO, Simulator, _wait_ready, prom_values, sim_control, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[tuple[Simulator, Path, Path, Path]]:
    """One simulator (3 parallel units, max-8k: currents up to 150 A) and one daemon for the module."""
    yield from _start(tmp_path_factory.mktemp("units"))


def _start(tmp_path: Path) -> Iterator[tuple[Simulator, Path, Path, Path]]:
    port, truth, control = tmp_path / "inv", tmp_path / "truth.jsonl", tmp_path / "sim.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "solarmon.simulator", "--port", str(port), "--transport", "pty", "--baud", "0",
         "--seed", "5", "--profile", "max-8k", "--truth-log", str(truth), "--control", str(control),
         "--units", "3", "--layout", "parallel"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=(tmp_path / "sim.log").open("w"), text=True)
    sim = Simulator(proc, port, truth, control)
    _wait_ready(proc, 30)
    conf = tmp_path / "c.conf"
    conf.write_text(f"[SETUP]\npause = 0.3\ncontrol_socket = ctl.sock\naudit_log = audit.jsonl\n"
                    f"[sys]\nport = {port}\nporttype = serial\nprom_output_dir = prom\nparallel = auto\n"
                    "allowed_settings = MCHGC, PCP\ntimeout = 0.5\n")
    daemon = Daemon(load_config(conf), open_link, notifier=Notifier({}))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    ctl = tmp_path / "ctl.sock"
    wait_until(lambda: ctl.exists() and request(ctl, {"request": "status"})["devices"]["sys"].get("units"),
               what="the units found")
    try:
        yield sim, ctl, tmp_path / "audit.jsonl", tmp_path / "prom" / "mpp-solar-sys.prom"
    finally:
        daemon.stop_event.set()
        thread.join(30)
        sim.stop()


def _audit(path: Path) -> list[tuple[str, str, str]]:
    return [(e["device"], e["command"], e["result"]) for e in map(json.loads, path.read_text().splitlines())]


def test_status_names_the_units(running) -> None:
    _sim, ctl, _audit_path, _prom = running
    units = request(ctl, {"request": "status"})["devices"]["sys"]["units"]
    assert units == [{"unit": n, "device": f"sys-unit{n}"} for n in range(3)]


def test_all_units_get_the_setting_and_confirm_it(running) -> None:
    _sim, ctl, audit, prom = running
    before = len(_audit(audit)) if audit.exists() else 0
    reply = request(ctl, {"command": "MNCHGC0120", "units": "all"})
    assert reply["ok"], reply
    assert [(u["command"], u["result"], u["verified"]) for u in reply["per_unit"]] == [
        (f"MNCHGC{n}120", "ack", {"max_charging_current": 120}) for n in range(3)]
    assert _audit(audit)[before:] == [(f"sys-unit{n}", f"MNCHGC{n}120", "ok") for n in range(3)]
    values = prom_values(prom.read_text())
    assert [values[f"QPGS{n}"]["mpp_solar_max_charger_current"] for n in range(3)] == [120.0] * 3

    one = request(ctl, {"command": "PCP03", "units": 2, "confirm": True})  # one unit, dangerous
    assert one["ok"], one
    assert [(u["command"], u["verified"]) for u in one["per_unit"]] == [
        ("PPCP203", {"charger_source_priority": "Only solar charging permitted"})]


def test_a_nak_stops_the_rest_and_each_unit_says_what_took(running) -> None:
    sim, ctl, audit, _prom = running
    assert request(ctl, {"command": "MCHGC060", "units": "all"})["ok"]
    before = len(_audit(audit))
    # Unit 1 leaves the bus between the daemon's last poll and the setting: its setter is NAKed.
    sim_control(sim, {"op": "unit", "unit": 1, "present": False})
    try:
        reply = request(ctl, {"command": "MCHGC040", "units": "all"})
    finally:
        sim_control(sim, {"op": "unit", "unit": 1, "present": True})
    assert (reply["ok"], reply["error"]) == (False, "nak"), reply
    assert [(u["unit"], u["result"]) for u in reply["per_unit"]] == [(0, "ack"), (1, "nak"), (2, "not_sent")]
    assert reply["per_unit"][0]["verified"] == {"max_charging_current": 40}
    assert reply["per_unit"][2]["verified"] == {"max_charging_current": 60}  # unchanged, read back
    assert "not sent to units 2" in reply["message"]
    assert _audit(audit)[before:] == [("sys-unit0", "MCHGC040", "ok"), ("sys-unit1", "MCHGC140", "nak")]


def test_the_safety_rules_hold_for_the_expansion(running) -> None:
    _sim, ctl, audit, _prom = running
    cases = [
        ({"command": "PCP01", "units": "all"}, "refused", "confirm_required"),
        ({"command": "MUCHGC030", "units": "all"}, "refused", "not_allowed"),
        ({"command": "MCHGC045", "units": "all"}, "invalid", None),  # not in QMCHGCR
        ({"command": "MCHGC060", "units": 5}, "invalid", None),  # no unit 5
        ({"command": "POP01", "units": "all", "confirm": True}, "invalid", None),  # not per unit
    ]
    before = len(_audit(audit))
    for req, error, reason in cases:
        reply = request(ctl, req)
        assert (reply["ok"], reply["error"], reply.get("reason")) == (False, error, reason), reply
    assert [r for _d, _c, r in _audit(audit)[before:]] == [e for _r, e, _why in cases]
    # A command addressed to a unit the section does not have is refused too.
    reply = request(ctl, {"command": "MCHGC760"})
    assert (reply["ok"], reply["error"]) == (False, "invalid"), reply
    # Without "units" a setting is sent once, as it is: plain PCP has no unit (the unit on the cable).
    reply = request(ctl, {"command": "PCP02", "confirm": True})
    assert reply["ok"], reply
    assert reply["verified"] == {"charger_source_priority": "Solar + Utility"}
