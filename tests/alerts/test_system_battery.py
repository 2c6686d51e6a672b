"""A parallel / three-phase system's shared battery is one battery: the built-in battery rules fire
once, on the system's device and its values, never once per unit; the unit-level rules (Fault mode)
still watch each unit. The real service, the web app's wiring (which sources are units) and a real
LiveState and SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from solarmon.alerts.defaults import default_rules
from solarmon.alerts.delivery import Delivery
from solarmon.alerts.scope import rule_values
from solarmon.alerts.service import AlertService
from solarmon.alerts.store import AlertStore
from solarmon.web.alerts import unit_of_system
from solarmon.web.history.schema import connect, migrate
from solarmon.web.state import LiveState, SourceUpdate

NOW = 1000.0
UNITS = ("sys-unit0", "sys-unit1", "sys-unit2")
# The system's own device as the daemon writes it: the host's QPIRI cut-off and the system values.
SYSTEM = {"system_units_expected": 3, "system_units_answering": 3, "system_units_faulted": 0,
          "system_totals_complete": 1, "battery_under_voltage": 42.0, "faults_active": 0,
          "device_mode": "Battery", "system_battery_voltage": 43.0, "system_battery_capacity": 12}
# Each unit's reading of the same battery (low and near the cut-off), and its own work mode.
UNIT = {"battery_voltage": 43.0, "battery_capacity": 12, "device_mode": "Battery", "fault_code": "No fault",
        "ac_output_active_power": 400}
SYSTEM_UNITS = {"system_battery_voltage": "V", "system_battery_capacity": "%", "battery_under_voltage": "V"}
UNIT_UNITS = {"battery_voltage": "V", "battery_capacity": "%", "ac_output_active_power": "W"}
FAST = {"battery_low": {"for_s": 0}, "battery_near_cutoff": {"for_s": 0}}


def _state(system: dict[str, Any], faulted_unit: str | None = None) -> LiveState:
    state = LiveState(clock=lambda: NOW)
    state.apply(SourceUpdate("inverter:sys", NOW, system, units=SYSTEM_UNITS, scope="source"))
    for unit in UNITS:
        values = {**UNIT, "device_mode": "Fault"} if unit == faulted_unit else UNIT
        state.apply(SourceUpdate(f"inverter:{unit}", NOW, values, units=UNIT_UNITS, scope="source"))
    return state


def _service(state: LiveState, db: Path | None = None) -> AlertService:
    service = AlertService(tuple(default_rules(FAST)), state=state, store=AlertStore(db),
                           delivery=Delivery([]), notify_interval_s=0, clock=lambda: NOW,
                           unit_of_system=unit_of_system(state))
    service.store.open()
    return service


def _fired(service: AlertService) -> list[tuple[str, str]]:
    return sorted((t.rule.name, t.source) for t in service.tick())


def test_the_shared_battery_fires_once_on_the_system_and_unit_alerts_stay_per_unit() -> None:
    service = _service(_state(SYSTEM, faulted_unit="sys-unit1"))
    try:
        fired = _fired(service)
        active = {(row["rule"], row["source"]): row for row in service.store.active()}
    finally:
        service.store.close()
    assert fired == [("battery_low", "inverter:sys"), ("battery_near_cutoff", "inverter:sys"),
                     ("inverter_mode_fault", "inverter:sys-unit1")]
    # The system's values, under the rule's key and unit: its SoC, its voltage against the host's cut-off.
    low = active[("battery_low", "inverter:sys")]
    assert (float(low["fired_value"]), low["message"]) == (12.0, "Battery low: 12% on sys")
    assert "near the cut-off (43.5 V)" in active[("battery_near_cutoff", "inverter:sys")]["message"]


def test_while_the_system_withholds_its_battery_nothing_fires_and_nothing_clears() -> None:
    withheld = {k: v for k, v in SYSTEM.items() if not k.startswith("system_battery")}
    withheld.update(system_units_answering=2, system_totals_complete=0)
    state = _state(SYSTEM)
    service = _service(state)
    try:
        assert ("battery_low", "inverter:sys") in _fired(service)
        # A unit drops out: the system withdraws its battery values; the units' copies do not stand in.
        state.apply(SourceUpdate("inverter:sys", NOW, withheld, units=SYSTEM_UNITS, scope="source"))
        assert _fired(service) == []
        assert ("battery_low", "inverter:sys") in {(r["rule"], r["source"]) for r in service.store.active()}
    finally:
        service.store.close()


def test_a_units_battery_alert_from_before_is_handed_over_to_the_system(tmp_path: Path) -> None:
    """An alert on a unit's copy of the battery (fired before the unit was known as one) closes: it
    would never clear, as no rule watches that copy any more."""
    db = tmp_path / "history.db"
    conn = connect(db)
    migrate(conn)
    conn.close()
    earlier = _service(LiveState(clock=lambda: NOW), db)
    for transition in earlier.evaluator.evaluate("inverter:sys-unit0", UNIT, UNIT_UNITS, NOW):  # alone then
        earlier.store.fire(transition)
    earlier.store.close()
    service = _service(_state(SYSTEM), db)
    try:
        service._restore()
        assert ("battery_low", "inverter:sys-unit0") in service.evaluator.firing()
        service.tick()
        active = {(row["rule"], row["source"]) for row in service.store.active()}
    finally:
        service.store.close()
    assert ("battery_low", "inverter:sys-unit0") not in active
    assert ("battery_low", "inverter:sys") in active


@pytest.mark.parametrize(("values", "unit_of", "seen"), [
    ({"battery_capacity": 50, "battery_voltage": 51.0}, False,
     {"battery_capacity": 50, "battery_voltage": 51.0}),
    ({"battery_capacity": 50, "battery_voltage": 51.0, "faults_active": 1}, True, {"faults_active": 1}),
    ({"system_units_expected": 2, "system_battery_capacity": 70}, False,
     {"system_units_expected": 2, "system_battery_capacity": 70, "battery_capacity": 70}),
])
def test_rule_values(values: dict[str, Any], unit_of: bool, seen: dict[str, Any]) -> None:
    assert rule_values(values, {}, unit_of_system=unit_of)[0] == seen
