"""Security in a real browser: the login page in both themes, an operator's session driving the
command console (CSRF token from the page), an admin's pages, sign-out."""

from __future__ import annotations

import pytest

from solarmon.web.auth.users import UserStore
from tests.browser.conftest import VIEWPORTS, screenshot, settle, wait_for, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PASSWORDS = {"browser-operator": "operator-pass-123", "browser-admin": "admin-pass-456"}


@pytest.fixture(scope="module")
def accounts(solar_stack):
    """An operator and an admin account in the running stack (the app re-reads the users file)."""
    users = UserStore(solar_stack.paths.root / "var" / "users.json")
    for name, password in PASSWORDS.items():
        if users.get(name) is None:
            users.add(name, password, name.split("-")[1])
    return PASSWORDS


def sign_in(page, url: str, name: str, target: str = "/") -> None:
    """Fill and send the login form; wait for the page it leads to."""
    page.goto(f"{url}/login?next={target}")
    page.fill("#login-username", name)
    page.fill("#login-password", PASSWORDS[name])
    page.click("#login-submit")
    page.wait_for_url(url + target)


@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("path", ["/login", "/login/lcars"])
def test_the_login_page_loads_clean_in_both_themes(browser, solar_stack, path, size):
    context = browser.new_context(viewport=VIEWPORTS[size])
    page = context.new_page()
    seen = watch(page)
    try:
        page.goto(solar_stack.url + path)
        page.locator("#login-form").wait_for()
        screenshot(page, f"login{'-lcars' if 'lcars' in path else ''}-{size}")
        assert seen.problems() == []
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[size]["width"]
        assert page.locator("#live-status").is_hidden()
    finally:
        context.close()


def test_an_operator_session_drives_the_console(browser, solar_stack, accounts):
    page = browser.new_page()
    seen = watch(page)
    try:
        sign_in(page, solar_stack.url, "browser-operator")
        settle(page)
        state = page.locator("#console-state")
        wait_for(lambda: "Signed in as browser-operator" in (state.text_content() or ""), 10,
                 "the console to greet the operator")
        assert page.locator("#console-auth").is_hidden()  # no token needed
        page.fill("#query-input", "QPIRI")
        page.click("#query-form button[type=submit]")
        box = page.locator("#console-reply [data-result]")
        box.wait_for(state="visible", timeout=15000)
        assert box.get_attribute("data-result") == "ok", box.text_content()

        # Output source priority is dangerous: an operator is refused, and told why.
        page.select_option("#setting-select", label="Output source priority")
        page.evaluate("document.getElementById('console-reply').replaceChildren()")
        page.click("#setting-send")
        page.click("#confirm-yes")
        box.wait_for(state="visible", timeout=15000)
        assert box.get_attribute("data-result") == "error"
        assert "admin" in box.text_content()

        page.click("#logout-button")
        page.wait_for_url(solar_stack.url + "/login")
        page.goto(solar_stack.url + "/")
        assert page.locator("#console-auth").is_visible()
        assert page.locator("#login-link").is_visible()
        # The refused POP02 is the one 403 the browser reports; nothing else went wrong.
        assert [p for p in seen.problems() if "403" not in p] == []
    finally:
        page.close()


@pytest.mark.parametrize("theme", ["", "/lcars"])
def test_the_admin_makes_a_token_and_reads_the_audit_log(browser, solar_stack, accounts, theme):
    page = browser.new_page()
    seen = watch(page)
    try:
        sign_in(page, solar_stack.url, "browser-admin", f"/admin{theme}")
        page.fill("#token-name", f"browser token{theme.replace('/', ' ')}")
        page.select_option("#token-role", "operator")
        page.click("#token-create-form button[type=submit]")
        token = page.locator("#new-token-value")
        token.wait_for()
        assert token.text_content().startswith("smt_")
        screenshot(page, f"admin{theme.replace('/', '-')}")
        page.goto(f"{solar_stack.url}/audit{theme}")
        rows = page.locator("#audit-table tr[data-action]")
        assert rows.count() >= 2
        assert page.locator('#audit-table tr[data-action="login"]').count() >= 1
        assert page.locator('#audit-table tr[data-action="token"]').count() >= 1
        screenshot(page, f"audit{theme.replace('/', '-')}")
        assert seen.problems() == []
    finally:
        page.close()
