"""GET /api/fleet and the drill-down endpoints against a REAL VictoriaMetrics (Debian's
victoria-metrics), fed through its remote-write API by our own encoder with sites in every status:
up, up with alerts (and one cleared earlier), stale because the uplink is down, stale because the
site's daemon stopped, down (silent for two days) and down because only listed in fleet.sites.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from solarmon.web import create_app
from solarmon.web.openapi import HISTORICAL
from solarmon.web.runtime import Runtime, get_context
from tests.fleet.hubstore import (
    FLEET,
    LISTED_ONLY,
    LOOKBACK_S,
    STALE_AFTER_S,
    VictoriaMetrics,
    feed,
    hub_config,
)
from tests.tools import require_tool

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """One VictoriaMetrics for the module, holding the fleet of tests/fleet/hubstore.py."""
    binary = require_tool("victoria-metrics", "apt-get install victoria-metrics (scripts/setup.sh does)")
    vm = VictoriaMetrics(binary, tmp_path_factory.mktemp("vm") / "data").start()
    try:
        feed(vm, FLEET, time.time())
        yield vm
    finally:
        vm.stop()


def hub_app(root: Path, promql_url: str, **fleet: Any) -> Any:
    """A web app in hub mode (no local inverter) on `promql_url`."""
    (root / "prometheus").mkdir(parents=True, exist_ok=True)
    return create_app(hub_config(root, promql_url, **fleet))


@pytest.fixture(scope="module")
def client(store: VictoriaMetrics, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app = hub_app(tmp_path_factory.mktemp("hub"), store.url)
    runtime = Runtime.for_app(app).start()
    try:
        yield app.test_client()
    finally:
        runtime.stop()


def body_store(client: Any) -> str:
    """The store URL the hub was configured with."""
    return get_context(client.application).config.fleet.promql_url


def sites_of(client: Any, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/fleet{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["sites"]


def by_name(client: Any) -> dict[str, dict[str, Any]]:
    return {site["site"]: site for site in sites_of(client)}


def test_every_status_is_told_apart_and_says_why(client: Any) -> None:
    sites = by_name(client)
    assert {name: (s["status"], s["stale_reason"]) for name, s in sites.items()} == {
        "alpha": ("up", None), "bravo": ("up", None),
        "charlie": ("stale", "no_recent_sample"),  # the uplink: the newest sample is 20 min old
        "delta.x-1": ("stale", "data_old"),  # the daemon: samples arrive, the data in them is 15 min old
        "echo-2": ("down", None), LISTED_ONLY: ("down", None),
    }
    # Ages: the sample's own age and the data's age in it, each from the store.
    # VictoriaMetrics hides its last 30 s from cached queries: the hub asks past that (nocache).
    assert 10 <= sites["alpha"]["sample_age_s"] < 10 + 20
    assert sites["alpha"]["data_age_s"] == 2.0  # the inverter source's, not the house source's 4 s
    assert 1200 <= sites["charlie"]["sample_age_s"] < 1200 + 60
    assert sites["delta.x-1"]["data_age_s"] == 900.0
    assert sites["delta.x-1"]["sample_age_s"] < 60
    assert sites["delta.x-1"]["values_age_s"] >= 900
    assert sites["echo-2"]["age_s"] is None
    assert sites["echo-2"]["soc_percent"] is None


def test_values_energy_and_alerts_come_from_each_sites_newest_scrape(client: Any) -> None:
    sites = by_name(client)
    alpha = sites["alpha"]
    assert alpha["source"] == "inverter:main"
    assert alpha["pv_w"] == pytest.approx(2400, abs=1)
    assert alpha["load_w"] == pytest.approx(700, abs=1)
    assert alpha["soc_percent"] == 91
    assert alpha["battery_w"] == 1700
    assert alpha["grid_w"] == 0
    assert alpha["energy_today_wh"] == {"load": 3100.0, "pv": 5200.0}
    assert alpha["alerts"] == []
    assert alpha["alert_count"] == 0
    # Active: present in the newest scrape, critical first; grid_lost ended 10 min ago: cleared.
    assert sites["bravo"]["alerts"] == [
        {"rule": "inverter_fault_bits", "severity": "critical", "source": "inverter:main"},
        {"rule": "battery_low", "severity": "warning", "source": "inverter:main"}]
    # A stale site keeps its last values, with their age, for the page to grey out.
    assert sites["charlie"]["soc_percent"] == 64
    assert sites["charlie"]["values_age_s"] >= 1200


def test_counts_and_totals(client: Any) -> None:
    body = client.get("/api/fleet").get_json()
    assert client.get("/api/status").get_json()["sources"]["fleet"] == {"ok": True, "error": None,
                                                                         "store": body_store(client)}
    assert body["total"] == 6
    assert body["counts"] == {"up": 2, "stale": 2, "down": 2, "alerts": 1, "low_soc": 1}
    assert body["stale_after_s"] == STALE_AFTER_S
    assert body["lookback_s"] == LOOKBACK_S


@pytest.mark.parametrize(("query", "order"), [
    ("", ["alpha", "bravo", "charlie", "delta.x-1", "echo-2", "foxtrot"]),
    ("?sort=name&order=desc", ["foxtrot", "echo-2", "delta.x-1", "charlie", "bravo", "alpha"]),
    ("?sort=status", ["echo-2", "foxtrot", "charlie", "delta.x-1", "alpha", "bravo"]),
    ("?sort=soc&order=desc", ["alpha", "charlie", "delta.x-1", "bravo", "echo-2", "foxtrot"]),
    ("?sort=soc", ["bravo", "delta.x-1", "charlie", "alpha", "echo-2", "foxtrot"]),
    ("?sort=pv&order=desc", ["alpha", "charlie", "delta.x-1", "bravo", "echo-2", "foxtrot"]),
    ("?sort=load&order=desc", ["bravo", "alpha", "delta.x-1", "charlie", "echo-2", "foxtrot"]),
    ("?sort=alerts&order=desc", ["bravo", "foxtrot", "echo-2", "delta.x-1", "charlie", "alpha"]),
])
def test_sorting(client: Any, query: str, order: list[str]) -> None:
    assert [s["site"] for s in sites_of(client, query)] == order


@pytest.mark.parametrize(("query", "names"), [
    ("?problem=stale", {"charlie", "delta.x-1"}),
    ("?problem=down", {"echo-2", LISTED_ONLY}),
    ("?problem=alerts", {"bravo"}),
    ("?problem=low_soc", {"bravo"}),
    ("?problem=stale,down", {"charlie", "delta.x-1", "echo-2", LISTED_ONLY}),
    ("?problem=stale&problem=alerts", {"charlie", "delta.x-1", "bravo"}),
    ("?q=HA", {"alpha", "charlie"}),
    ("?q=ha&problem=stale", {"charlie"}),
    ("?q=zulu", set()),
])
def test_filters(client: Any, query: str, names: set[str]) -> None:
    assert {s["site"] for s in sites_of(client, query)} == names


@pytest.mark.parametrize("query", [
    "?sort=soc_percent", "?sort=", "?order=up&sort=name", "?problem=broken", "?problem=stale,nope",
    "?q=a%20b", "?q=%22%7D", "?q=" + "x" * 65,
])
def test_bad_parameters_are_400_naming_them(client: Any, query: str) -> None:
    response = client.get(f"/api/fleet{query}")
    if query == "?sort=":  # an empty parameter is the default, as everywhere in the API
        assert response.status_code == 200
        return
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_parameter"
    assert query[1:].split("=")[0] in body["message"]


def test_the_answer_is_cached_for_a_few_seconds(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = get_context(client.application).parts.fleet
    clock = [time.time() + hub.config.cache_s]  # past whatever an earlier test cached
    monkeypatch.setattr(hub, "clock", lambda: clock[0])
    before = hub.queries_run
    first = client.get("/api/fleet").get_json()
    clock[0] += hub.config.cache_s - 0.5
    second = client.get("/api/fleet?sort=soc&problem=stale").get_json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert hub.queries_run == before + 1  # one query set for both answers
    assert second["time"] == first["time"]
    clock[0] += 0.5
    assert client.get("/api/fleet").get_json()["cached"] is False
    assert hub.queries_run == before + 2


def test_one_site(client: Any) -> None:
    body = client.get("/api/fleet/charlie").get_json()
    assert body["status"] == "stale"
    assert body["stale_reason"] == "no_recent_sample"
    assert body["headline_keys"]["soc_percent"] == "battery_capacity"
    assert client.get("/api/fleet/zulu").get_json()["error"] == "unknown_site"
    assert client.get("/api/fleet/zulu").status_code == 404
    assert client.get("/api/fleet/a%22b").status_code == 400


def test_drill_down_history_has_the_shape_the_charts_draw(client: Any) -> None:
    response = client.get("/api/fleet/alpha/historical?hours=2&points=24"
                          "&metrics=pv_power_total,battery_capacity,bms_cell_max")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    jsonschema.validate({k: v for k, v in body.items() if k != "site"}, HISTORICAL)
    assert body["step_s"] == 300
    assert body["tier"] == "store"
    assert len(body["t"]) == len(body["series"]["pv_power_total"]["avg"]) in (24, 25)
    assert body["unknown"] == ["bms_cell_max"]
    soc = body["series"]["battery_capacity"]
    assert soc["unit"] == "%"
    assert {v for v in soc["avg"] if v is not None} == {91.0}
    pv = body["series"]["pv_power_total"]
    assert pv["unit"] == "W"
    assert all(lo <= av <= hi for lo, av, hi in zip(pv["min"], pv["avg"], pv["max"], strict=False)
                                     if av is not None)
    assert 2100 < max(v for v in pv["avg"] if v is not None) <= 2400


def test_drill_down_of_a_stale_site_ends_where_its_data_ends(client: Any) -> None:
    body = client.get("/api/fleet/charlie/historical?hours=1&points=60&metrics=battery_capacity").get_json()
    avg = body["series"]["battery_capacity"]["avg"]
    times = body["t"]
    last = max(t for t, v in zip(times, avg, strict=False) if v is not None)
    assert time.time() - last >= 1200 - 60  # nothing drawn for the 20 minutes the uplink was down
    assert all(v is None for t, v in zip(times, avg, strict=False) if t > last)


@pytest.mark.parametrize("query", ["hours=0", "hours=x", "points=0", "metrics=a%20b", "metrics=house/x",
                                   "source=house", "start=2026-01-02&end=2026-01-01"])
def test_drill_down_bad_parameters(client: Any, query: str) -> None:
    response = client.get(f"/api/fleet/alpha/historical?{query}")
    assert response.status_code == 400, response.get_json()


def test_drill_down_of_a_down_site_is_404(client: Any) -> None:
    response = client.get("/api/fleet/foxtrot/historical")
    assert response.status_code == 404
    assert response.get_json()["error"] == "no_data"


def test_credentials_from_the_file_reach_the_store(store: VictoriaMetrics, tmp_path: Path) -> None:
    binary = require_tool("victoria-metrics", "apt-get install victoria-metrics (scripts/setup.sh does)")
    guarded = VictoriaMetrics(binary, tmp_path / "guarded", extra_args=["-httpAuth.username=hub",
                                                                         "-httpAuth.password=s3cret"])
    guarded.start(auth=("hub", "s3cret"))
    try:
        secret = tmp_path / "store.cred"
        secret.write_text("hub:s3cret\n")
        secret.chmod(0o600)
        for credentials, status in (({}, 502), ({"credentials_file": str(secret)}, 200)):
            app = hub_app(tmp_path / f"app{status}", guarded.url, **credentials)
            runtime = Runtime.for_app(app).start()
            try:
                response = app.test_client().get("/api/fleet")
            finally:
                runtime.stop()
            assert response.status_code == status, response.get_json()
            if status == 502:
                assert "credentials" in response.get_json()["message"]
    finally:
        guarded.stop()


@pytest.mark.parametrize("path", ["/api/fleet", "/api/fleet/{site}", "/api/fleet/{site}/historical"])
def test_generated_requests_get_documented_answers(client: Any, path: str) -> None:
    """schemathesis against a hub with data: every answer is one /api/openapi.json describes."""
    import schemathesis
    from schemathesis.generation import GenerationMode

    from tests.web.test_openapi import fuzz

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", client.application)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        fuzz(schema, path, "GET", mode)
