"""A simulated battery pack as a BMS sees it: cells that drift apart, a balancer, protections.

Each cell has its own capacity (a few per cent apart, seeded) and self-discharge, so the same
current moves their states of charge apart: the cells drift. The balancer, while enabled and the
spread is over its trigger, moves charge from the highest cell to the lowest at its balancing
current and pulls them together again. A cell past its protection voltage trips the BMS's
protection (the MOSFET of that direction switches off); :meth:`BmsPack.trip` trips any protection on
demand and :meth:`BmsPack.clear` releases it. Time is passed in by the caller (:meth:`step`).
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field

# LiFePO4 open-circuit voltage by state of charge (0..1): a flat middle, steep ends.
_OCV_SOC = (0.0, 0.05, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90, 0.95, 0.98, 1.0)
_OCV_V = (2.50, 2.90, 3.10, 3.20, 3.25, 3.27, 3.29, 3.30, 3.31, 3.33, 3.36, 3.40, 3.48, 3.65)
CELL_RESISTANCE_OHM = 0.0006
PROTECTIONS = ("cell_overvoltage", "cell_undervoltage", "charge_overcurrent", "discharge_overcurrent",
               "battery_overtemperature", "mosfet_overtemperature", "cell_voltage_difference")


def open_circuit_voltage(soc: float) -> float:
    """A LiFePO4 cell's resting voltage at ``soc`` (0..1), linear between table points."""
    soc = min(1.0, max(0.0, soc))
    i = max(1, bisect.bisect_left(_OCV_SOC, soc))
    s0, s1 = _OCV_SOC[i - 1], _OCV_SOC[i]
    v0, v1 = _OCV_V[i - 1], _OCV_V[i]
    return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)


@dataclass
class BmsPack:
    """The pack's state; every number a BMS frame needs is a property or attribute here."""

    cells: int = 16
    capacity_ah: float = 280.0
    soc: float = 0.6
    seed: int = 0
    cell_overvoltage_v: float = 3.65
    cell_undervoltage_v: float = 2.60
    balance_trigger_v: float = 0.008
    balance_current_a: float = 1.0
    balancer_enabled: bool = True
    temperature_sensors: int = 2
    cycle_count: int = 17
    current_a: float = 0.0
    held_current_a: float | None = None
    clock_s: float = 0.0
    cell_soc: list[float] = field(default_factory=list)
    cell_capacity_ah: list[float] = field(default_factory=list)
    tripped: set[str] = field(default_factory=set)
    balancing_cells: tuple[int, int] | None = None  # (from, to), 0-based, while balancing

    def __post_init__(self) -> None:
        rng = random.Random(self.seed ^ 0xB575)
        self.cell_capacity_ah = [self.capacity_ah * (1 + rng.uniform(-0.05, 0.05))
                                 for _ in range(self.cells)]
        self.cell_soc = [min(1.0, max(0.0, self.soc + rng.uniform(-0.015, 0.015))) for _ in range(self.cells)]

    # --- what the BMS measures ----------------------------------------------------------------

    @property
    def cell_voltages(self) -> list[float]:
        """Each cell's voltage under the present current (V)."""
        drop = self.current_a * CELL_RESISTANCE_OHM
        return [round(open_circuit_voltage(s) + drop, 3) for s in self.cell_soc]

    @property
    def pack_voltage(self) -> float:
        """The sum of the cells (V)."""
        return round(sum(self.cell_voltages), 2)

    @property
    def pack_soc(self) -> float:
        """The BMS's coulomb-counted state of charge, 0..100 %."""
        return round(100 * sum(self.cell_soc) / self.cells, 1)

    @property
    def remaining_ah(self) -> float:
        """Charge left (Ah)."""
        return round(self.capacity_ah * self.pack_soc / 100, 2)

    @property
    def temperatures(self) -> list[float]:
        """Every temperature sensor (°C): warmer with current."""
        return [round(24.0 + i + abs(self.current_a) * 0.05, 1) for i in range(self.temperature_sensors)]

    @property
    def mos_temperature(self) -> float:
        """The MOSFETs' temperature (°C)."""
        return round(27.0 + abs(self.current_a) * 0.1, 1)

    @property
    def charge_mosfet(self) -> bool:
        """Charging allowed: off while a charge-side protection is tripped."""
        return not self.tripped & {"cell_overvoltage", "charge_overcurrent", "battery_overtemperature",
                                   "mosfet_overtemperature"}

    @property
    def discharge_mosfet(self) -> bool:
        """Discharging allowed: off while a discharge-side protection is tripped."""
        return not self.tripped & {"cell_undervoltage", "discharge_overcurrent", "battery_overtemperature",
                                   "mosfet_overtemperature"}

    @property
    def balancing(self) -> bool:
        """The balancer is moving charge now."""
        return self.balancing_cells is not None

    # --- time ---------------------------------------------------------------------------------

    def _profile_current(self) -> float:
        """Charge by day, discharge by night: a 2-hour simulated cycle, ±30 A."""
        return round(30.0 * math.sin(2 * math.pi * self.clock_s / 7200.0), 2)

    def step(self, seconds: float) -> None:
        """Advance ``seconds``: the current moves each cell's charge, the balancer evens them out."""
        self.clock_s += seconds
        current = self.held_current_a if self.held_current_a is not None else self._profile_current()
        if (current > 0 and not self.charge_mosfet) or (current < 0 and not self.discharge_mosfet):
            current = 0.0
        self.current_a = current
        hours = seconds / 3600.0
        for i in range(self.cells):
            moved = current * hours / self.cell_capacity_ah[i]
            self.cell_soc[i] = min(1.0, max(0.0, self.cell_soc[i] + moved))
        self._balance(hours)
        self._protect()

    def _balance(self, hours: float) -> None:
        volts = self.cell_voltages
        high = max(range(self.cells), key=volts.__getitem__)
        low = min(range(self.cells), key=volts.__getitem__)
        if not self.balancer_enabled or volts[high] - volts[low] < self.balance_trigger_v:
            self.balancing_cells = None
            return
        self.balancing_cells = (high, low)
        moved = self.balance_current_a * hours
        self.cell_soc[high] = max(0.0, self.cell_soc[high] - moved / self.cell_capacity_ah[high])
        self.cell_soc[low] = min(1.0, self.cell_soc[low] + moved / self.cell_capacity_ah[low])

    def _protect(self) -> None:
        volts = self.cell_voltages
        if max(volts) >= self.cell_overvoltage_v:
            self.tripped.add("cell_overvoltage")
        if min(volts) <= self.cell_undervoltage_v:
            self.tripped.add("cell_undervoltage")

    # --- on demand ----------------------------------------------------------------------------

    def trip(self, protection: str) -> None:
        """Trip ``protection`` (one of :data:`PROTECTIONS`) now."""
        if protection not in PROTECTIONS:
            raise ValueError(f"unknown protection {protection!r}; one of {', '.join(PROTECTIONS)}")
        self.tripped.add(protection)

    def clear(self) -> None:
        """Release every tripped protection."""
        self.tripped.clear()

    def snapshot(self) -> dict[str, object]:
        """The pack's state (JSON-able) for the control socket and tests."""
        return {"cell_voltages": self.cell_voltages, "pack_voltage": self.pack_voltage, "soc": self.pack_soc,
                "current_a": self.current_a, "balancing": self.balancing, "tripped": sorted(self.tripped),
                "temperatures": self.temperatures, "clock_s": self.clock_s}
