"""The alerts part of the web app: GET /api/alerts, the operator's acknowledgement, the banner on
every page of both themes, the alerts page, state kept across a restart, bad rules refused at
start (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from solarmon.alerts.rules import AlertConfigError
from solarmon.web import create_app
from solarmon.web.runtime import Runtime, get_context
from tests.alerts.conftest import wait_until
from tests.fixtures.webapp import SAMPLE_VALUES, TOKEN, make_web_config, write_prom

REPO = Path(__file__).resolve().parents[2]
RULES = [{"name": "battery_low", "metric": "battery_capacity", "below": 20, "hysteresis": 10,
          "severity": "critical", "message": "Battery low: {value}{unit} on {device}"}]
PAGES = ["/", "/charts", "/battery", "/house", "/lcars", "/charts/lcars", "/battery/lcars", "/house/lcars",
         "/alerts", "/alerts/lcars"]


@pytest.fixture
def web_config_overrides(receiver, url_file):
    return {"alerts": {"tick_s": 0.05, "notify_interval_s": 0, "rules": RULES, "defaults": False,
                       "apprise_urls_file": str(url_file([receiver.url])), "retry_initial_s": 0.05}}


def service_of(app):
    return get_context(app).parts.alerts


def low_battery(web_paths, capacity):
    write_prom(web_paths.prom_dir, "main", {**SAMPLE_VALUES, "battery_capacity": capacity})


@pytest.mark.timeout(60)
def test_an_alert_fires_is_listed_acknowledged_and_clears(app, client, web_paths, web_runtime, receiver):
    low_battery(web_paths, 15)
    assert receiver.wait_for(lambda b: len(b) == 1)
    body = client.get("/api/alerts").get_json()
    assert body["enabled"] is True
    assert body["counts"] == {"critical": 1, "warning": 0, "info": 0}
    (alert,) = body["active"]
    assert (alert["rule"], alert["device"], alert["active"], alert["acknowledged"]) == \
        ("battery_low", "main", True, False)
    assert alert["message"] == "Battery low: 15% on main"
    assert body["unacknowledged"] == 1
    assert [r["name"] for r in body["rules"]] == ["battery_low"]
    # The receiver has the message before the worker has counted it: wait for the count.
    assert wait_until(lambda: client.get("/api/alerts").get_json()["channels"]["apprise:1"]["delivered"] == 1)

    # Acknowledging needs an operator.
    assert client.post("/api/alerts/ack", json={"id": alert["id"]}).status_code == 401
    bad = client.post("/api/alerts/ack", json={"id": alert["id"]}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/api/alerts/ack", json={"id": 999}, headers=auth).status_code == 404
    assert client.post("/api/alerts/ack", json={"id": "1"}, headers=auth).status_code == 400
    acked = client.post("/api/alerts/ack", json={"id": alert["id"]}, headers=auth)
    assert acked.status_code == 200
    assert acked.get_json()["alert"]["acknowledged"] is True
    assert client.get("/api/alerts").get_json()["unacknowledged"] == 0

    # 25 % is inside the hysteresis band: still active. 31 % clears it.
    low_battery(web_paths, 25)
    assert wait_until(lambda: service_of(app).evaluations > 3)
    assert client.get("/api/alerts").get_json()["active"]
    low_battery(web_paths, 31)
    assert receiver.wait_for(lambda b: len(b) == 2)
    body = client.get("/api/alerts").get_json()
    assert body["active"] == []
    (past,) = body["recent"]
    assert (past["id"], past["active"], past["acknowledged"]) == (alert["id"], False, True)
    assert past["cleared_value"] == "31"
    assert receiver.bodies[1]["title"] == "RESOLVED: battery_low on main"
    store = service_of(app).store
    deliveries = wait_until(lambda: len(store.deliveries(alert["id"])) == 2 and store.deliveries(alert["id"]))
    assert [(d["kind"], d["channel"], d["ok"]) for d in deliveries] == [("fired", "apprise:1", True),
                                                                        ("cleared", "apprise:1", True)]


@pytest.mark.timeout(60)
def test_the_banner_is_on_every_page_in_both_themes(client, web_paths, web_runtime, receiver):
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'id="alert-banner"' in page.get_data(as_text=True), path
        assert 'hidden>' in page.get_data(as_text=True).split('id="alert-banner"')[1].split("</div>")[0]
    low_battery(web_paths, 12)
    assert receiver.wait_for(lambda b: len(b) == 1)
    for path in PAGES:
        html = client.get(path).get_data(as_text=True)
        banner = html.split('id="alert-banner"')[0].rsplit("<div", 1)[1] + html.split('id="alert-banner"')[1]
        banner = banner.split("</div>")[0]
        assert "1 active alert: Battery low: 12% on main" in banner, path
        assert 'data-severity="critical"' in banner
        assert " hidden>" not in banner
        assert ("/alerts/lcars" if "lcars" in path else 'href="/alerts"') in banner
        assert "js/alert-banner.js" in html
        nav = html.split('id="main-nav"', 1)[1]
        link = "/alerts/lcars" if "lcars" in path else "/alerts"
        assert f'href="{link}"' in nav.split("</nav>")[0], path  # the alerts page is in the navigation


def test_the_alerts_page_in_both_themes(client):
    for path, theme in (("/alerts", "standard"), ("/alerts/lcars", "lcars")):
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert f'data-theme="{theme}"' in html
        assert 'id="alerts-active-table"' in html
        assert 'id="alerts-rules"' in html
        assert "js/alerts.js" in html
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'aria-current="page">' in client.get("/alerts").get_data(as_text=True)


@pytest.mark.timeout(60)
def test_active_alerts_survive_a_restart_without_a_second_message(web_config, web_paths, receiver):
    low_battery(web_paths, 10)
    first = create_app(web_config)
    with Runtime.for_app(first):
        assert receiver.wait_for(lambda b: len(b) == 1)
    second = create_app(web_config)
    with Runtime.for_app(second):
        assert wait_until(lambda: service_of(second).evaluations > 3)
        assert len(service_of(second).store.active()) == 1
        low_battery(web_paths, 50)
        assert receiver.wait_for(lambda b: len(b) == 2)
    assert [b["title"].split(":")[0] for b in receiver.bodies] == ["CRITICAL", "RESOLVED"]


@pytest.mark.timeout(60)
def test_a_removed_rule_closes_its_alert_at_start(web_config, web_paths, receiver):
    low_battery(web_paths, 10)
    first = create_app(web_config)
    with Runtime.for_app(first):
        assert receiver.wait_for(lambda b: len(b) == 1)
    raw = {**web_config.raw_sections["alerts"], "rules": [{**RULES[0], "name": "battery_empty", "below": 5}]}
    second = create_app(make_web_config(web_paths, {"alerts": raw}))
    with Runtime.for_app(second):
        store = service_of(second).store
        assert store.active() == []
        assert store.recent()[0]["clear_message"] == "rule removed"


def test_alerts_off(web_paths, client):
    app = create_app(make_web_config(web_paths, {"alerts": {"enabled": False}}))
    body = app.test_client().get("/api/alerts").get_json()
    assert (body["enabled"], body["active"]) == (False, [])
    assert get_context(app).parts.alerts is None
    assert 'id="alert-banner"' not in app.test_client().get("/").get_data(as_text=True)


def test_status_shows_the_alerts_health(client, web_runtime):
    alerts = client.get("/api/status").get_json()["sources"]["alerts"]
    assert alerts["running"] is True
    assert alerts["store"]["persistent"] is True
    assert set(alerts["channels"]) == {"apprise:1"}


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ({"rules": [{"name": "x", "metric": "battery_capacity", "below": 20, "for": 30}]},
         "rule 'x': unknown key(s) for"),
        ({"rules": [{"name": "x", "metric": "battery_capacity", "below": 20, "channels": ["sms"]}]},
         "rule 'x': channel 'sms' is not configured (configured: none)"),
        ({"notify_interval_s": -1}, "alerts.notify_interval_s must be a number in 0..86400, got -1"),
        ({"defaults": {"battery_low": {"below": "20%"}}}, "rule 'battery_low': below must be a number"),
        ({"rules_file": "missing.yaml"}, "cannot read the alerts file"),
        ({"apprise_urls_file": "missing.urls"}, "cannot read the apprise URL file"),
    ],
)
def test_bad_alert_configuration_is_refused_at_build(web_paths, section, reason):
    with pytest.raises(AlertConfigError, match=None) as info:
        create_app(make_web_config(web_paths, {"alerts": section}))
    assert reason in str(info.value)


def test_rules_file_adds_and_replaces_rules(web_paths):
    extra = web_paths.root / "alerts.yaml"
    extra.write_text(yaml.safe_dump({"rules": [
        {"name": "battery_low", "metric": "battery_capacity", "below": 40},
        {"name": "cold_house", "metric": "living_room/temperature", "source": "house", "below": 12}]}))
    app = create_app(make_web_config(web_paths, {"alerts": {"rules_file": "alerts.yaml"}}))
    rules = {r.name: r for r in service_of(app).rules}
    assert rules["battery_low"].condition.describe() == "below 40"  # replaces the built-in one
    assert rules["cold_house"].source == "house"
    assert rules["inverter_fault_bits"].builtin


@pytest.mark.timeout(60)
def test_web_interface_exits_2_naming_the_bad_rule(tmp_path):
    web_yaml = tmp_path / "web.yaml"
    web_yaml.write_text(yaml.safe_dump({
        "history": {"db_path": str(tmp_path / "h.db")},
        "alerts": {"rules": [{"name": "battery_low", "metric": "battery_capacity", "below": 20,
                              "hysteresis": 5, "clear": {"above": 30}}]}}))
    done = subprocess.run([sys.executable, str(REPO / "web_interface.py"), "-c", str(web_yaml), "--check"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert "rule 'battery_low': give either hysteresis or clear, not both" in done.stderr
    assert not (tmp_path / "h.db").exists()  # nothing was started


@pytest.mark.timeout(60)
def test_metrics_show_active_alerts_and_channel_outcomes(client, web_paths, web_runtime, receiver):
    from prometheus_client.parser import text_string_to_metric_families

    # No alert: the per-alert family has no sample (a fleet hub counts samples as alerts).
    assert "solarmon_alert_active{" not in client.get("/metrics").text
    low_battery(web_paths, 9)
    assert receiver.wait_for(lambda b: len(b) == 1)
    delivered_line = 'solarmon_alert_messages_total{channel="apprise:1",result="delivered"} 1.0'
    assert wait_until(lambda: delivered_line in client.get("/metrics").text)
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    active = {s.labels["severity"]: s.value for s in families["solarmon_alerts_active"].samples}
    assert active == {"info": 0, "warning": 0, "critical": 1}
    # One sample per active alert, named by rule, severity and source (docs/FLEET.md).
    assert [(s.labels, s.value) for s in families["solarmon_alert_active"].samples] == \
        [({"rule": "battery_low", "severity": "critical", "source": "inverter:main"}, 1)]
    assert families["solarmon_alerts_unacknowledged"].samples[0].value == 1
    assert [s.value for s in families["solarmon_alert_channel_up"].samples] == [1]
    delivered = [s for s in families["solarmon_alert_messages"].samples
                 if s.labels == {"channel": "apprise:1", "result": "delivered"}]
    assert delivered[0].value == 1
