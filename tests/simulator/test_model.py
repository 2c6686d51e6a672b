"""The physical model: sun and clouds, battery charge and discharge, mode changes, warnings, energy."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from solarmon.simulator.history import simulate_history
from solarmon.simulator.model import (
    W_BATTERY_LOW,
    W_BATTERY_UNDER_SHUTDOWN,
    W_INVERTER_FAULT,
    W_LINE_FAIL,
    W_OVERLOAD,
    PlantModel,
)
from solarmon.simulator.profiles import get_profile
from tests.simulator.conftest import MIDNIGHT, NOON, ask


def _model(start: datetime = NOON, profile: str = "axpert-5k", seed: int = 3) -> PlantModel:
    return PlantModel.create(get_profile(profile), seed, start)


def _clear_sky(model: PlantModel, cloudiness: float = 0.0) -> None:
    model.weather.pinned = True
    model.weather.cloud = cloudiness


def test_no_pv_at_night_and_plenty_at_a_clear_noon():
    night = _model(MIDNIGHT)
    assert night.live_values()["pv_input_power"] == 0
    assert night.live_values()["pv_input_voltage"] == 0
    day = _model(NOON)
    _clear_sky(day)
    day.battery.soc = 0.3  # room to charge, so the charger takes what the array gives
    day.advance(60)
    assert day.live_values()["pv_input_power"] > 0.5 * day.profile.pv_peak_w


def test_clouds_dim_the_array():
    clear, cloudy = _model(), _model()
    for model, cloud in ((clear, 0.0), (cloudy, 1.0)):
        _clear_sky(model, cloud)
        model.battery.soc = 0.3
        model.advance(60)
    assert cloudy.live_values()["pv_input_power"] < 0.5 * clear.live_values()["pv_input_power"]


def test_the_battery_charges_in_the_sun_and_discharges_at_night():
    day = _model(datetime(2026, 6, 21, 10, 0))
    _clear_sky(day)
    day.household.fixed_w = 300.0
    day.battery.soc = 0.4
    day.advance(7200)
    assert day.battery.soc > 0.5
    assert day.live_values()["battery_charging_current"] > 0

    night = _model(datetime(2026, 6, 21, 22, 0))
    night.household.fixed_w = 1500.0
    night.battery.soc = 0.9
    night.advance(3600)
    assert night.mode == "B"
    assert night.battery.soc < 0.9
    assert night.live_values()["battery_discharge_current"] > 20
    assert night.battery.voltage < night.battery.ocv()  # sag under load


def test_sbu_goes_to_the_grid_below_the_recharge_voltage_and_back_when_full():
    model = _model(MIDNIGHT)
    assert model.settings.output_priority == 2  # SBU
    model.pin("battery_voltage", model.settings.recharge_v - 1.0)
    model.advance(10)
    assert model.mode == "L"
    model.pin("battery_voltage", model.settings.redischarge_v + 0.5)
    model.advance(10)
    assert model.mode == "B"


def test_utility_first_stays_on_the_line():
    model = _model(NOON)
    model.settings.output_priority = 0
    model.advance(10)
    assert model.mode == "L"


def test_grid_loss_puts_the_unit_on_battery_and_raises_line_fail():
    model = _model(MIDNIGHT)
    model.settings.output_priority = 0
    model.grid_available = False
    model.advance(10)
    assert model.mode == "B"
    assert W_LINE_FAIL in model.warnings
    assert model.live_values()["ac_input_voltage"] == 0.0


def test_an_empty_battery_warns_then_shuts_down_then_recovers_on_the_grid():
    model = _model(MIDNIGHT)
    model.grid_available = False
    model.household.fixed_w = 2500.0
    model.battery.soc = 0.12
    low_seen = False
    for _ in range(360):
        model.advance(10)
        low_seen |= W_BATTERY_LOW in model.warnings
        if model.mode == "F":
            break
    assert low_seen
    assert model.mode == "F"
    assert W_BATTERY_UNDER_SHUTDOWN in model.warnings
    assert model.live_values()["ac_output_active_power"] == 0
    model.grid_available = True
    model.advance(10)
    assert model.mode == "L"


def test_a_tripped_fault_shows_as_mode_f_and_in_the_warnings(make_inverter):
    inverter = make_inverter()
    inverter.model.fault = "overload"
    assert ask(inverter, "QMOD").payload == "F"
    bits = ask(inverter, "QPIWS").payload
    assert bits[W_INVERTER_FAULT] == "1"
    assert bits[W_OVERLOAD] == "1"
    inverter.clock.jump(60)
    values = inverter.respond("QPIGS").reply.values
    assert values["battery_charging_current"] == 0  # a tripped unit neither charges...
    assert values["ac_output_active_power"] == 0  # ...nor feeds the load
    assert values["is_switched_on"] is False
    inverter.model.fault = None
    assert ask(inverter, "QMOD").payload in "LB"
    assert ask(inverter, "QPIWS").payload[W_INVERTER_FAULT] == "0"


def test_overload_warning_without_a_fault():
    model = _model(MIDNIGHT)
    model.household.fixed_w = 1.2 * model.profile.rated_w
    model.advance(10)
    assert W_OVERLOAD in model.warnings
    assert model.live_values()["ac_output_load"] > 100


@pytest.mark.parametrize(
    "name", ["battery_voltage", "pv_input_power", "bus_voltage", "ac_output_active_power"]
)
def test_pins_hold_what_qpigs_reports(make_inverter, name):
    inverter = make_inverter()
    inverter.model.pin(name, 123.0)
    assert inverter.respond("QPIGS").reply.values[name] == pytest.approx(123.0)
    inverter.clock.jump(600)
    assert inverter.respond("QPIGS").reply.values[name] == pytest.approx(123.0)
    inverter.model.pin(name, None)
    inverter.clock.jump(60)
    assert inverter.respond("QPIGS").reply.values[name] != pytest.approx(123.0)


def test_energy_counters_integrate_pv_and_load(make_inverter):
    inverter = make_inverter("max-8k", start=datetime(2026, 6, 21, 6, 0))
    before = int(ask(inverter, "QED20260621").payload)
    total_before = int(ask(inverter, "QET").payload)
    inverter.clock.jump(6 * 3600)
    pv_today = int(ask(inverter, "QED20260621").payload)
    assert pv_today > before + 1000
    assert int(ask(inverter, "QEM202606").payload) >= pv_today
    assert int(ask(inverter, "QEY2026").payload) >= pv_today
    assert int(ask(inverter, "QET").payload) >= total_before + (pv_today - before)
    assert int(ask(inverter, "QLD20260621").payload) > 0
    assert int(ask(inverter, "QED20250101").payload) == 0


def test_days_of_history_in_process_and_a_json_snapshot():
    model = _model(MIDNIGHT, profile="max-8k")
    modes = set()
    for _ in range(3 * 24):
        model.advance(3600)
        modes.add(model.mode)
    snapshot = json.loads(json.dumps(model.snapshot()))
    assert snapshot["time"].startswith("2026-06-24")
    assert 0 <= snapshot["soc_percent"] <= 100
    assert len(model.energy) == 4
    assert modes <= {"L", "B", "F"}


def test_simulated_history_polls_at_the_interval_and_follows_the_sun():
    samples = list(
        simulate_history(get_profile("axpert-5k"), seed=2, start=MIDNIGHT, hours=24, every_s=900)
    )
    assert len(samples) == 24 * 4 + 1
    assert samples[1].time - samples[0].time == timedelta(seconds=900)
    pv = {s.time.hour: s.replies["QPIGS"].values["pv_input_power"] for s in samples}
    assert pv[0] == 0
    assert pv[23] == 0
    assert max(pv.values()) > 500
    assert all(s.replies["QMOD"].payload in "LBF" for s in samples)
    again = list(simulate_history(get_profile("axpert-5k"), 2, MIDNIGHT, hours=24, every_s=900))
    assert [s.replies["QPIGS"].payload for s in again] == [s.replies["QPIGS"].payload for s in samples]
    with pytest.raises(ValueError, match="every_s"):
        next(simulate_history(get_profile("axpert-5k"), 2, MIDNIGHT, hours=1, every_s=0))
