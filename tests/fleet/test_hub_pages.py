"""The hub's /fleet page and a site's drill-down in headless Chromium (the browser tests' own
launch settings), both themes, on a hub served over HTTP from a real VictoriaMetrics: statuses as
words on badges, stale values greyed with their age (never shown as live), sorting by the column
headers and the controls, filtering, the view kept in the URL, and the drill-down's chart drawn
by the single-site chart code from the store's range queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import watch
from tests.fleet.hubstore import Hub, served_hub
from tests.tools import require_tool

pytestmark = pytest.mark.timeout(120)
THEMES = {"standard": "", "lcars": "/lcars"}
ROWS = "#fleet-sites tr"
NO_VALUE = "\N{EN DASH}"  # what the pages show for a value they do not have


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    binary = require_tool("victoria-metrics", "apt-get install victoria-metrics (scripts/setup.sh does)")
    with served_hub(tmp_path_factory.mktemp("hub-pages"), binary) as served:
        yield served


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def rows(page: Any) -> list[dict[str, Any]]:
    """What the table shows: per row its site, status badge, classes and cell texts."""
    return page.evaluate("""() => [...document.querySelectorAll('#fleet-sites tr')].map((tr) => ({
        site: tr.dataset.site, badge: tr.querySelector('.sm-fleet-status').textContent,
        old: tr.classList.contains('sm-fleet-old'),
        cells: [...tr.children].map((td) => td.textContent.trim()),
        grey: getComputedStyle(tr.children[2]).fontStyle}))""")


def open_fleet(page: Any, hub: Hub, theme: str, query: str = "", count: int = 6) -> list[dict[str, Any]]:
    page.goto(f"{hub.url}/fleet{THEMES[theme]}{query}")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === {count}"
                           " && document.getElementById('live-status').dataset.state !== 'connecting'")
    return rows(page)


@pytest.mark.parametrize("theme", list(THEMES))
def test_every_site_with_its_status_and_stale_values_greyed_with_their_age(page: Any, hub: Hub,
                                                                            theme: str) -> None:
    seen = watch(page)
    shown = {row["site"]: row for row in open_fleet(page, hub, theme)}
    assert {site: row["badge"] for site, row in shown.items()} == {
        "alpha": "up", "bravo": "up", "charlie": "stale", "delta.x-1": "stale",
        "echo-2": "down", "foxtrot": "down"}
    alpha, charlie, delta = shown["alpha"], shown["charlie"], shown["delta.x-1"]
    assert not alpha["old"]
    assert alpha["grey"] == "normal"
    assert alpha["cells"][2:5] == ["2,400 W", "700 W", "91 %"]
    # Stale: greyed (italic, another colour) and the age in the text, with the reason.
    assert charlie["old"]
    assert charlie["grey"] == "italic"
    assert re.fullmatch(r"64 %, 2[01] min old", charlie["cells"][4])
    assert "no data from the site for 20 min" in charlie["cells"][1]
    assert "inverter data is 15 min old" in delta["cells"][1]
    assert shown["echo-2"]["cells"][2:5] == [NO_VALUE] * 3
    assert "inverter_fault_bits (critical)" in shown["bravo"]["cells"][6]
    assert page.text_content("#count-stale") == "2"
    assert page.get_attribute("#live-status", "data-state") == "stale"
    assert seen.problems() == []


@pytest.mark.parametrize("theme", list(THEMES))
def test_sorting_by_the_headers_and_filtering_keep_the_view_in_the_url(page: Any, hub: Hub,
                                                                        theme: str) -> None:
    seen = watch(page)
    open_fleet(page, hub, theme)
    page.click("button.sm-fleet-sort[data-sort='soc']")
    page.wait_for_function("() => new URLSearchParams(location.search).get('sort') === 'soc'"
                           " && document.querySelector('#fleet-sites tr').dataset.site === 'bravo'")
    assert [r["site"] for r in rows(page)] == ["bravo", "delta.x-1", "charlie", "alpha", "echo-2", "foxtrot"]
    assert page.get_attribute("th[data-sort='soc']", "aria-sort") == "ascending"
    page.click("button.sm-fleet-sort[data-sort='soc']")
    page.wait_for_function("() => document.querySelector('#fleet-sites tr').dataset.site === 'alpha'")
    assert page.get_attribute("th[data-sort='soc']", "aria-sort") == "descending"
    page.select_option("#fleet-problem", "stale")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 2")
    assert {r["site"] for r in rows(page)} == {"charlie", "delta.x-1"}
    assert "2 of 6 sites" in page.text_content("#fleet-status")
    page.select_option("#fleet-problem", "")
    page.fill("#fleet-q", "ha")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 2")
    assert {r["site"] for r in rows(page)} == {"alpha", "charlie"}
    assert "q=ha" in page.url
    # The view in the URL comes back on a reload.
    page.reload()
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 2")
    assert page.input_value("#fleet-q") == "ha"
    assert seen.problems() == []


@pytest.mark.parametrize("theme", list(THEMES))
def test_the_drill_down_draws_the_sites_history_with_the_single_site_chart_code(page: Any, hub: Hub,
                                                                                theme: str) -> None:
    seen = watch(page)
    open_fleet(page, hub, theme)
    page.click("#fleet-sites tr[data-site='charlie'] a")
    page.wait_for_url(f"{hub.url}/fleet/site/charlie{THEMES[theme]}")
    page.wait_for_function("() => window.solarmon && window.solarmon.charts"
                           " && window.solarmon.charts['site-history']")
    drawn = page.evaluate("""() => window.solarmon.charts['site-history'].data.datasets.map((d) => ({
        label: d.label, points: d.data.filter((p) => p.y !== null).length,
        last: Math.max(...d.data.filter((p) => p.y !== null).map((p) => p.x))}))""")
    assert {d["label"] for d in drawn} == {"PV power (all trackers) (W)", "Battery charge (%)",
                                          "Load (all outputs) (W)"}
    assert all(d["points"] > 10 for d in drawn)
    now_ms = page.evaluate("() => Date.now()")
    # Nothing drawn for the 20 minutes the uplink was down.
    assert all(now_ms - d["last"] >= 19 * 60e3 for d in drawn), (now_ms, drawn)
    assert "stale" in page.text_content("#site-status")
    assert re.search(r"\b2[01] min old", page.text_content("#site-values-age"))
    assert page.evaluate("() => document.getElementById('site-values').classList.contains('sm-fleet-old')")
    assert page.text_content("[data-site-value='soc_percent'] .v") == "64"
    # Another range and metric: the view goes into the URL and the chart follows.
    before = page.evaluate("() => window.solarmon.charts['site-history'].options.scales.x.min")
    page.click("label[for='range-168']")
    page.wait_for_function("() => new URLSearchParams(location.search).get('range') === '168' && "
                           "window.solarmon.charts['site-history'].options.scales.x.min"
                           f" < {before} - 5 * 86400e3")
    assert seen.problems() == []


def test_an_up_site_is_shown_live_with_its_alerts(page: Any, hub: Hub) -> None:
    seen = watch(page)
    page.goto(f"{hub.url}/fleet/site/bravo")
    page.wait_for_function("() => document.getElementById('site-status').textContent.trim() !== 'Loading…'")
    assert page.text_content("#site-status").strip() == "up"
    assert page.text_content("#site-values-age") == ""
    assert page.text_content("[data-site-value='soc_percent'] .v") == "18"
    alerts = page.evaluate("() => [...document.querySelectorAll('#site-alerts li')]"
                           ".map((li) => li.textContent)")
    assert alerts == ["inverter_fault_bits (critical, inverter:main)", "battery_low (warning, inverter:main)"]
    assert seen.problems() == []


@pytest.mark.parametrize(("search", "view"), [
    ("", {"sort": "name", "order": "asc", "problem": "", "q": ""}),
    ("?sort=soc&order=desc&problem=stale,down&q=farm",
     {"sort": "soc", "order": "desc", "problem": "stale,down", "q": "farm"}),
    ("?sort=bogus&order=up&problem=%3Cb%3E&q=a%20b",
     {"sort": "name", "order": "asc", "problem": "", "q": ""}),
])
def test_the_view_from_the_url_keeps_only_what_the_api_accepts(page: Any, hub: Hub, search: str,
                                                               view: dict[str, str]) -> None:
    page.goto(f"{hub.url}/static/app/img/icon.svg")  # a document of the hub's origin, no fleet page
    got = page.evaluate("async (s) => (await import('/static/app/js/fleet.js')).viewFromQuery(s)", search)
    assert got == view
