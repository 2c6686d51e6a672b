"""The settings page of a 3-unit parallel system in a real browser (simulator on a pty, the real
daemon and web app): each per-unit setting shows every unit's value and goes to all units (the
default) or one; the reply says per unit what took, a NAK stops the rest; output mode is shown per
unit, read-only; system-wide settings are one row, sent once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from solarmon.simulator.runner import SimulatorProcess
from tests.browser.conftest import PASSWORDS, REPO, get_json, sign_in, wait_for, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
UNITS_NOW = ("() => [...document.querySelectorAll('[data-prefix=MCHGC] [data-unit-now]')]"
             ".map((e) => e.textContent)")


@pytest.fixture
def system_page(small_server, tmp_path: Path) -> Iterator[tuple[str, SimulatorProcess]]:
    """The web app, a 3-unit simulator (max-8k) and the daemon with its control socket; an admin."""
    from solarmon.web.auth.users import UserStore

    url, paths = small_server({"daemon": {"timeout_s": 15}})
    sim = SimulatorProcess(tmp_path / "sim", transport="pty", baud=0, seed=4, profile="max-8k",
                           extra_args=("--units", "3", "--layout", "parallel"))
    sim.start()
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text("\n".join([
        "[SETUP]", "pause = 0.3", f"control_socket = {paths.control_socket}",
        f"audit_log = {tmp_path / 'audit.jsonl'}", f"[sys]\nport = {sim.port}\nporttype = serial",
        f"prom_output_dir = {paths.prom_dir}", "parallel = auto", "allowed_settings = POP, PCP, MCHGC",
    ]) + "\n")
    daemon = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO,
                              stderr=(tmp_path / "daemon.log").open("w"))
    try:
        UserStore(paths.root / "var" / "users.json").add("browser-admin", PASSWORDS["browser-admin"], "admin")
        wait_for(lambda: get_json(f"{url}/api/data?device=sys-unit2")[0] == 200, 30, "the units' values")
        yield url, sim
    finally:
        daemon.terminate()
        daemon.wait(20)
        sim.stop()


def _change(page: Any, prefix: str, label: str, target: str) -> Any:
    """Pick `label` and `target` in the row, confirm, and return the reply box once it is there."""
    row = page.locator(f"[data-prefix={prefix}]")
    row.locator("[data-control]").select_option(label=label)
    row.locator("[data-units-target]").select_option(target)
    row.locator("[data-change]").click()
    page.locator("#settings-confirm").wait_for(state="visible")
    text = page.locator("#settings-confirm-text").text_content()
    page.click("#settings-confirm-yes")
    box = page.locator("#settings-reply [data-result]")
    box.wait_for(timeout=20000)
    return text, box


def test_per_unit_settings_go_to_all_units_or_one(browser, system_page) -> None:
    url, sim = system_page
    page = browser.new_page()
    seen = watch(page)
    try:
        sign_in(page, url, "browser-admin", "/settings")
        page.wait_for_function(
            f"() => ({UNITS_NOW})().length === 3 && ({UNITS_NOW})().every((t) => t.endsWith(' A'))",
            timeout=20000)
        rows = {r.get_attribute("data-prefix"): r for r in page.locator("#settings-list .sm-setting").all()}
        assert set(rows) == {"POP", "PCP", "MCHGC", "POPM"}
        assert rows["POP"].locator("[data-units-target], [data-unit-now]").count() == 0  # system-wide
        assert rows["PCP"].locator("[data-unit-now]").count() == 3
        assert rows["POPM"].locator("form").count() == 0  # output mode: read-only
        assert rows["POPM"].locator("[data-unit-now]").all_text_contents() == ["parallel output"] * 3
        target = rows["MCHGC"].locator("[data-units-target]")
        assert target.input_value() == "all"  # the default, as the vendor's tools do

        text, box = _change(page, "MCHGC", "120 A", "all")
        assert "on all 3 units" in text
        assert "(MNCHGC0120)" in text
        assert box.get_attribute("data-result") == "ok"
        assert box.locator("li").all_text_contents() == [
            f"unit {n}: accepted MNCHGC{n}120, now 120 A" for n in range(3)]
        page.wait_for_function(f"() => ({UNITS_NOW})().join() === '120 A,120 A,120 A'")

        text, box = _change(page, "MCHGC", "60 A", "1")
        assert "on unit 1 from 120 A to 60 A" in text
        assert [li.get_attribute("data-unit-result") for li in box.locator("li").all()] == ["ack"]
        page.wait_for_function(f"() => ({UNITS_NOW})().join() === '120 A,60 A,120 A'")
        assert rows["MCHGC"].get_attribute("data-now") == "differs between units"
        assert seen.problems() == []

        # Unit 1 off the bus: unit 0 takes it, unit 1 refuses, unit 2 is not sent to.
        sim.control({"op": "unit", "unit": 1, "present": False})
        _text, box = _change(page, "MCHGC", "50 A", "all")
        assert box.get_attribute("data-result") == "partial"
        assert [li.get_attribute("data-unit-result") for li in box.locator("li").all()] == [
            "ack", "nak", "not_sent"]
        page.wait_for_function(f"() => ({UNITS_NOW})()[0] === '50 A' && ({UNITS_NOW})()[2] === '120 A'")
    finally:
        page.close()
