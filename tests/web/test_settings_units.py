"""/api/settings and /api/command for a 3-unit parallel system (the simulator on a pty, the real
daemon): per-unit settings are marked and the units named, output mode is read-only, a value goes
to all units or one with ``units``, and each unit's /api/data shows what it confirmed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from solarmon.daemon.config import load_config
from solarmon.daemon.notify import Notifier
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link
from solarmon.simulator.runner import SimulatorProcess
from tests.daemon.conftest import wait_until
from tests.fixtures.webapp import TOKEN

pytestmark = pytest.mark.timeout(90)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def system(web_paths, tmp_path: Path) -> Iterator[SimulatorProcess]:
    """A 3-unit parallel simulator (max-8k: currents up to 150 A) polled by the daemon as ``sys``."""
    sim = SimulatorProcess(tmp_path / "sim", transport="pty", baud=0, seed=6, profile="max-8k",
                           extra_args=("--units", "3", "--layout", "parallel"))
    sim.start()
    conf = tmp_path / "c.conf"
    conf.write_text(f"[SETUP]\npause = 0.2\ncontrol_socket = {web_paths.control_socket}\n"
                    f"audit_log = {tmp_path / 'audit.jsonl'}\n"
                    f"[sys]\nport = {sim.port}\nporttype = serial\nprom_output_dir = {web_paths.prom_dir}\n"
                    "parallel = auto\nallowed_settings = POP, PCP, MCHGC\ntimeout = 0.5\n")
    daemon = Daemon(load_config(conf), open_link, notifier=Notifier({}))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    wait_until(lambda: "sys-unit2" in (web_paths.prom_dir / "mpp-solar-sys.prom").read_text()
               if (web_paths.prom_dir / "mpp-solar-sys.prom").exists() else False, what="the units' file")
    try:
        yield sim
    finally:
        daemon.stop_event.set()
        thread.join(30)
        sim.stop()


def _currents(client, scan) -> list[Any]:
    """Each unit's max charging current as /api/data shows it (the units' QPGSn)."""
    scan()
    return [client.get(f"/api/data?device=sys-unit{n}", headers=AUTH).get_json()["values"]
            .get("max_charging_current") for n in range(3)]


def test_settings_of_a_system_name_its_units_and_mark_the_per_unit_ones(system, client) -> None:
    body = client.get("/api/settings?device=sys", headers=AUTH).get_json()
    assert body["units"] == [{"unit": n, "device": f"sys-unit{n}"} for n in range(3)]
    rows = {r["prefix"]: r for r in body["settings"]}
    assert set(rows) == {"POP", "PCP", "MCHGC", "POPM"}
    assert rows["MCHGC"]["per_unit"] is True
    assert rows["PCP"]["per_unit"] is True
    assert "per_unit" not in rows["POP"]  # system-wide: sent once, shown once
    assert rows["POPM"]["read_only"] is True  # output mode: shown per unit, never sent
    assert rows["POPM"]["choices"] == []
    commands = {c["label"]: c["command"] for c in rows["MCHGC"]["choices"]}
    assert commands["120 A"] == "MNCHGC0120"  # 100 A and more: MNCHGC

    for units in ("some", 9, True, 7):  # 7: a well-formed number the system does not have
        response = client.post("/api/command", headers=AUTH,
                               json={"command": "MCHGC060", "device": "sys", "units": units})
        assert response.status_code == 400, (units, response.get_json())


def test_a_value_goes_to_all_units_or_one_and_each_unit_shows_it(system, client, scan) -> None:
    response = client.post("/api/command", headers=AUTH,
                           json={"command": "MNCHGC0120", "device": "sys", "units": "all"})
    assert response.status_code == 200, response.get_json()
    reply = response.get_json()
    assert [(u["device"], u["command"], u["result"]) for u in reply["per_unit"]] == [
        (f"sys-unit{n}", f"MNCHGC{n}120", "ack") for n in range(3)]
    assert _currents(client, scan) == [120] * 3

    response = client.post("/api/command", headers=AUTH,
                           json={"command": "MCHGC050", "device": "sys", "units": 1})
    assert response.status_code == 200, response.get_json()
    assert _currents(client, scan) == [120, 50, 120]

    # Unit 2 off the bus: units 0 and 1 take it, unit 2 refuses; 422 with the per-unit story.
    system.control({"op": "unit", "unit": 2, "present": False})
    response = client.post("/api/command", headers=AUTH,
                           json={"command": "MCHGC060", "device": "sys", "units": "all"})
    assert response.status_code == 422
    assert [u["result"] for u in response.get_json()["per_unit"]] == ["ack", "ack", "nak"]
