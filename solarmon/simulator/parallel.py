"""A parallel or three-phase PI30 system behind one cable: ``--units N --layout parallel|three-phase``.

The units share one battery bank and one grid; the whole system is one :class:`PlantModel` with
the profile's hardware multiplied by N (load, PV, battery), and each unit's picture is that
system's split (PROTOCOLS-QPGS.md): in a parallel system every working unit carries its share of
the load (weights within a few percent of each other, as current sharing does); in a three-phase
system unit i is on phase L1, L2, L3 in turn and the units of a phase share that phase's load,
the phases loaded unevenly and drifting through the day. Each unit has its own PV array.

A unit can fault (it reports the fault code and work mode F, carries nothing, and the others
take its share) or drop out (it no longer answers its ``QPGSn``: NAK). The unit on the cable is
unit 0: it answers every single-unit query with its own share (QPIGS) or the system's (QPIRI,
QPIWS...).
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
from dataclasses import dataclass

from solarmon.inverter import unit_settings
from solarmon.inverter.errors import SettingRejected
from solarmon.inverter.setters import validate_setting
from solarmon.simulator import replies
from solarmon.simulator.clock import Clock
from solarmon.simulator.inverter import ACK, NAK, Answer, Inverter
from solarmon.simulator.profiles import Profile
from solarmon.simulator.replies import Reply
from solarmon.simulator.settings import Settings, apply_unit_setting

LAYOUTS = ("parallel", "three-phase")
MAX_UNITS = 9
PARALLEL_MODE = 1  # QPIRI / QPGS output mode codes
PHASE_MODES = (2, 3, 4)  # L1, L2, L3
_PHASE_BASE = (0.40, 0.34, 0.26)  # typical uneven single-phase loads on a three-phase supply
# QPIGS token positions that are a unit's own share (PI30.md §3).
_SHARE_TOKENS = {4: "ac_output_apparent_power", 5: "ac_output_active_power", 6: "ac_output_load",
                 9: "battery_charging_current", 12: "pv_input_current_for_battery",
                 15: "battery_discharge_current", 19: "pv_input_power"}


@dataclass(frozen=True)
class _UnitView:
    """What QPIRI's reply builder reads of a model: one unit's profile and the shared settings."""

    profile: Profile
    settings: object


@dataclass
class Unit:
    """One unit: its serial, its weights in the split, and whether it is faulted or gone."""

    index: int
    serial: str
    load_weight: float
    pv_weight: float
    output_mode: int
    fault_code: str = "00"
    present: bool = True
    # The unit's own settings (PROTOCOLS-QPGS.md §4); unit 0's are the model's (QPIRI).
    settings: Settings | None = None

    @property
    def working(self) -> bool:
        """Carries load and charges: present and not faulted."""
        return self.present and self.fault_code == "00"


def check_layout(units: int, layout: str) -> None:
    """Raise ValueError unless ``units`` and ``layout`` make a system the vendor allows."""
    if layout not in LAYOUTS:
        raise ValueError(f"--layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    least = 3 if layout == "three-phase" else 1
    if not least <= units <= MAX_UNITS:
        raise ValueError(f"--units for a {layout} system must be {least}-{MAX_UNITS}, got {units}")


class ParallelSystem(Inverter):
    """N PI30 units on one bus, answering through unit 0. Thread-safe like :class:`Inverter`."""

    def __init__(self, profile: Profile, seed: int, clock: Clock, units: int, layout: str) -> None:
        check_layout(units, layout)
        system = dataclasses.replace(
            profile, rated_va=profile.rated_va * units, rated_w=profile.rated_w * units,
            battery_ah=profile.battery_ah * units, pv_peak_w=profile.pv_peak_w * units,
            pv2_peak_w=profile.pv2_peak_w * units)
        super().__init__(system, seed, clock)
        self.unit_profile = profile
        self.layout = layout
        rng = random.Random(seed ^ 0x9A4A)
        self.units = [
            Unit(index=i, serial=f"{profile.serial_prefix}{rng.randrange(10**10):010d}",
                 load_weight=1.0 + rng.uniform(-0.03, 0.03), pv_weight=1.0 + rng.uniform(-0.15, 0.15),
                 output_mode=PHASE_MODES[i % 3] if layout == "three-phase" else PARALLEL_MODE)
            for i in range(units)
        ]
        self.serial = self.units[0].serial
        self.model.settings.output_mode = self.units[0].output_mode
        for unit in self.units[1:]:
            unit.settings = self.model.settings.copy()
        self.unit_lock = threading.Lock()

    # --- control ----------------------------------------------------------------------------

    def set_unit(self, index: int, *, fault_code: str | None = None, present: bool | None = None) -> None:
        """Fault a unit (``fault_code`` "00" clears) or take it off / put it back on the bus."""
        if not 0 <= index < len(self.units):
            raise ValueError(f"no unit {index}: the system has units 0-{len(self.units) - 1}")
        if fault_code is not None and not (len(fault_code) == 2 and fault_code.isdigit()):
            raise ValueError(f"a fault code is two digits, got {fault_code!r}")
        with self.unit_lock:
            unit = self.units[index]
            if fault_code is not None:
                unit.fault_code = fault_code
            if present is not None:
                unit.present = present

    def unit_settings(self, index: int) -> Settings:
        """Unit ``index``'s settings: the host's (what QPIRI reports) for unit 0, else its own."""
        return self.units[index].settings or self.model.settings

    def _set(self, command: str) -> Answer:
        """A setter addressed to a unit (MCHGC<u><nn>, PPCP<u><nn>...) goes to that unit over the bus;
        a NAK for a unit that is not there or a value off the unit's list. Others go to the host."""
        found = unit_settings.addressed(command)
        if found is None:
            return super()._set(command)
        try:
            command = validate_setting(command, ratings=self.ratings(), currents=self.currents())
        except SettingRejected as exc:
            return Answer(command, NAK, str(exc))
        with self.unit_lock:
            if found.unit >= len(self.units) or not self.units[found.unit].present:
                return Answer(command, NAK, f"no unit {found.unit} on the bus")
            error = apply_unit_setting(self.unit_settings(found.unit), self.unit_profile, found)
        if error is not None:
            return Answer(command, NAK, error)
        self.model.config_changed = True
        self.model.advance(0.0)
        return Answer(command, ACK)

    # --- the split --------------------------------------------------------------------------

    def _phase_fractions(self) -> tuple[float, float, float]:
        hours = self.model.now.hour + self.model.now.minute / 60.0
        drift = [0.05 * math.sin((hours + 5.0 * p) / 24.0 * 2.0 * math.pi) for p in range(3)]
        raw = [base + d for base, d in zip(_PHASE_BASE, drift, strict=True)]
        total = sum(raw)
        return (raw[0] / total, raw[1] / total, raw[2] / total)

    def unit_values(self) -> list[dict[str, float | int | bool | str]]:
        """Every unit's live values (mppsolar's QPIGS names plus QPGS's own), system split applied."""
        live = self.model.live_values()
        with self.unit_lock:
            units = [dataclasses.replace(u) for u in self.units]
        working = [u for u in units if u.working]
        load_share = dict.fromkeys(range(len(units)), 0.0)
        if self.layout == "three-phase":
            fractions = self._phase_fractions()
            for phase, mode in enumerate(PHASE_MODES):
                members = [u for u in working if u.output_mode == mode]
                weight = sum(u.load_weight for u in members)
                for u in members:
                    load_share[u.index] = fractions[phase] * u.load_weight / weight
        else:
            weight = sum(u.load_weight for u in working)
            for u in working:
                load_share[u.index] = u.load_weight / weight
        pv_weight = sum(u.pv_weight for u in working)
        out = []
        for u in units:
            load, pv = load_share[u.index], (u.pv_weight / pv_weight if u.working else 0.0)
            watts = live["ac_output_active_power"] * load
            out.append({
                **live,
                "serial_number": u.serial,
                "fault_code": u.fault_code,
                "work_mode": self.model.mode if u.working else "F",
                "output_mode": u.output_mode,
                "present": u.present,
                "ac_output_apparent_power": live["ac_output_apparent_power"] * load,
                "ac_output_active_power": watts,
                "ac_output_load": 100.0 * max(
                    watts / self.unit_profile.rated_w,
                    live["ac_output_apparent_power"] * load / self.unit_profile.rated_va),
                "battery_charging_current": live["battery_charging_current"] * pv,
                "battery_discharge_current": live["battery_discharge_current"] * load,
                "pv_input_current_for_battery": live["pv_input_current_for_battery"] * pv,
                "pv_input_power": live["pv_input_power"] * pv,
                "pv_input_current": live["pv_input_power"] * pv / live["pv_input_voltage"]
                if live["pv_input_voltage"] else 0.0,
                "pv_input_voltage": live["pv_input_voltage"] if pv else 0.0,
                "is_load_on": watts > 0,
                "is_scc_ok": u.working,
                "is_scc_charging_on": bool(live["is_scc_charging_on"]) and pv > 0,
            })
        return out

    # --- firmware ---------------------------------------------------------------------------

    def _query(self, command: str) -> Reply | None:
        if command.startswith("QPGS") and command[4:].isdigit() and len(command) == 5:
            return self._qpgs(int(command[4:]))
        if command == "QPIRI":
            # The host's nameplate is one unit's, not the system's; its settings are the system's.
            self.model.config_changed = False
            return replies.qpiri(_UnitView(self.unit_profile, self.model.settings))  # type: ignore[arg-type]
        reply = super()._query(command)
        if command == "QPIGS" and reply is not None:
            return self._own_share(reply)
        return reply

    def _own_share(self, reply: Reply) -> Reply:
        """QPIGS of unit 0: the system's reply with the share fields of unit 0."""
        mine = self.unit_values()[0]
        tokens = reply.payload.split()
        values = dict(reply.values)
        for position, name in _SHARE_TOKENS.items():
            if position >= len(tokens):
                continue
            old = tokens[position]
            decimals = len(old.split(".")[1]) if "." in old else 0
            number = round(float(mine[name]), decimals)
            text = f"{number:0{len(old)}.{decimals}f}" if decimals else f"{round(number):0{len(old)}d}"
            tokens[position] = text
            values[name] = replies._read_back(text)
        return Reply(" ".join(tokens), values)

    def _qpgs(self, index: int) -> Reply | None:
        everyone = self.unit_values()
        if index >= len(everyone) or not everyone[index]["present"]:
            return None  # nobody at that address: NAK
        v = everyone[index]
        working = [u for u in everyone if u["present"] and u["fault_code"] == "00"]
        total_w = sum(float(u["ac_output_active_power"]) for u in working)
        total_va = sum(float(u["ac_output_apparent_power"]) for u in working)
        total_charge = sum(float(u["battery_charging_current"]) for u in working)
        total_pct = 100.0 * total_w / (self.unit_profile.rated_w * max(1, len(working)))
        s, p = self.unit_settings(index), self.unit_profile
        status = "".join("1" if flag else "0" for flag in (
            v["is_scc_ok"], v["is_ac_charging_on"], v["is_scc_charging_on"], False, False,
            float(v["ac_input_voltage"]) < 90.0, v["is_load_on"], self.model.config_changed))
        fields: list[tuple[str, str]] = [
            ("parallel_instance_number", "1"),
            ("serial_number", str(v["serial_number"])),
            ("work_mode", str(v["work_mode"])),
            ("fault_code", str(v["fault_code"])),
            ("grid_voltage", f"{float(v['ac_input_voltage']):05.1f}"),
            ("grid_frequency", f"{float(v['ac_input_frequency']):05.2f}"),
            ("ac_output_voltage", f"{float(v['ac_output_voltage']):05.1f}"),
            ("ac_output_frequency", f"{float(v['ac_output_frequency']):05.2f}"),
            ("ac_output_apparent_power", f"{round(float(v['ac_output_apparent_power'])):04d}"),
            ("ac_output_active_power", f"{round(float(v['ac_output_active_power'])):04d}"),
            ("load_percentage", f"{round(float(v['ac_output_load'])):03d}"),
            ("battery_voltage", f"{float(v['battery_voltage']):04.1f}"),
            ("battery_charging_current", f"{round(float(v['battery_charging_current'])):03d}"),
            ("battery_capacity", f"{round(float(v['battery_capacity'])):03d}"),
            ("pv_input_voltage", f"{float(v['pv_input_voltage']):05.1f}"),
            ("total_charging_current", f"{round(total_charge):03d}"),
            ("total_ac_output_apparent_power", f"{round(total_va):05d}"),
            ("total_output_active_power", f"{round(total_w):05d}"),
            ("total_ac_output_percentage", f"{round(total_pct):03d}"),
            ("inverter_status", status),
            ("output_mode", str(v["output_mode"])),
            ("charger_source_priority", str(s.charger_priority)),
            ("max_charger_current", f"{s.max_charge_a:03d}"),
            ("max_charger_range", f"{max(p.charge_currents):03d}"),
            ("max_ac_charger_current", f"{s.max_ac_charge_a:02d}"),
            ("pv_input_current", f"{round(float(v['pv_input_current'])):02d}"),
            ("battery_discharge_current", f"{round(float(v['battery_discharge_current'])):03d}"),
        ]
        if p.pv2_peak_w:
            share = float(v["pv_input_power"]) / max(1.0, float(self.model.live_values()["pv_input_power"]))
            pv2_v = float(v["pv2_input_voltage"])
            pv2_a = float(v["pv2_input_current"]) * share
            fields += [("pv2_input_voltage", f"{pv2_v:05.1f}"), ("pv2_input_current", f"{round(pv2_a):02d}")]
        payload = " ".join(text for _name, text in fields)
        values = {name: replies._read_back(text) for name, text in fields}
        return Reply(payload, values)
