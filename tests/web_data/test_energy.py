"""Energy: power flows per kind, trapezoid integration with gaps, local days across DST, the
inverter's own counters, months, and totals across devices."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from solarmon.web.energy import Energy, EnergyIntegrator, period_bounds, power_flows, split_trapezoid
from solarmon.web.state import SourceUpdate

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"pv_input_power": 856}, {"pv": 856.0}),
        # Defect 2: the second tracker's key is pv2_charging_power (the codec's), not pv2_input_power.
        ({"pv_input_power": 800, "pv2_charging_power": 200}, {"pv": 1000.0}),
        ({"pv_input_current_for_battery": 14.0, "battery_voltage_from_scc": 57.45,
          "pv2_charging_power": 100}, {"pv": 14.0 * 57.45 + 100}),
        # Derived values computed on ingest are used as they are.
        ({"pv_power_total": 1500.0, "load_power": 300.0, "battery_power": -200.0, "grid_power": 0.0},
         {"pv": 1500.0, "load": 300.0, "battery_charge": 0.0, "battery_discharge": 200.0, "grid": 0.0}),
        ({"pv_input_current_for_battery": 14.0, "battery_voltage_from_scc": 57.45}, {"pv": 14.0 * 57.45}),
        ({"ac_output_active_power": 119}, {"load": 119.0}),
        ({"battery_voltage": 50.0, "battery_charging_current": 12, "battery_discharge_current": 0},
         {"battery_charge": 600.0, "battery_discharge": 0.0}),
        ({"battery_voltage": 50.0, "battery_charging_current": 0, "battery_discharge_current": 20},
         {"battery_charge": 0.0, "battery_discharge": 1000.0}),
        # Line mode: grid = load + battery net - pv (the balance), clipped at 0.
        ({"ac_output_active_power": 500, "ac_input_voltage": 230.0, "pv_input_power": 100,
          "battery_voltage": 50.0, "battery_charging_current": 4, "battery_discharge_current": 0},
         {"load": 500.0, "pv": 100.0, "battery_charge": 200.0, "battery_discharge": 0.0, "grid": 600.0}),
        ({"ac_output_active_power": 500, "ac_input_voltage": 230.0, "pv_input_power": 900},
         {"load": 500.0, "pv": 900.0, "grid": 0.0}),
        ({"ac_output_active_power": 500, "ac_input_voltage": 0.0}, {"load": 500.0, "grid": 0.0}),
        ({"ac_output_active_power": 500, "ac_input_voltage": 230.0, "device_mode": "Battery"},
         {"load": 500.0, "grid": 0.0}),
        ({"ac_output_active_power": "n/a", "device_mode": "Line"}, {}),
        ({}, {}),
    ],
)
def test_power_flows(values, expected):
    assert power_flows(values) == pytest.approx(expected)


def test_trapezoid_split_across_buckets_keeps_the_total():
    parts = split_trapezoid(850.0, 0.0, 1000.0, 1500.0)  # crosses the 900 s edge
    assert set(parts) == {0, 900}
    assert sum(parts.values()) == pytest.approx(750.0 * 150 / 3600)
    assert parts[0] == pytest.approx((0 + 500) / 2 * 50 / 3600)


def test_integrator_does_not_bridge_gaps_or_count_twice():
    integ = EnergyIntegrator(max_gap_s=60)
    assert integ.add("s", 0.0, {"load": 360.0}) == {}
    assert sum(integ.add("s", 10.0, {"load": 360.0}).values()) == pytest.approx(1.0)
    assert integ.add("s", 10.0, {"load": 360.0}) == {}  # same reading again
    assert integ.add("s", 5.0, {"load": 360.0}) == {}  # an older one
    assert integ.add("s", 100.0, {"load": 360.0}) == {}  # 90 s gap > 60 s: not bridged
    assert sum(integ.add("s", 110.0, {"load": 360.0}).values()) == pytest.approx(1.0)


def feed_constant(history, source: str, start: float, end: float, step: float, values: dict) -> None:
    ts = start
    while ts <= end:
        history.submit(SourceUpdate(source, ts, dict(values)))
        ts += step
    assert history.flush(60.0)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25), (dt.date(2026, 6, 15), 24)],
)
def test_local_days_across_dst(history, day, hours):
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), BERLIN).timestamp()
    end = dt.datetime.combine(day + dt.timedelta(days=2), dt.time(), BERLIN).timestamp()
    feed_constant(history, "inverter:a", start, end, 60.0, {"ac_output_active_power": 1000})
    now = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(12), BERLIN).timestamp()
    report = Energy(history, "Europe/Berlin").report("day", count=3, now=now)
    assert report["periods"] == [(day + dt.timedelta(days=i)).isoformat() for i in (-1, 0, 1)]
    assert report["devices"]["inverter:a"]["load"] == pytest.approx([24.0, hours, 24.0], abs=0.002)
    assert report["timezone"] == "Europe/Berlin"


def test_months_and_totals_across_devices(history):
    start = dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC).timestamp()
    end = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC).timestamp()
    feed_constant(history, "inverter:a", start, end, 60.0, {"pv_input_power": 500})
    feed_constant(history, "inverter:b", start, end, 60.0, {"pv_input_power": 250})
    energy = Energy(history, "UTC")
    report = energy.report("month", count=2, now=end + 3600)
    assert report["periods"] == ["2026-01", "2026-02"]
    assert report["devices"]["inverter:a"]["pv"] == pytest.approx([6.0, 6.0], abs=0.01)
    assert report["devices"]["inverter:b"]["pv"] == pytest.approx([3.0, 3.0], abs=0.01)
    assert report["total"]["pv"] == pytest.approx([9.0, 9.0], abs=0.02)
    assert report["total"]["load"] == [None, None]
    only_b = energy.report("month", source="inverter:b", count=2, now=end + 3600)
    assert list(only_b["devices"]) == ["inverter:b"]
    assert only_b["total"]["pv"] == pytest.approx([3.0, 3.0], abs=0.01)


def test_two_trackers_both_count_in_kwh(history):
    """Defect 2: a unit with two trackers never counted the second one (a made-up key was summed)."""
    start = dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp()
    feed_constant(history, "inverter:two", start, start + 86400, 60.0,
                  {"pv_input_power": 500, "pv2_charging_power": 250})
    report = Energy(history, "UTC").report("day", count=1, now=start + 3600)
    assert report["devices"]["inverter:two"]["pv"] == pytest.approx([18.0], abs=0.01)


def test_inverter_counters_win_where_present(history):
    start = dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC).timestamp()
    ts = start
    counter = 0.0
    while ts < start + 12 * 3600:
        counter += 1000 * 60 / 3600  # the unit counts 1 kW of PV: Wh so far today
        history.submit(SourceUpdate("inverter:max", ts, {"pv_input_power": 1200,
                                                          "pv_energy_day": round(counter)}))
        ts += 60
    assert history.flush()
    report = Energy(history, "UTC").report("day", count=1, now=start + 13 * 3600)
    dev = report["devices"]["inverter:max"]
    assert dev["method"]["pv"] == "counter"
    assert dev["pv"] == pytest.approx([12.0], abs=0.01)  # the counter, not the 1.2 kW samples
    assert dev["method"]["load"] == "integrated"


def test_period_bounds_months_and_errors():
    labels, bounds = period_bounds("month", 3, dt.datetime(2026, 1, 15, tzinfo=dt.UTC).timestamp(), dt.UTC)
    assert labels == ["2025-11", "2025-12", "2026-01"]
    assert bounds[-1] == (dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp(),
                          dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp())
    with pytest.raises(ValueError, match="period"):
        period_bounds("week", 1, 0.0, dt.UTC)


def test_default_timezone_comes_from_the_system(history, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert Energy(history).timezone == "America/New_York"


def test_period_bounds_years_and_self_sufficiency():
    """Issue 15: the dashboard's year a tap away, and the self-sufficiency served, not computed in JS."""
    from solarmon.web.energy import self_sufficiency

    labels, bounds = period_bounds("year", 2, dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp(), dt.UTC)
    assert labels == ["2025", "2026"]
    assert bounds[1] == (int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()),
                         int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()))
    assert self_sufficiency(10.0, 2.5) == 75.0
    assert self_sufficiency(10.0, 0.0) == 100.0
    assert self_sufficiency(0.0, 0.0) is None  # no load: no share to tell
    assert self_sufficiency(None, 1.0) is None


