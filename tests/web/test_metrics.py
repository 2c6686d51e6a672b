"""GET /metrics: the current values and the app's health, in a registry of the app's own."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from solarmon.web.metrics import metric_name
from tests.fixtures.webapp import SAMPLE_VALUES, write_prom


def samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


@pytest.mark.parametrize(("key", "unit", "name"), [
    ("battery_voltage", "V", "solarmon_battery_voltage_volts"),
    ("pv_input_power", "W", "solarmon_pv_input_power_watts"),
    ("ac_output_apparent_power", "VA", "solarmon_ac_output_apparent_power_voltamperes"),
    ("inverter_heat_sink_temperature", "°C", "solarmon_inverter_heat_sink_temperature_celsius"),
    ("house_temperature_celsius:kitchen", "°C", "solarmon_house_temperature_celsius_kitchen_celsius"),
    ("battery_capacity", "%", "solarmon_battery_capacity_percent"),
    ("energy_watt_hours", "Wh", "solarmon_energy_watt_hours"),
    ("is_load_on", "", "solarmon_is_load_on"),
])
def test_metric_names_carry_the_unit(key, unit, name):
    assert metric_name(key, unit) == name


def test_metrics_expose_values_per_source_and_health(client, web_paths, scan):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    (web_paths.prom_dir / "mpp-solar-bad.prom").write_text("")
    scan()
    found = samples(client)
    source = (("source", "inverter:main"),)
    assert found[("solarmon_battery_voltage_volts", source)] == 52.4
    assert found[("solarmon_pv_input_power_watts", source)] == 856
    assert found[("solarmon_source_up", source)] == 1
    assert found[("solarmon_source_up", (("source", "inverter:bad"),))] == 0
    assert found[("solarmon_source_errors_total", (("kind", "empty"), ("source", "inverter:bad")))] == 1
    assert found[("solarmon_web_reader_errors_total", (("kind", "empty"),))] == 1
    assert found[("solarmon_web_streams_max", ())] == 4
    assert not any(name.startswith("solarmon_device_mode") for name, _ in found)  # strings are not samples


def test_two_apps_do_not_share_metrics(web_paths, web_config, tmp_path):
    from solarmon.web import create_app
    from solarmon.web.runtime import get_context

    first, second = create_app(web_config), create_app(web_config)
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    get_context(first).parts.reader.scan()
    assert ("solarmon_battery_voltage_volts", (("source", "inverter:main"),)) in samples(first.test_client())
    assert not any(name == "solarmon_battery_voltage_volts" for name, _ in samples(second.test_client()))


def test_a_stale_source_is_down_and_exports_no_values(client, web_paths, scan, web_config):
    """Defect 4: after a source went stale (/api/data 503), /metrics kept its last values with
    source_up 1 and /api/status said ok."""
    import time

    old = time.time() - web_config.data.stale_after_s - 30
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES, ts=old)
    scan()
    assert client.get("/api/data").status_code == 503
    found = samples(client)
    source = (("source", "inverter:main"),)
    assert found[("solarmon_source_up", source)] == 0
    assert ("solarmon_battery_voltage_volts", source) not in found
    assert found[("solarmon_source_age_seconds", source)] > web_config.data.stale_after_s
    status = client.get("/api/status").json
    assert status["ok"] is False
    assert status["sources"]["inverter:main"]["ok"] is False
    assert status["sources"]["inverter:main"]["error"].startswith("stale")


def test_upstream_flag_bits_are_exported(client, web_paths, scan):
    """Defect 3: upstream mppsolar's `{myStr="1"} 1` flags were kept as strings: no /metrics family."""
    from tests.web_data.conftest import write_mppsolar_files

    write_mppsolar_files(web_paths.prom_dir, "up", {"QPIWS": "01000100010000000000000000000000"})
    scan()
    found = samples(client)
    source = (("source", "inverter:up"),)
    assert found[("solarmon_inverter_fault", source)] == 1
    assert found[("solarmon_over_temperature", source)] == 1
    assert found[("solarmon_bus_over", source)] == 0
    assert found[("solarmon_faults_active", source)] == 2


def test_energy_today_per_source_and_flow_is_the_energy_modules(app, client, web_runtime):
    """Fleet (issue 19): today's Wh per source and flow, exactly what the energy module reports
    (grid import under the fleet's flow name grid_in); nothing is exported for a kind without data."""
    import datetime as dt

    from solarmon.web.runtime import get_context
    from solarmon.web.state import SourceUpdate

    ctx = get_context(app)
    now = time.time()
    midnight = dt.datetime.combine(dt.datetime.fromtimestamp(now, dt.UTC).date(), dt.time(), dt.UTC)
    start = max(now - 300, midnight.timestamp() + 1)  # the history's time zone is UTC (make_web_config)
    flows = {"pv_power_total": 720.0, "load_power": 360.0, "battery_power": -180.0, "grid_power": 36.0}
    for step in range(31):  # 300 s at constant power, a reading every 10 s
        ctx.parts.history.submit(SourceUpdate("inverter:main", start + step * 10, dict(flows)))
    assert ctx.parts.history.flush(30)
    found = {labels: value for (name, labels), value in samples(client).items()
             if name == "solarmon_energy_today_watt_hours"}
    key = lambda flow: (("flow", flow), ("source", "inverter:main"))  # noqa: E731
    assert found == pytest.approx({key("pv"): 60.0, key("load"): 30.0, key("battery_charge"): 0.0,
                                   key("battery_discharge"): 15.0, key("grid_in"): 3.0})
    report = ctx.parts.energy.report("day", count=1)["devices"]["inverter:main"]
    assert found[key("load")] == report["load"][0] * 1000
    assert found[key("grid_in")] == report["grid"][0] * 1000


def test_metrics_answer_without_the_history(client, web_paths, scan):
    """Before the history database is open /metrics still serves the live values, without energy."""
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    scan()
    found = samples(client)
    assert found[("solarmon_battery_voltage_volts", (("source", "inverter:main"),))] == 52.4
    assert not any(name == "solarmon_energy_today_watt_hours" for name, _ in found)
