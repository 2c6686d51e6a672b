"""Settings through the control socket against the simulator: allowed, confirmed, valid, verified,
and a distinct error for each way a setting can fail, every attempt in the audit log."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from solarmon.daemon.client import request
from solarmon.daemon.config import load_config
from solarmon.daemon.notify import Notifier
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link
from solarmon.inverter import catalog

from .conftest import sim_control, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def running(simulator, tmp_path: Path):
    sim = simulator(transport="pty", seed=9)
    conf = tmp_path / "c.conf"
    conf.write_text(f"[SETUP]\npause = 0.5\ncontrol_socket = ctl.sock\naudit_log = audit.jsonl\n"
                    f"[inv]\nport = {sim.port}\nporttype = serial\nprom_output_dir = prom\n"
                    "allowed_settings = POP, PGR, MCHGC\ntimeout = 0.5\n")
    daemon = Daemon(load_config(conf), open_link, notifier=Notifier({}))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    wait_until(lambda: (tmp_path / "ctl.sock").exists(), what="the control socket")
    try:
        yield sim, daemon, tmp_path / "ctl.sock", tmp_path / "audit.jsonl"
    finally:
        daemon.stop_event.set()
        thread.join(30)


def test_each_failure_has_its_own_error_and_every_attempt_is_audited(running) -> None:
    sim, _daemon, ctl, audit = running
    cases = [
        ({"command": "PCP01", "confirm": True}, "refused", "not_allowed"),
        ({"command": "POP02"}, "refused", "confirm_required"),
        ({"command": "POP09", "confirm": True}, "invalid", None),
        ({"command": "MCHGC033"}, "invalid", None),
    ]
    for req, error, reason in cases:
        reply = request(ctl, req)
        assert (reply["ok"], reply["error"], reply.get("reason")) == (False, error, reason), reply
        assert reply["message"]

    reply = request(ctl, {"command": "PGR01"})  # a plain setting: no confirm needed
    assert reply["ok"], reply
    assert reply["class"] == "setting"
    assert reply["verified"] == {"input_voltage_range": "UPS"}
    values = sim_control(sim, {"op": "query", "command": "QPIRI"})["values"]
    assert values["input_voltage_range"] in (1, "1", "UPS")

    assert sim_control(sim, {"op": "faults", "spec": "nak:1"})["ok"]
    reply = request(ctl, {"command": "POP01", "confirm": True})
    assert (reply["ok"], reply["error"]) == (False, "nak"), reply

    assert sim_control(sim, {"op": "faults", "spec": "noreply:1"})["ok"]
    reply = request(ctl, {"command": "POP01", "confirm": True})
    assert (reply["ok"], reply["error"]) == (False, "timeout"), reply

    assert sim_control(sim, {"op": "faults", "spec": ""})["ok"]
    reply = request(ctl, {"command": "POP01", "confirm": True})
    assert reply["ok"], reply
    assert reply["verified"] == {"output_source_priority": "Solar first"}

    unknown = request(ctl, {"command": "QXYZ"})
    assert (unknown["error"], unknown["reason"]) == ("refused", "unknown_command")

    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["command"], e["result"]) for e in entries] == [
        ("PCP01", "refused"), ("POP02", "refused"), ("POP09", "invalid"), ("MCHGC033", "invalid"),
        ("PGR01", "ok"), ("POP01", "nak"), ("POP01", "timeout"), ("POP01", "ok")]
    assert entries[-1]["verified"] == {"output_source_priority": "Solar first"}
    assert all(e["time"].endswith("Z") for e in entries)


def test_queries_are_always_allowed_even_with_no_settings(running) -> None:
    _sim, daemon, ctl, _audit = running
    for command in ("QPIRI", "QFLAG", "QID", "QVFW"):
        reply = request(ctl, {"command": command, "device": "inv"})
        assert reply["ok"], reply
        assert reply["class"] == "query"
    reply = request(ctl, {"command": "QPIGS", "device": "nope"})
    assert (reply["ok"], reply["error"]) == (False, "invalid")
    status = request(ctl, {"request": "status"})
    assert status["devices"]["inv"]["up"] is True
    # The settings page lists only what the section allows: the status says which families.
    assert status["devices"]["inv"]["allowed_settings"] == ["POP", "PGR", "MCHGC"]
    assert daemon.healthy_threads()


def test_console_replies_use_catalog_keys_units_and_kinds(running) -> None:
    _sim, _daemon, ctl, _audit = running
    for command in ("QPIGS", "QPIRI", "QDI", "QPIWS", "QFLAG"):
        reply = request(ctl, {"command": command, "device": "inv"})
        assert reply["ok"], reply
        assert reply["reply"], command
        for key in reply["reply"]:
            entry = catalog.CATALOG.get(key)
            assert entry is not None, f"{command}: {key} is not a catalog key"
            assert reply["kinds"][key] == entry.kind.value
            assert reply["units"].get(key, "") == entry.unit
    qpiri = request(ctl, {"command": "QPIRI", "device": "inv"})
    assert qpiri["kinds"]["rated_battery_voltage"] == "rating"
    assert qpiri["units"]["rated_battery_voltage"] == "V"
    setting = request(ctl, {"command": "PGR01", "device": "inv"})
    assert setting["ok"], setting
    assert setting["verified"] == {"input_voltage_range": "UPS"}
    assert setting["kinds"] == {"input_voltage_range": "setting"}