# A parallel system's own device as the daemon writes it (docs/SYSTEMS.md): its totals, and a unit's.
SYSTEM = {"system_units_expected": 2, "system_units_answering": 2, "system_totals_complete": 1,
          "system_pv_power": 1200.0, "system_load_power": 600, "system_battery_power": 400.0,
          "system_grid_power": 0.0, "battery_under_voltage": 42.0}
UNIT = {"pv_input_voltage": 100.0, "pv_input_current": 6.0, "ac_output_active_power": 300,
        "battery_voltage": 50.0, "battery_charging_current": 4, "ac_input_voltage": 230.0}


def test_power_flows_of_a_system_are_its_system_values():
    assert power_flows(SYSTEM) == {"pv": 1200.0, "load": 600.0, "battery_charge": 400.0,
                                   "battery_discharge": 0.0, "grid": 0.0}
    # Withheld (a unit missing): nothing, never a unit's value on the system's device.
    withheld = {"system_units_expected": 2, "system_units_answering": 1, "system_totals_complete": 0,
                "ac_output_active_power": 300}
    assert power_flows(withheld) == {}


def test_a_systems_energy_is_its_own_and_counted_once_in_the_total(history):
    start = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC).timestamp()
    end = start + 3600
    feed_constant(history, "inverter:sys", start, end, 60.0, SYSTEM)
    for unit in ("inverter:sys-unit0", "inverter:sys-unit1"):
        feed_constant(history, unit, start, end, 60.0, UNIT)
    feed_constant(history, "inverter:a", start, end, 60.0, {"pv_input_power": 500})
    energy = Energy(history, "UTC")
    mine = energy.report("day", source="inverter:sys", count=1, now=end + 60)
    assert list(mine["devices"]) == ["inverter:sys"]
    assert mine["total"] == {"pv": [1.2], "load": [0.6], "battery_charge": [0.4], "battery_discharge": [0.0],
                             "grid": [0.0]}
    units = {"inverter:sys-unit0", "inverter:sys-unit1"}
    everything = energy.report("day", count=1, now=end + 60, units=units)
    assert everything["devices"]["inverter:sys-unit1"]["load"] == [0.3]  # each unit's own, listed
    assert everything["total"]["pv"] == [1.7]  # the system (1.2) and inverter a (0.5): units not again
