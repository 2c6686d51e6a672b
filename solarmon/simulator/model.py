"""The physical model of a PI30 inverter site: PV array, battery bank, household load, grid, and the
inverter's own decisions (which source feeds the load, who charges the battery, when it faults).

:class:`PlantModel` is deterministic for a seed: ``advance(seconds)`` integrates in small steps,
``snapshot()`` returns a JSON-able copy of the state, and :meth:`PlantModel.live_values` the live
numbers QPIGS reports (by mppsolar's field names). The control socket pins values or changes the
world through the public attributes and :meth:`PlantModel.pin`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from solarmon.simulator.bms_model import open_circuit_voltage as lifepo4_ocv
from solarmon.simulator.environment import Household, Weather
from solarmon.simulator.profiles import Profile
from solarmon.simulator.settings import Settings

MAX_STEP_S = 10.0
INVERTER_EFFICIENCY = 0.93
CHARGER_EFFICIENCY = 0.95
GRID_MIN_V = 170.0  # below this the unit calls the line failed (input range "Appliance")
OVERLOAD_PERCENT = 100
OVER_TEMPERATURE_C = 85.0
# QPIWS bit positions (PI30.md §3).
W_INVERTER_FAULT, W_LINE_FAIL, W_OVER_TEMPERATURE = 1, 5, 9
W_BATTERY_LOW, W_BATTERY_UNDER_SHUTDOWN, W_OVERLOAD, W_BATTERY_OPEN = 12, 14, 16, 22
# Pins that feed back into the model's decisions (others only change what QPIGS reports).
CORE_PINS = frozenset(
    {
        "battery_voltage",
        "battery_capacity",
        "pv_input_power",
        "ac_output_active_power",
        "ac_input_voltage",
        "inverter_heat_sink_temperature",
    }
)


@dataclass(slots=True)
class Battery:
    """A lead-acid (or LiFePO4) bank: state of charge, and terminal voltage from OCV, current and
    internal resistance."""

    cells: int
    capacity_ah: float
    soc: float = 0.8
    current_a: float = 0.0  # + charging, - discharging
    voltage: float = 0.0
    floating: bool = False
    chemistry: str = "lead-acid"  # or "lifepo4": 3.2 V cells, the BMS simulator's voltage curve

    @property
    def r_ohm(self) -> float:
        """Internal resistance of the bank: 1.25 mOhm a cell for a 200 Ah bank."""
        return self.cells * 0.00125 * 200.0 / self.capacity_ah

    def ocv(self) -> float:
        """Open-circuit voltage: steep near empty, flat in the middle, like a rested lead-acid bank
        (a LiFePO4 bank: the same cell curve as the BMS simulator's, flatter still)."""
        if self.chemistry == "lifepo4":
            return self.cells * lifepo4_ocv(self.soc)
        return self.cells * (1.80 + 0.33 * math.sqrt(max(0.0, self.soc)))

    @property
    def knee_a(self) -> float:
        """Charging current (2 % of C) up to which the gassing voltage builds up."""
        return 0.02 * self.capacity_ah

    def gassing_v(self) -> float:
        """Full gassing overvoltage at this state of charge: none below 80 %, ~0.22 V a cell when full
        (lead-acid only: a lithium cell does not gas)."""
        if self.chemistry == "lifepo4":
            return 0.0
        return self.cells * 0.22 * max(0.0, (self.soc - 0.8) / 0.2) ** 2

    def terminal_v(self, current_a: float) -> float:
        """Terminal voltage with ``current_a`` flowing (+ charging): OCV, IR drop, gassing or sag."""
        if current_a > 0:
            return self.ocv() + current_a * self.r_ohm + self.gassing_v() * min(1.0, current_a / self.knee_a)
        sag = self.cells * 0.08 * max(0.0, (0.15 - self.soc) / 0.15) ** 2 if current_a < 0 else 0.0
        return self.ocv() + current_a * self.r_ohm - sag

    def acceptance_a(self, target_v: float, limit_a: float) -> float:
        """Current the bank takes with the charger holding ``target_v`` (tapers to a trickle when full)."""
        headroom = target_v - self.ocv()
        if headroom <= 0.0:
            return 0.0
        current = headroom / (self.r_ohm + self.gassing_v() / self.knee_a)
        if current > self.knee_a:
            current = (headroom - self.gassing_v()) / self.r_ohm
        return max(0.0, min(limit_a, current))

    def flow(self, current_a: float, dt_s: float) -> None:
        """Move ``current_a`` through the bank for ``dt_s`` seconds and update voltage."""
        self.current_a = current_a
        # Lead-acid loses some charge to gassing; a LiFePO4 cell keeps nearly all (as its BMS counts).
        efficiency = CHARGER_EFFICIENCY if current_a > 0 and self.chemistry != "lifepo4" else 1.0
        self.soc = min(1.0, max(0.0, self.soc + current_a * efficiency * dt_s / 3600.0 / self.capacity_ah))
        self.voltage = self.terminal_v(current_a)


@dataclass(slots=True)
class Flows:
    """What happened in the last step, in the units QPIGS reports."""

    pv_w: float = 0.0
    pv_v: float = 0.0
    pv2_w: float = 0.0
    pv2_v: float = 0.0
    load_w: float = 0.0
    load_va: float = 0.0
    grid_v: float = 230.0
    grid_hz: float = 50.0
    ac_charge_w: float = 0.0
    scc_charging: bool = False
    heat_sink_c: float = 30.0
    bus_v: float = 390.0
    # Measurement noise, drawn once per time step so re-reading the same instant gives the same values.
    grid_noise_v: float = 0.0
    hz_noise: float = 0.0
    bus_noise_v: float = 0.0
    flicker: float = 1.0


@dataclass(slots=True)
class PlantModel:
    """The whole site; build it with :meth:`create`."""

    profile: Profile
    now: datetime
    settings: Settings
    rng: random.Random
    battery: Battery
    weather: Weather = field(default_factory=Weather)
    household: Household = field(default_factory=Household)
    flows: Flows = field(default_factory=Flows)
    mode: str = "L"
    grid_available: bool = True
    fault: str | None = None  # set by the control socket: "inverter", "overtemp", "battery_open", ...
    undervoltage: bool = False
    warnings: set[int] = field(default_factory=set)
    config_changed: bool = False
    pins: dict[str, float] = field(default_factory=dict)
    energy: dict[date, list[float]] = field(default_factory=dict)  # day -> [pv Wh, load Wh]
    lifetime_pv_wh: float = 0.0
    lifetime_load_wh: float = 0.0

    @classmethod
    def create(cls, profile: Profile, seed: int, start: datetime) -> PlantModel:
        """A site for ``profile`` at ``start``, its weather and loads drawn from ``seed``."""
        rng = random.Random(seed)
        battery = Battery(cells=profile.cells, capacity_ah=profile.battery_ah, soc=rng.uniform(0.55, 0.9),
                          chemistry=profile.battery_chemistry)
        model = cls(
            profile=profile,
            now=start,
            settings=Settings.for_site(profile),
            rng=rng,
            battery=battery,
            household=Household(scale=profile.rated_w / 5000.0),
            lifetime_pv_wh=rng.uniform(1.0e6, 4.0e6),
            lifetime_load_wh=rng.uniform(1.0e6, 4.0e6),
        )
        model.weather.cloud = rng.uniform(0.0, 0.6)
        battery.flow(0.0, 0.0)
        model.advance(1.0)
        return model

    def pin(self, name: str, value: float | None) -> None:
        """Hold the QPIGS value ``name`` at ``value`` (None releases it) and re-evaluate the state."""
        if value is None:
            self.pins.pop(name, None)
        else:
            self.pins[name] = float(value)
        self.advance(0.0)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass (in steps of at most MAX_STEP_S)."""
        remaining = max(0.0, seconds)
        while True:
            dt = min(remaining, MAX_STEP_S)
            self._step(dt)
            remaining -= dt
            if remaining <= 1e-9:
                return

    def advance_to(self, when: datetime) -> None:
        """Advance to the simulated time ``when`` (never backwards)."""
        self.advance((when - self.now).total_seconds())

    def _step(self, dt: float) -> None:
        self.now += timedelta(seconds=dt)
        self.weather.step(self.rng, dt)
        self.household.step(self.rng, dt)
        flows, pins = self.flows, self.pins
        if dt > 0:
            flows.grid_noise_v = 0.5 * self.rng.gauss(0, 1)
            flows.hz_noise = 0.05 * self.rng.gauss(0, 1)
            flows.bus_noise_v = self.rng.uniform(-2.0, 2.0)
            flows.flicker = 1.0 + 0.02 * self.rng.gauss(0.0, 1.0)
        if "battery_capacity" in pins:
            self.battery.soc = min(1.0, max(0.0, pins["battery_capacity"] / 100.0))
        fraction = self.weather.pv_fraction(self.now, flows.flicker)
        pv_avail = self.profile.pv_peak_w * fraction
        pv2_avail = self.profile.pv2_peak_w * fraction
        if "pv_input_power" in pins:
            pv_avail, pv2_avail = pins["pv_input_power"], 0.0
        grid_v = 0.0
        if self.grid_available:
            grid_v = 230.0 + 3.0 * math.sin(self.now.timestamp() / 900.0) + flows.grid_noise_v
        grid_v = pins.get("ac_input_voltage", grid_v)
        grid_ok = grid_v >= GRID_MIN_V
        demand = pins.get("ac_output_active_power", self.household.demand_w(self.now))
        self._decide_mode(pv_avail + pv2_avail, demand, grid_ok)
        self._flow(dt, pv_avail, pv2_avail, demand, grid_ok, fraction)
        flows.grid_v = grid_v
        flows.grid_hz = 50.0 + flows.hz_noise if grid_ok else 0.0
        load_percent = 100.0 * max(flows.load_w / self.profile.rated_w, flows.load_va / self.profile.rated_va)
        target_c = 28.0 + 40.0 * load_percent / 100.0 + 0.15 * max(0.0, self.battery.current_a)
        flows.heat_sink_c += (target_c - flows.heat_sink_c) * min(1.0, dt / 600.0)
        flows.heat_sink_c = pins.get("inverter_heat_sink_temperature", flows.heat_sink_c)
        if "battery_voltage" in pins:
            self.battery.voltage = pins["battery_voltage"]
        self._account(dt)
        self._update_warnings(grid_ok, load_percent)

    def _decide_mode(self, pv_w: float, demand_w: float, grid_ok: bool) -> None:
        """Which source feeds the load, by output source priority, with the unit's hysteresis."""
        s, volts = self.settings, self.battery.voltage
        if self.fault is not None:
            self.mode = "F"
            return
        if self.undervoltage and volts >= s.recharge_v + 0.1 * self.profile.battery_class_v / 12.0:
            self.undervoltage = False
        elif not self.undervoltage and volts < s.cutoff_v and self.mode == "B":
            self.undervoltage = True
        if not grid_ok:
            self.mode = "F" if self.undervoltage else "B"
        elif self.undervoltage or s.output_priority == 0:
            self.mode = "L"
        elif s.output_priority == 1:
            self.mode = "B" if pv_w * INVERTER_EFFICIENCY >= demand_w + 50.0 else "L"
        elif self.mode == "B" and volts < s.recharge_v:
            self.mode = "L"
        elif self.mode != "B":
            full = self.battery.floating if s.redischarge_v == 0.0 else volts >= s.redischarge_v
            self.mode = "B" if full else "L"

    def _flow(self, dt: float, pv_w: float, pv2_w: float, demand: float, grid_ok: bool, frac: float) -> None:
        """Balance PV, battery, grid and load for one step; set battery current and flows."""
        s, battery, flows = self.settings, self.battery, self.flows
        volts = max(battery.voltage, 1.0)
        output_on = self.mode in ("L", "B")
        load_w = demand if output_on else 0.0
        if battery.floating and battery.soc < 0.9:
            battery.floating = False
        target = s.float_v if battery.floating else s.bulk_v
        accept_w = battery.acceptance_a(target, float(s.max_charge_a)) * volts
        if self.fault is not None:
            accept_w = 0.0  # a tripped unit charges nothing (a battery-under shutdown still solar-charges)
        pv_total = pv_w + pv2_w
        ac_charge_w = 0.0
        if self.mode == "B":
            pv_to_load = min(pv_total, load_w / INVERTER_EFFICIENCY)
            pv_to_battery = min(pv_total - pv_to_load, accept_w)
            idle_w = 0.007 * self.profile.rated_w
            battery_w = pv_to_battery - (load_w / INVERTER_EFFICIENCY - pv_to_load) - idle_w
        else:
            pv_to_battery = min(pv_total, accept_w)
            pv_to_load = 0.0
            ac_allowed = grid_ok and (
                s.charger_priority in (0, 2) or (s.charger_priority == 1 and pv_total < 0.1 * accept_w)
            )
            if ac_allowed:
                ac_cap_w = s.max_ac_charge_a * volts
                ac_charge_w = max(0.0, min(ac_cap_w, accept_w - pv_to_battery))
            battery_w = pv_to_battery + ac_charge_w
        used = pv_to_load + pv_to_battery
        share = pv_w / pv_total if pv_total > 0 else 1.0
        flows.pv_w, flows.pv2_w = used * share, used * (1.0 - share)
        flows.pv_v = self._pv_voltage(frac, flows.pv_w)
        flows.pv2_v = self._pv_voltage(frac, flows.pv2_w) if self.profile.pv2_peak_w else 0.0
        flows.ac_charge_w = ac_charge_w
        flows.scc_charging = pv_to_battery > 1.0
        flows.load_w = load_w
        flows.load_va = load_w / self.household.power_factor if load_w else 0.0
        flows.bus_v = 385.0 + 10.0 * (self.mode == "B") + flows.bus_noise_v
        battery.flow(battery_w / volts, dt)
        if battery.soc >= 0.995 and battery.current_a > 0 and not battery.floating:
            battery.floating = True

    def _pv_voltage(self, fraction: float, used_w: float) -> float:
        """PV voltage: MPP while delivering, open-circuit when nothing is taken, 0 at night."""
        if fraction <= 0.0:
            return 0.0
        vmp = self.profile.pv_vmp * (0.9 + 0.1 * min(1.0, fraction * 3.0))
        return vmp if used_w > 1.0 else vmp * 1.22

    def _account(self, dt: float) -> None:
        """Integrate PV and load energy per day (the MAX profile's counters)."""
        pv_wh = (self.flows.pv_w + self.flows.pv2_w) * dt / 3600.0
        load_wh = self.flows.load_w * dt / 3600.0
        day = self.energy.setdefault(self.now.date(), [0.0, 0.0])
        day[0] += pv_wh
        day[1] += load_wh
        self.lifetime_pv_wh += pv_wh
        self.lifetime_load_wh += load_wh

    def _update_warnings(self, grid_ok: bool, load_percent: float) -> None:
        s, volts, warnings = self.settings, self.battery.voltage, set()
        low_margin = self.profile.battery_class_v / 24.0
        if not grid_ok:
            warnings.add(W_LINE_FAIL)
        if self.mode == "B" and volts < s.cutoff_v + low_margin:
            warnings.add(W_BATTERY_LOW)
        if self.undervoltage and self.mode == "F":
            warnings.add(W_BATTERY_UNDER_SHUTDOWN)
        if load_percent > OVERLOAD_PERCENT:
            warnings.add(W_OVERLOAD)
        if self.flows.heat_sink_c > OVER_TEMPERATURE_C:
            warnings.add(W_OVER_TEMPERATURE)
        if self.fault is not None:
            warnings.add(W_INVERTER_FAULT)
            warnings.update({"overtemp": {W_OVER_TEMPERATURE}, "overload": {W_OVERLOAD}}.get(self.fault, ()))
            if self.fault == "battery_open":
                warnings.add(W_BATTERY_OPEN)
        self.warnings = warnings

    def live_values(self) -> dict[str, float | int | bool]:
        """The live numbers QPIGS reports, by mppsolar's field names, with pins applied (unformatted)."""
        flows, battery, s = self.flows, self.battery, self.settings
        charging = max(0.0, battery.current_a)
        values: dict[str, Any] = {
            "ac_input_voltage": flows.grid_v,
            "ac_input_frequency": flows.grid_hz,
            "ac_output_voltage": (s.output_voltage + 0.3 * math.sin(self.now.timestamp() / 61.0))
            if flows.load_w or self.mode in ("L", "B")
            else 0.0,
            "ac_output_frequency": float(s.output_frequency) if self.mode in ("L", "B") else 0.0,
            "ac_output_apparent_power": flows.load_va,
            "ac_output_active_power": flows.load_w,
            "ac_output_load": 100.0
            * max(flows.load_w / self.profile.rated_w, flows.load_va / self.profile.rated_va),
            "bus_voltage": flows.bus_v,
            "battery_voltage": battery.voltage,
            "battery_charging_current": charging,
            "battery_capacity": 100.0 * battery.soc,
            "inverter_heat_sink_temperature": flows.heat_sink_c,
            "pv_input_current_for_battery": flows.pv_w / flows.pv_v if flows.pv_v else 0.0,
            "pv_input_voltage": flows.pv_v,
            "battery_voltage_from_scc": battery.voltage if flows.scc_charging else 0.0,
            "battery_discharge_current": max(0.0, -battery.current_a),
            "is_load_on": self.mode in ("L", "B") and flows.load_w > 0,
            "is_battery_voltage_to_steady_while_charging": charging > 0 and battery.floating,
            "is_charging_on": charging > 0.5,
            "is_scc_charging_on": flows.scc_charging,
            "is_ac_charging_on": flows.ac_charge_w > 1.0,
            "pv_input_power": flows.pv_w,
            "is_charging_to_float": battery.floating,
            "is_switched_on": self.mode in ("L", "B"),
            "pv2_input_voltage": flows.pv2_v,
            "pv2_input_current": flows.pv2_w / flows.pv2_v if flows.pv2_v else 0.0,
            "pv2_charging_power": flows.pv2_w,
        }
        if not values["is_charging_on"]:
            values["is_scc_charging_on"] = values["is_ac_charging_on"] = False
        values.update(self.pins)
        return values

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy of the state (for the control socket, the truth log and the web demo)."""
        return {
            "time": self.now.isoformat(),
            "profile": self.profile.name,
            "mode": self.mode,
            "soc_percent": round(100.0 * self.battery.soc, 2),
            "battery_voltage": round(self.battery.voltage, 3),
            "battery_current_a": round(self.battery.current_a, 3),
            "floating": self.battery.floating,
            "pv_w": round(self.flows.pv_w + self.flows.pv2_w, 1),
            "load_w": round(self.flows.load_w, 1),
            "ac_charge_w": round(self.flows.ac_charge_w, 1),
            "grid_available": self.grid_available,
            "cloudiness": round(self.weather.cloud, 3),
            "fault": self.fault,
            "warnings": sorted(self.warnings),
            "pins": dict(self.pins),
            "today_pv_wh": round(self.energy.get(self.now.date(), [0.0, 0.0])[0], 1),
            "today_load_wh": round(self.energy.get(self.now.date(), [0.0, 0.0])[1], 1),
        }
