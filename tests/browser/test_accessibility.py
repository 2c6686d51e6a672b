"""Accessibility as a test (issue 15): axe-core (npm, package.json) runs on every page, in both
themes, at a phone's and a desktop's size, signed out and signed in, and fails on any serious or
critical violation — colour contrast included, the LCARS palette too.

axe is injected from node_modules into the test's browser only (the app never serves it); the
test's context bypasses the pages' CSP for that one injected script. One page load per combination.
SOLARMON_AXE_LOG=<file> appends every violation found, page by page, for fixing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import REPO, settle, sign_in
from tests.tools import missing_tool, require_tool

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
PUBLIC_PAGES = ["/", "/charts", "/battery", "/house", "/alerts", "/login"]
SIGNED_IN_PAGES = ["/", "/charts", "/battery", "/house", "/alerts", "/settings", "/admin", "/audit"]
LIVE_PAGES = ("/", "/charts", "/battery", "/house")
# A hub's pages (docs/FLEET.md), served by a hub on a real VictoriaMetrics (tests/fleet/hubstore.py):
# the fleet, a stale site's drill-down and a site with alerts.
FLEET_PAGES = ["/fleet", "/fleet/site/charlie", "/fleet/site/bravo"]
BAD = ("serious", "critical")
RUN_AXE = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`)}));
}"""


def _themed(path: str, theme: str) -> str:
    if theme == "standard":
        return path
    return "/lcars" if path == "/" else f"{path}/lcars"


def _check(context, url: str, path: str) -> list[str]:
    """Load one page, let it draw, run axe; the serious and critical violations, in words."""
    page = context.new_page()
    try:
        page.goto(url)
        if path in LIVE_PAGES or path in FLEET_PAGES:
            settle(page)
        page.wait_for_timeout(400)  # tables and charts drawn by their scripts
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(RUN_AXE)
    finally:
        page.close()
    bad = [f"{v['impact']} {v['id']} ({v['help']}): {v['nodes']}" for v in found if v["impact"] in BAD]
    if bad and os.environ.get("SOLARMON_AXE_LOG"):
        with open(os.environ["SOLARMON_AXE_LOG"], "a", encoding="utf-8") as log:
            log.write(f"== {url}\n" + "\n".join(bad) + "\n")
    return bad


@pytest.fixture(scope="module")
def axe_ready() -> Path:
    if not AXE.is_file():
        missing_tool(str(AXE), "npm ci (axe-core is in package.json)")
    return AXE


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("theme", ["standard", "lcars"])
def test_no_serious_violation_signed_out(browser, solar_stack, axe_ready, theme: str, size: str) -> None:
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
    try:
        problems = {path: _check(context, solar_stack.url + _themed(path, theme), path)
                    for path in PUBLIC_PAGES}
    finally:
        context.close()
    assert {path: found for path, found in problems.items() if found} == {}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("theme", ["standard", "lcars"])
def test_no_serious_violation_signed_in(browser, solar_stack, accounts, axe_ready, theme: str,
                                        size: str) -> None:
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, solar_stack.url, "browser-admin", "/settings")
        page.close()
        problems = {path: _check(context, solar_stack.url + _themed(path, theme), path)
                    for path in SIGNED_IN_PAGES}
    finally:
        context.close()
    assert {path: found for path, found in problems.items() if found} == {}


@pytest.fixture(scope="module")
def fleet_hub(tmp_path_factory: pytest.TempPathFactory):
    from tests.fleet.hubstore import served_hub

    binary = require_tool("victoria-metrics", "apt-get install victoria-metrics (scripts/setup.sh does)")
    with served_hub(tmp_path_factory.mktemp("axe-hub"), binary) as hub:
        yield hub


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("theme", ["standard", "lcars"])
def test_no_serious_violation_on_the_fleet_pages(browser, fleet_hub, axe_ready, theme: str,
                                                 size: str) -> None:
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
    try:
        problems = {path: _check(context, fleet_hub.url + _themed(path, theme), path) for path in FLEET_PAGES}
    finally:
        context.close()
    assert {path: found for path, found in problems.items() if found} == {}
