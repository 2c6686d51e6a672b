"""GET /metrics: the current values and the app's health, in a registry of the app's own."""

from __future__ import annotations

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
