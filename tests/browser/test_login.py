"""Security in a real browser: the login page in both themes, an operator's session driving the
command console (CSRF token from the page), an admin's pages, sign-out."""

from __future__ import annotations

import pytest

from tests.browser.conftest import VIEWPORTS, screenshot, settle, sign_in, wait_for, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

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

        page.click("#logout-button")
        page.wait_for_url(solar_stack.url + "/login")
        page.goto(solar_stack.url + "/")
        assert page.locator("#console-auth").is_visible()
        assert page.locator("#login-link").is_visible()
        assert seen.problems() == []
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
