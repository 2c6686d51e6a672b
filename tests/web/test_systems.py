"""solarmon/web/systems.py by tables: which devices are units of which system, and the system block
over snapshots as the live state hands them out (a unit down, a unit never heard of, no totals)."""

from __future__ import annotations

from solarmon.web.state import LiveState, SourceUpdate
from solarmon.web.systems import describe, member_of, units_of

SYSTEM_VALUES = {"system_units_expected": 2, "system_units_answering": 2, "system_units_faulted": 0,
                 "system_totals_complete": 1, "system_pv_power": 900.0, "system_load_power": 500,
                 "system_charge_power": 100.0, "system_discharge_power": 0.0, "system_battery_power": 100.0,
                 "system_grid_power": 321.5, "system_battery_voltage": 50.05,
                 "system_battery_capacity": 80, "system_ac_input_voltage": 0.0, "system_ac_output_load": 7}
UNIT_VALUES = {"output_mode": "parallel output", "device_mode": "Battery", "fault_code": "No fault",
               "ac_output_active_power": 250, "ac_output_load": 5, "ac_input_voltage": 0.0,
               "battery_voltage": 50.0, "battery_charging_current": 1, "pv_input_voltage": 100.0,
               "pv_input_current": 4.5}
KINDS = {"output_mode": "enum", "device_mode": "enum", "fault_code": "enum", **dict.fromkeys(
    ("ac_output_active_power", "ac_output_load", "battery_voltage", "battery_charging_current",
     "pv_input_voltage", "pv_input_current", "ac_input_voltage"), "measurement")}


def test_units_are_named_by_the_daemons_label_rule() -> None:
    assert units_of(["sys", "sys-unit1", "sys-unit0", "main"]) == {"sys": ["sys-unit0", "sys-unit1"]}
    assert units_of(["x-unit1", "main"]) == {}  # no system "x" beside it: an ordinary inverter
    assert units_of(["a-b", "a-b-unit0"]) == {"a-b": ["a-b-unit0"]}
    assert member_of("sys-unit1", {"sys": ["sys-unit0", "sys-unit1"]}) == "sys"
    assert member_of("main", {"sys": ["sys-unit0"]}) is None


def _state(unit1_up: bool, complete: bool) -> LiveState:
    state = LiveState(clock=lambda: 1000.0)
    counts = {k: v for k, v in SYSTEM_VALUES.items() if k.startswith("system_units")}
    values = dict(SYSTEM_VALUES) if complete else {**counts, "system_totals_complete": 0}
    state.apply(SourceUpdate("inverter:sys", 1000.0, values, scope="source"))
    state.apply(SourceUpdate("inverter:sys-unit0", 1000.0, UNIT_VALUES, kinds=KINDS, scope="source"))
    state.apply(SourceUpdate("inverter:sys-unit1", 1000.0, UNIT_VALUES if unit1_up else {},
                             kinds=KINDS, ok=unit1_up, error=None if unit1_up else "down", scope="source"))
    return state


def _block(state: LiveState) -> dict:
    snaps = state.snapshots()
    return describe("sys", snaps["inverter:sys"], ["sys-unit0", "sys-unit1"], snaps)


def test_the_flow_is_the_systems_totals_while_every_unit_answers() -> None:
    block = _block(_state(unit1_up=True, complete=True))
    assert block["totals_complete"] is True
    # The daemon's system values, mapped: the grid is system_grid_power (system.py adds up each unit's
    # catalog.derive estimate), not the units' own estimates summed again here (0 W: battery mode).
    assert block["flow"] == {"pv_power_total": 900.0, "load_power": 500.0, "battery_power": 100.0,
                             "grid_power": 321.5}
    assert [(u["up"], u["phase"], u["fault"], u["load_percent"]) for u in block["units"]] == [
        (True, None, None, 5.0), (True, None, None, 5.0)]
    assert block["layout"] == "parallel"
    tiles = block["tiles"]  # the daemon's system values under the tiles' keys; none it lacks made up
    shown = ("battery_voltage", "battery_capacity", "ac_input_voltage", "ac_output_active_power",
             "ac_output_load", "pv_input_voltage")
    assert [tiles[key] for key in shown] == [50.05, 80, 0.0, 500, 7, None]
    assert "bus_voltage" in block["unreported"]
    # Which system value each shown key is: the keys of the system's history a page charts.
    assert block["keys"]["battery_voltage"] == "system_battery_voltage"
    assert block["keys"]["battery_power"] == "system_battery_power"
    assert block["keys"]["ac_output_voltage"] == "system_ac_output_voltage"


def test_a_flow_value_the_daemon_did_not_write_is_not_made_up() -> None:
    state = _state(unit1_up=True, complete=True)
    left_out = ("system_grid_power", "system_battery_power")
    written = {k: v for k, v in SYSTEM_VALUES.items() if k not in left_out}
    state.apply(SourceUpdate("inverter:sys", 1000.0, written, scope="source"))
    assert _block(state)["flow"] == {"pv_power_total": 900.0, "load_power": 500.0}


def test_a_unit_down_is_shown_and_no_total_is_given() -> None:
    # Even if a file said complete, a unit the web app sees down withholds the totals.
    block = _block(_state(unit1_up=False, complete=True))
    assert (block["totals_complete"], block["flow"], block["missing"]) == (False, {}, ["sys-unit1"])
    assert block["units"][1]["up"] is False
    assert block["units"][1]["error"] == "down"
    assert set(block["tiles"].values()) == {None}  # every tile withheld, none dropped from the list
    block = _block(_state(unit1_up=True, complete=False))
    assert (block["totals_complete"], block["flow"]) == (False, {})
    assert set(block["tiles"].values()) == {None}


def test_a_three_phase_systems_voltages_are_per_phase() -> None:
    state = _state(unit1_up=True, complete=True)
    phased = {**UNIT_VALUES, "output_mode": "Phase 1 of 3 Phase output"}
    state.apply(SourceUpdate("inverter:sys-unit0", 1000.0, phased, kinds=KINDS, scope="source"))
    per_phase = {f"phase_l{n}_ac_output_voltage": 229.0 + n for n in (1, 2, 3)}
    state.apply(SourceUpdate("inverter:sys", 1000.0, {**SYSTEM_VALUES, **per_phase}, scope="source"))
    tiles = _block(state)["tiles"]
    assert tiles["ac_output_voltage"] == {"L1": 230.0, "L2": 231.0, "L3": 232.0}
    assert tiles["ac_input_voltage"] is None  # no per-phase grid voltages: withheld, not a mean
    assert "ac_output_voltage" not in _block(state)["keys"]  # per phase: no one system key


def test_a_plain_inverter_has_no_block() -> None:
    state = LiveState(clock=lambda: 1000.0)
    state.apply(SourceUpdate("inverter:main", 1000.0, UNIT_VALUES, scope="source"))
    snaps = state.snapshots()
    assert describe("main", snaps["inverter:main"], [], snaps) is None
