"""Phones (issue 15): at 390 x 844 no element of any page is wider than the screen or starts off it,
and the tables of Alerts, Admin and Audit become stacked cards (each value under its column's
name) instead of a 1090 px table squeezed into 335 px. Signed in as an admin, so every page shows."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, settle, sign_in, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
PHONE = {"width": 390, "height": 844}
PAGES = ["/", "/charts", "/battery", "/house", "/settings", "/alerts", "/admin", "/audit",
         "/lcars", "/charts/lcars", "/settings/lcars", "/alerts/lcars", "/admin/lcars", "/audit/lcars"]
STACKED = {"/alerts": "#alerts-rules", "/admin": "#users-table tbody", "/audit": "#audit-table tbody"}
# Every visible element whose box leaves the viewport sideways (visually hidden ones excepted).
TOO_WIDE = """(width) => [...document.querySelectorAll('body *')].filter((e) => {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height) return false;
    const s = getComputedStyle(e);
    if (s.visibility === 'hidden' || e.closest('.visually-hidden, thead')) return false;
    return r.right > width + 1 || r.left < -1;
}).map((e) => {
    const r = e.getBoundingClientRect();
    const name = `${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join('.')}`;
    return `${name} ${Math.round(r.left)}..${Math.round(r.right)}`;
})"""


@pytest.fixture(scope="module")
def admin_page(browser, solar_stack, accounts):
    """One phone-sized tab signed in as the admin, for every page of this module."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, solar_stack.url, "browser-admin", "/")
    yield page
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_wider_than_a_phone(admin_page, solar_stack, path: str) -> None:
    page = admin_page
    seen = watch(page)
    page.goto(solar_stack.url + path)
    if path.split("/")[1] in ("", "lcars", "charts", "battery", "house"):
        settle(page)
    page.wait_for_timeout(500)  # tables filled by their scripts
    assert page.evaluate(TOO_WIDE, PHONE["width"]) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    base = path.removesuffix("/lcars") or "/"
    if base in STACKED:
        body = page.locator(STACKED[base])
        row = body.locator("tr").first
        row.wait_for()
        assert row.evaluate("(r) => getComputedStyle(r).display") == "block"  # a card, not a table row
        labelled = body.locator("td[data-label]")
        assert labelled.count() > 0
        screenshot(page, f"{path.strip('/').replace('/', '-')}-phone-cards", docs="lcars" not in path)
    # Leaving the previous page aborts its requests: that is the browser, not a failure.
    assert [p for p in seen.problems() if "ERR_ABORTED" not in p] == []
