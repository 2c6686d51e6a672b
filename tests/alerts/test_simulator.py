"""End to end on the real parts: the simulator's battery drains under load at night, the real
daemon polls it over a pty and writes its .prom file, the web app reads it, and the built-in
low-battery rule fires and reaches a local webhook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from solarmon.web import create_app
from solarmon.web.runtime import Runtime, get_context
from tests.alerts.conftest import wait_until
from tests.fixtures.webapp import make_web_config

REPO = Path(__file__).resolve().parents[2]
LOW_PCT = 25


def start_daemon(sim, tmp_path, web_paths):
    """The real daemon polling the simulator every 0.5 s into the web app's .prom folder."""
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text(f"[SETUP]\npause = 0.5\ncontrol_socket =\naudit_log = {tmp_path / 'audit.jsonl'}\n\n"
                    f"[main]\nport = {sim.port}\nporttype = serial\ncommand = QPIGS\n"
                    f"prom_output_dir = {web_paths.prom_dir}\n")
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO,
                              stdout=log, stderr=subprocess.STDOUT)
    return daemon, log


def stop_daemon(daemon, log):
    daemon.terminate()
    daemon.wait(10)
    log.close()


@pytest.mark.timeout(180)
def test_a_draining_battery_fires_the_low_battery_alert(simulator, tmp_path, web_paths, receiver, url_file):
    sim = simulator("pty", speed=120, start="2026-06-01T22:00:00")  # night: no sun to recharge it
    assert sim.control({"op": "set", "soc": LOW_PCT + 6, "load_w": 3500, "grid": False})["ok"]
    daemon, log = start_daemon(sim, tmp_path, web_paths)
    try:
        app = create_app(make_web_config(web_paths, {"alerts": {
            "tick_s": 0.1, "apprise_urls_file": str(url_file([receiver.url])),
            "defaults": {"battery_low": {"below": LOW_PCT, "for_s": 1}}}}))
        state = get_context(app).parts.state
        seen: list[float] = []
        with Runtime.for_app(app):
            fired = receiver.wait_for(lambda b: any(x["title"] == "WARNING: battery_low on main" for x in b),
                                      timeout_s=120)
            snap = state.snapshot("inverter:main")
            assert fired, f"no alert; last values {snap and snap.values.get('battery_capacity')}; " \
                          f"daemon: {(tmp_path / 'daemon.log').read_text()[-2000:]}"
            seen = [u.values["battery_capacity"] for u in state.ring("inverter:main")
                    if "battery_capacity" in u.values]
            active = get_context(app).parts.alerts.store.active()
    finally:
        stop_daemon(daemon, log)
    assert seen[0] >= LOW_PCT  # it drained into the alert rather than starting in it
    (alert,) = [a for a in active if a["rule"] == "battery_low"]
    assert float(alert["fired_value"]) < LOW_PCT
    assert alert["source"] == "inverter:main"
    body = next(x for x in receiver.bodies if x["title"] == "WARNING: battery_low on main")
    assert body["message"] == f"Battery low: {alert['fired_value']}% on main"
    assert wait_until(lambda: sim.control({"op": "snapshot"})["state"]["soc_percent"] < LOW_PCT)


@pytest.mark.timeout(180)
def test_an_inverter_fault_fires_and_clears(simulator, tmp_path, web_paths, receiver, url_file):
    sim = simulator("pty")
    daemon, log = start_daemon(sim, tmp_path, web_paths)
    try:
        app = create_app(make_web_config(web_paths, {"alerts": {
            "tick_s": 0.1, "notify_interval_s": 10,
            "apprise_urls_file": str(url_file([receiver.url]))}}))
        with Runtime.for_app(app):
            store = get_context(app).parts.alerts.store
            assert wait_until(lambda: get_context(app).parts.alerts.evaluations > 5, timeout_s=30)
            assert store.active() == []  # the built-in rules are quiet on a healthy unit
            assert sim.control({"op": "fault", "kind": "inverter"})["ok"]
            titles = {"CRITICAL: inverter_fault_bits on main", "CRITICAL: inverter_mode_fault on main"}
            assert receiver.wait_for(lambda b: titles <= {x["title"] for x in b}, timeout_s=60), \
                (tmp_path / "daemon.log").read_text()[-2000:]
            bits = next(x for x in receiver.bodies if x["title"].endswith("inverter_fault_bits on main"))
            assert "inverter" in bits["message"].split(": ", 1)[1]
            assert sim.control({"op": "fault", "kind": None})["ok"]
            # The store sees the end at once; the messages wait for the flap interval (10 s here).
            assert wait_until(lambda: store.active() == [] and len(store.recent()) == 2, timeout_s=30)
            assert not any(x["title"].startswith("RESOLVED") for x in receiver.bodies)
            resolved = {"RESOLVED: inverter_fault_bits on main", "RESOLVED: inverter_mode_fault on main"}
            assert receiver.wait_for(lambda b: resolved <= {x["title"] for x in b}, timeout_s=30)
            assert len(receiver.bodies) == 4
    finally:
        stop_daemon(daemon, log)


@pytest.mark.timeout(120)
def test_every_builtin_rule_watches_a_value_the_daemon_writes(simulator, tmp_path, web_paths):
    from solarmon.alerts.defaults import default_rules
    from solarmon.alerts.rules import DERIVED_METRICS
    from solarmon.inverter import catalog
    from solarmon.simulator.runner import BmsSimulatorProcess
    from solarmon.web.promreader import parse_prom_text

    sim = simulator("pty")
    conf = tmp_path / "once.conf"
    # The BMS rules (issue 18) watch what a BMS section writes: a simulated JK BMS beside the inverter.
    with BmsSimulatorProcess(tmp_path / "bms", bms_type="jkbms", cells=8) as bms:
        conf.write_text(f"[SETUP]\ncontrol_socket =\naudit_log = {tmp_path / 'audit.jsonl'}\n\n[main]\n"
                        f"port = {sim.port}\nporttype = serial\nprom_output_dir = {web_paths.prom_dir}\n"
                        f"[pack]\ntype = jkbms\nport = {bms.port}\nprom_output_dir = {web_paths.prom_dir}\n")
        done = subprocess.run([sys.executable, "-m", "solarmon.daemon", "-C", str(conf), "--once"], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    values: dict = {}
    for path in (web_paths.prom_dir / "mpp-solar-main.prom", web_paths.prom_dir / "mpp-solar-pack.prom"):
        for update in parse_prom_text(path.read_text(), filename=path.name, mtime=path.stat().st_mtime):
            values.update(update.values)
    elsewhere = []
    for rule in default_rules():
        if rule.source == "forecast":  # the forecast service's live source, not a daemon file
            elsewhere.append(rule.name)
            continue
        if rule.metric.startswith("system_"):
            # Written only for a parallel / three-phase section: tests/web/test_system_e2e.py drives
            # the daemon on a 3-unit simulator and sees this rule fire when a unit drops out.
            assert catalog.info(rule.metric) is not None, rule.name
            elsewhere.append(rule.name)
            continue
        if rule.metric not in DERIVED_METRICS:
            assert rule.metric in values, f"{rule.name} watches {rule.metric}: the daemon does not write it"
        for condition in (rule.condition, rule.clear):
            if condition.threshold is not None and condition.threshold.metric is not None:
                assert condition.threshold.metric in values, f"{rule.name}: no {condition.threshold.metric}"
    # The built-in rules that read no single-inverter file: the forecast service's source (it fires
    # through the real service in tests/forecast/test_calibration_outlook.py) and a parallel system's.
    assert elsewhere == ["battery_cutoff_before_sunrise", "system_unit_missing"]
