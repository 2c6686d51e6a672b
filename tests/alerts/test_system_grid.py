"""A parallel system's units hang on one grid: ``grid_lost`` fires once, on the system's device and
its value, never once per unit; a three-phase system's phases are grids of their own, so there the
rule stays per unit (the unit of the phase that dropped). The real service, the web app's wiring
(which sources are units), a real LiveState and SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from solarmon.alerts.defaults import default_rules
from solarmon.alerts.delivery import Delivery
from solarmon.alerts.scope import rule_values
from solarmon.alerts.service import AlertService
from solarmon.alerts.store import AlertStore
from solarmon.web.alerts import unit_of_system
from solarmon.web.history.schema import connect, migrate
from solarmon.web.state import LiveState, SourceUpdate

UNITS = ("sys-unit0", "sys-unit1", "sys-unit2")
BASE = {"system_units_expected": 3, "system_units_answering": 3, "system_units_faulted": 0,
        "system_totals_complete": 1, "faults_active": 0, "device_mode": "Line"}
PHASE_MODES = ("Phase 1 of 3 Phase output", "Phase 2 of 3 Phase output", "Phase 3 of 3 Phase output")
FAST = {"grid_lost": {"for_s": 0, "clear": {"above": 180, "for_s": 0}}}


class Site:
    """A system of three units in a live state, on a clock the test moves."""

    def __init__(self, layout: str, db: Path | None = None) -> None:
        self.now = 1000.0
        self.layout = layout
        self.state = LiveState(clock=lambda: self.now)
        self.service = AlertService(tuple(default_rules(FAST)), state=self.state, store=AlertStore(db),
                                    delivery=Delivery([]), notify_interval_s=0, clock=lambda: self.now,
                                    unit_of_system=unit_of_system(self.state))
        self.service.store.open()

    def grid(self, volts: tuple[float, float, float]) -> list[tuple[str, str, str]]:
        """Every unit reads ``volts[n]`` on its AC input (the system: their mean, or one per phase);
        the transitions of the next evaluation."""
        self.now += 1
        if self.layout == "parallel":
            system = {**BASE, "system_ac_input_voltage": sum(volts) / 3, "system_ac_input_frequency": 50.0}
            modes = ("parallel output",) * 3
        else:
            system = {**BASE, "system_ac_input_frequency": 50.0,
                      **{f"phase_l{n + 1}_ac_input_voltage": v for n, v in enumerate(volts)}}
            modes = PHASE_MODES
        self.state.apply(SourceUpdate("inverter:sys", self.now, system,
                                      units={"system_ac_input_voltage": "V"}, scope="source"))
        for unit, mode, v in zip(UNITS, modes, volts, strict=True):
            values: dict[str, Any] = {"output_mode": mode, "device_mode": "Line", "fault_code": "No fault",
                                      "ac_input_voltage": v, "ac_input_frequency": 50.0 if v else 0.0}
            self.state.apply(SourceUpdate(f"inverter:{unit}", self.now, values,
                                          units={"ac_input_voltage": "V"}, scope="source"))
        return sorted((t.rule.name, t.source, t.kind) for t in self.service.tick())


def test_a_parallel_systems_grid_is_lost_once_on_the_system() -> None:
    site = Site("parallel")
    try:
        assert site.grid((230.0, 231.0, 229.0)) == []  # the grid was there: the rule is armed
        assert site.grid((0.0, 0.0, 0.0)) == [("grid_lost", "inverter:sys", "fired")]
        (active,) = site.service.store.active()
        assert active["message"] == "Grid lost on sys (input 0V)"
        assert site.grid((230.0, 230.0, 230.0)) == [("grid_lost", "inverter:sys", "cleared")]
    finally:
        site.service.store.close()


def test_a_three_phase_systems_phase_is_lost_on_its_unit() -> None:
    site = Site("three-phase")
    try:
        assert site.grid((230.0, 231.0, 229.0)) == []
        assert site.grid((230.0, 0.0, 229.0)) == [("grid_lost", "inverter:sys-unit1", "fired")]
        assert site.grid((0.0, 0.0, 0.0)) == [("grid_lost", "inverter:sys-unit0", "fired"),
                                             ("grid_lost", "inverter:sys-unit2", "fired")]
    finally:
        site.service.store.close()


def test_what_the_rules_see_of_the_grid() -> None:
    unit = {"ac_input_voltage": 0.0, "ac_input_frequency": 0.0, "output_mode": "parallel output"}
    phase = {**unit, "output_mode": "Phase 2 of 3 Phase output"}
    assert rule_values(unit, {}, unit_of_system=True)[0] == {"output_mode": "parallel output"}
    assert rule_values(phase, {}, unit_of_system=True)[0] == phase
    assert rule_values(unit, {}, unit_of_system=False)[0] == unit  # an inverter of its own
    system = {"system_units_expected": 3, "system_ac_input_voltage": 229.5, "system_ac_input_frequency": 50.0}
    assert rule_values(system, {}, unit_of_system=False)[0] == {
        **system, "ac_input_voltage": 229.5, "ac_input_frequency": 50.0}
    three = {"system_units_expected": 3, "phase_l1_ac_input_voltage": 230.0,
             "system_ac_input_frequency": 50.0}
    assert rule_values(three, {}, unit_of_system=False)[0] == three


def test_a_units_grid_alert_from_before_is_handed_over_to_the_parallel_system(tmp_path: Path) -> None:
    """grid_lost active on a parallel system's unit (from before its grid was watched on the system)
    closes: no rule watches that unit's copy of the grid any more, so it would never clear."""
    db = tmp_path / "history.db"
    conn = connect(db)
    migrate(conn)
    conn.close()
    earlier = Site("parallel", db)
    (rule,) = [r for r in earlier.service.rules if r.name == "grid_lost"]
    earlier.service.evaluator.restore("grid_lost", "inverter:sys-unit0", 900.0)
    earlier.service.store.fire(earlier.service.evaluator._transition(
        rule, "inverter:sys-unit0", "fired", 900.0, 0.0, "V", {}))
    earlier.service.store.close()
    site = Site("parallel", db)
    try:
        site.service._restore()
        assert ("grid_lost", "inverter:sys-unit0") in site.service.evaluator.firing()
        site.grid((0.0, 0.0, 0.0))
        active = {(row["rule"], row["source"]) for row in site.service.store.active()}
    finally:
        site.service.store.close()
    assert ("grid_lost", "inverter:sys-unit0") not in active
    assert ("grid_lost", "inverter:sys-unit0") not in site.service.evaluator.firing()
