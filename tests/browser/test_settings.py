"""The settings page (issue 15) in a real browser against the simulator-fed stack: only what the
section allows, each control preset to the inverter's value now, "from X to Y" before sending, and
after the ACK the row shows the new value at once (well within one poll of /api/data)."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import VIEWPORTS, screenshot, sign_in, wait_for, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
POLL_S = 5.0  # settings.js asks /api/data this often


def expected_presets(sim) -> dict[str, str]:
    """The command each row's control must hold: the inverter's own values (simulator's QPIRI)."""
    values = sim.control({"op": "query", "command": "QPIRI"})["values"]
    return {
        "POP": f"POP{int(values['output_source_priority']):02d}",
        "PCP": f"PCP{int(values['charger_source_priority']):02d}",
        "MCHGC": f"MCHGC{int(values['max_charging_current']):03d}",
        "PBCV": f"PBCV{float(values['battery_recharge_voltage']):04.1f}",
    }


def rows_of(page) -> dict[str, object]:
    page.locator("#settings-list .sm-setting").first.wait_for(timeout=15000)
    wait_for(lambda: all(page.locator("#settings-list [data-now]").all_text_contents()), 10, "the values now")
    return {row.get_attribute("data-prefix"): row for row in page.locator("#settings-list .sm-setting").all()}


@pytest.mark.parametrize("theme", ["", "/lcars"])
def test_the_rows_are_the_allowed_settings_preset_to_the_inverters_values(browser, solar_stack, accounts,
                                                                          theme: str) -> None:
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    seen = watch(page)
    try:
        sign_in(page, solar_stack.url, "browser-admin", f"/settings{theme}")
        rows = rows_of(page)
        # The stack's section allows POP, PCP, MCHGC and PBCV: nothing else, no factory reset.
        assert set(rows) == {"POP", "PCP", "MCHGC", "PBCV"}
        for prefix, command in expected_presets(solar_stack.sim).items():
            control = rows[prefix].locator("[data-control]")
            assert control.input_value() == command, prefix
            # Nothing to send while the control holds the value now.
            assert rows[prefix].locator("[data-change]").is_disabled(), prefix
        # The charging currents are the unit's own list (QMCHGCR), read without anyone asking.
        amps = rows["MCHGC"].locator("option").all_text_contents()
        assert len(amps) > 1
        assert all(text.endswith(" A") for text in amps)
        screenshot(page, f"settings{theme.replace('/', '-')}-desktop", docs=True)
        assert seen.problems() == []
    finally:
        context.close()


def test_a_change_says_from_and_to_and_the_row_shows_the_acked_value(browser, solar_stack, accounts) -> None:
    page = browser.new_page()
    seen = watch(page)
    before = expected_presets(solar_stack.sim)["PCP"]
    try:
        sign_in(page, solar_stack.url, "browser-admin", "/settings")
        row = rows_of(page)["PCP"]
        old_text = row.get_attribute("data-now")
        options = row.locator("option")
        target = next(options.nth(i) for i in range(options.count())
                      if options.nth(i).get_attribute("value") != before)
        new_command, new_text = target.get_attribute("value"), target.text_content()
        row.locator("[data-control]").select_option(new_command)
        row.locator("[data-change]").click()
        confirm = page.locator("#settings-confirm")
        confirm.wait_for(state="visible")
        assert f"from {old_text} to {new_text}" in confirm.text_content()
        assert new_command in confirm.text_content()
        page.click("#settings-confirm-yes")
        reply = page.locator("#settings-reply [data-result]")
        reply.wait_for(timeout=20000)
        acked = time.monotonic()
        assert reply.get_attribute("data-result") == "ok", reply.text_content()
        assert new_text in reply.text_content()
        # The row shows the re-read value within one poll (at once, from the daemon's verified values).
        wait_for(lambda: row.get_attribute("data-now") == new_text, POLL_S, "the row to show the new value")
        assert time.monotonic() - acked < POLL_S
        assert row.locator("[data-control]").input_value() == new_command
        assert expected_presets(solar_stack.sim)["PCP"] == new_command  # the inverter has it
        # A later poll of /api/data agrees and does not bring the old value back.
        page.wait_for_timeout(POLL_S * 1000 + 500)
        assert row.get_attribute("data-now") == new_text
        screenshot(page, "settings-ack", docs=True)
        assert seen.problems() == []
    finally:
        page.close()
        _send_as_admin(solar_stack, before)


def _send_as_admin(stack, command: str) -> None:
    """Put a setting back with the admin API token (the stack is shared by the other tests)."""
    import json
    import urllib.request

    from tests.fixtures.webapp import TOKEN

    body = json.dumps({"command": command, "confirm": True}).encode()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{stack.url}/api/command", body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=30) as response:
        assert json.loads(response.read())["ok"]


def test_an_operator_sees_dangerous_settings_locked(browser, solar_stack, accounts) -> None:
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    seen = watch(page)
    try:
        sign_in(page, solar_stack.url, "browser-operator", "/settings")
        rows = rows_of(page)
        assert "needs an admin" in rows["POP"].text_content()
        assert rows["POP"].locator("[data-control]").is_disabled()
        assert not rows["MCHGC"].locator("[data-control]").is_disabled()  # not dangerous: an operator may
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS["phone"]["width"]
        screenshot(page, "settings-phone", docs=True)
        assert seen.problems() == []
    finally:
        context.close()
