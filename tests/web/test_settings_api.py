"""/api/settings (issue 15): the settings page offers exactly what the daemon's section allows.

The real daemon polls the simulator; the web app asks it for its `allowed_settings` (status
request) and for the unit's charging currents (QMCHGCR), and reads the battery class from the live
QPIRI values. Nothing outside `allowed_settings` is offered, a factory reset least of all.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from solarmon.daemon.config import load_config
from solarmon.daemon.notify import Notifier
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link
from solarmon.web.settings import allowed_rows
from tests.daemon.conftest import simulator, wait_until  # noqa: F401 - the simulator fixture
from tests.fixtures.webapp import TOKEN

pytestmark = pytest.mark.timeout(120)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def daemon_for(simulator, web_paths, tmp_path: Path):  # noqa: F811 - the imported fixture
    """Start the real daemon on a simulator with `allowed_settings` given by the test."""
    threads: list[tuple[Daemon, threading.Thread]] = []

    def start(allowed: str) -> Any:
        sim = simulator(transport="pty", seed=3)
        conf = tmp_path / "c.conf"
        conf.write_text(f"[SETUP]\npause = 0.2\ncontrol_socket = {web_paths.control_socket}\n"
                        f"audit_log = {tmp_path / 'audit.jsonl'}\n"
                        f"[inv]\nport = {sim.port}\nporttype = serial\n"
                        f"prom_output_dir = {web_paths.prom_dir}\n"
                        f"allowed_settings = {allowed}\ntimeout = 0.5\n")
        daemon = Daemon(load_config(conf), open_link, notifier=Notifier({}))
        thread = threading.Thread(target=daemon.run)
        thread.start()
        threads.append((daemon, thread))
        wait_until(lambda: (web_paths.prom_dir / "mpp-solar-inv.prom").exists(), what="the first .prom file")
        return sim

    yield start
    for daemon, thread in threads:
        daemon.stop_event.set()
        thread.join(30)


def test_only_the_allowed_settings_with_the_units_own_current_list(daemon_for, app, client) -> None:
    from solarmon.web.runtime import get_context

    daemon_for("POP, MCHGC, PEa")
    get_context(app).parts.reader.scan(force=True)
    response = client.get("/api/settings", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["device"] == "inv"
    assert body["allowed_settings"] == ["POP", "MCHGC", "PEa"]
    rows = {(r["prefix"], r.get("flag")): r for r in body["settings"]}
    assert set(rows) == {("POP", None), ("MCHGC", None), ("P", "a")}  # nothing else: no PF, no PBT
    # MCHGC's choices are the simulator's own QMCHGCR list, read by asking the daemon.
    amps = [int(c["value"]) for c in rows[("MCHGC", None)]["choices"]]
    assert amps
    assert rows[("MCHGC", None)]["available"] is True
    assert [c["data_value"] for c in rows[("MCHGC", None)]["choices"]] == amps
    # PEa only: the flag row can enable, not disable.
    assert [c["command"] for c in rows[("P", "a")]["choices"]] == ["PEa"]
    assert rows[("POP", None)]["current_key"] == "output_source_priority"
    # Each choice says what /api/data shows while it is set: the current value maps onto one.
    now = client.get("/api/data", headers=AUTH).get_json()["values"]["output_source_priority"]
    assert now in [c["data_value"] for c in rows[("POP", None)]["choices"]]


def test_settings_need_an_operator(client) -> None:
    assert client.get("/api/settings").status_code == 401
    page = client.get("/settings/lcars")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login/lcars?next=")  # LCARS signs in on LCARS


@pytest.mark.parametrize(("families", "prefixes"), [
    ((), set()),
    (("POP", "PCP"), {"POP", "PCP"}),
    (("PBCV", "F"), {"PBCV", "F"}),
    (("PF",), {"PF"}),  # a factory reset only when an admin wrote PF into allowed_settings
])
def test_allowed_rows_follow_the_families(families: tuple[str, ...], prefixes: set[str]) -> None:
    rows = allowed_rows(families, {"rated_battery_voltage": 48.0}, None)
    assert {r["prefix"] for r in rows} == prefixes
    assert all(r["prefix"] != "PF" for r in allowed_rows(("POP", "PE", "PD", "F"), None, None))
