"""Simulated inverter models: what hardware a profile has and how its firmware formats replies.

A :class:`Profile` is immutable. It names the hardware (ratings, battery bank, PV array), the
firmware's reply shapes (17 / 21 / 24 QPIGS fields, 25 / 28 QPIRI fields, 32 / 36 QPIWS bits,
field widths) and the factory settings that ``PF`` restores (PI30.md §3, §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Profile:
    """One inverter model as the simulator plays it."""

    name: str
    description: str
    # Hardware.
    rated_va: int
    rated_w: int
    battery_class_v: int  # 12, 24 or 48: the nominal bank voltage that sets setter ranges
    battery_ah: float
    pv_peak_w: float
    pv_vmp: float
    pv2_peak_w: float  # 0 when the unit has a single tracker
    machine_type: str  # QPIRI field 20
    # Firmware reply shapes.
    qpigs_fields: int
    qpiri_fields: int
    qpiws_bits: int
    power_digits: int  # 4 ("0119") or 5 ("00119") digits for the QPIGS power fields
    pv_current_decimal: bool  # PV current as "02.7" instead of "0003"
    energy_counters: bool  # QET/QEY/QEM/QED and QLT/QLY/QLM/QLD answered
    firmware: str
    firmware2: str
    serial_prefix: str
    flag_letters: str  # QFLAG letters the firmware knows, in reply order
    charge_currents: tuple[int, ...]  # QMCHGCR
    utility_charge_currents: tuple[int, ...]  # QMUCHGCR
    defaults: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    battery_chemistry: str = "lead-acid"  # or "lifepo4"
    # What the owner changed after installation (an off-grid site runs SBU, solar first).
    site: MappingProxyType = field(default_factory=lambda: MappingProxyType(SITE_SETTINGS))

    @property
    def cells(self) -> int:
        """Cells in series: lead-acid 2 V each, LiFePO4 3.2 V (16 for a 48 V bank); the battery
        model scales per cell."""
        if self.battery_chemistry == "lifepo4":
            return round(self.battery_class_v / 3.0)
        return self.battery_class_v // 2

    @property
    def rated_output_a(self) -> float:
        """QPIRI output rating current at 230 V."""
        return round(self.rated_va / 230.0, 1)


SITE_SETTINGS: Final = MappingProxyType({"output_priority": 2, "charger_priority": 1})


def _defaults(**overrides: object) -> MappingProxyType:
    """Factory settings for a 48 V unit, overridden per profile (returned read-only)."""
    base: dict[str, object] = {
        "output_voltage": 230.0,
        "output_frequency": 50,
        "recharge_v": 46.0,
        "cutoff_v": 42.0,
        "bulk_v": 56.4,
        "float_v": 54.0,
        "battery_type": 0,
        "max_ac_charge_a": 30,
        "max_charge_a": 60,
        "input_range": 0,
        "output_priority": 0,
        "charger_priority": 2,
        "output_mode": 0,
        "redischarge_v": 54.0,
        "pv_ok": 0,
        "pv_balance": 1,
        "max_cv_minutes": 224,
        "operation_logic": 0,
        "max_discharge_a": 150,
        "flags": "akxyz",  # enabled QFLAG letters; every other known letter is disabled
    }
    base.update(overrides)
    return MappingProxyType(base)


_AXPERT_5K: Final = Profile(
    name="axpert-5k",
    description="5 kVA / 5 kW 48 V off-grid unit, one tracker, 21-field QPIGS (the common Axpert King)",
    rated_va=5000,
    rated_w=5000,
    battery_class_v=48,
    battery_ah=200.0,
    pv_peak_w=4000.0,
    pv_vmp=105.0,
    pv2_peak_w=0.0,
    machine_type="01",
    qpigs_fields=21,
    qpiri_fields=25,
    qpiws_bits=32,
    power_digits=4,
    pv_current_decimal=False,
    energy_counters=False,
    firmware="00072.70",
    firmware2="00041.17",
    serial_prefix="9293",
    flag_letters="abjkuvxyz",
    charge_currents=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120),
    utility_charge_currents=(2, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100),
    defaults=_defaults(),
)

_HS_3K: Final = Profile(
    name="hs-3k",
    description="older 3 kVA / 2.4 kW 24 V HS-series unit: 17-field QPIGS, no SCC version",
    rated_va=3000,
    rated_w=2400,
    battery_class_v=24,
    battery_ah=150.0,
    pv_peak_w=1500.0,
    pv_vmp=60.0,
    pv2_peak_w=0.0,
    machine_type="01",
    qpigs_fields=17,
    qpiri_fields=25,
    qpiws_bits=32,
    power_digits=4,
    pv_current_decimal=False,
    energy_counters=False,
    firmware="00052.30",
    firmware2="00000.00",
    serial_prefix="9282",
    flag_letters="abjkuvxyz",
    charge_currents=(10, 20, 30, 40, 50, 60),
    utility_charge_currents=(2, 10, 20, 30),
    defaults=_defaults(
        recharge_v=23.0,
        cutoff_v=21.0,
        bulk_v=28.2,
        float_v=27.0,
        max_ac_charge_a=20,
        max_charge_a=40,
        redischarge_v=27.0,
        flags="axyz",
    ),
)

_MAX_8K: Final = Profile(
    name="max-8k",
    description="8 kW 48 V PI30MAX unit: two trackers, 24-field QPIGS, QPIGS2, energy counters",
    rated_va=8000,
    rated_w=8000,
    battery_class_v=48,
    battery_ah=280.0,
    pv_peak_w=4500.0,
    pv_vmp=320.0,
    pv2_peak_w=3500.0,
    machine_type="11",
    qpigs_fields=24,
    qpiri_fields=28,
    qpiws_bits=36,
    power_digits=5,
    pv_current_decimal=True,
    energy_counters=True,
    firmware="00011.70",
    firmware2="00011.30",
    serial_prefix="9293",
    flag_letters="abdjkuvxyz",
    charge_currents=(10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150),
    utility_charge_currents=(2, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120),
    defaults=_defaults(max_ac_charge_a=30, max_charge_a=100, flags="akxyzd"),
)

# The same unit on a 16-cell LiFePO4 pack with a BMS (the demo's): charge voltages for 3.2 V cells
# (bulk 3.45 V, float 3.375 V a cell: full without a cell near 3.6 V), back to the grid near 15 %,
# cut off before a cell reaches 2.9 V.
_AXPERT_5K_LFP: Final = replace(
    _AXPERT_5K,
    name="axpert-5k-lfp",
    description="the axpert-5k on a 48 V (16-cell) 200 Ah LiFePO4 pack, battery type USE",
    battery_chemistry="lifepo4",
    defaults=_defaults(battery_type=2, bulk_v=55.2, float_v=54.0, recharge_v=50.4, cutoff_v=47.0,
                       redischarge_v=53.6),
)

PROFILES: Final = MappingProxyType({p.name: p for p in (_AXPERT_5K, _AXPERT_5K_LFP, _HS_3K, _MAX_8K)})
DEFAULT_PROFILE: Final = _AXPERT_5K.name
# Short names the CLI also accepts.
ALIASES: Final = MappingProxyType({"default": "axpert-5k", "5k": "axpert-5k", "hs": "hs-3k", "max": "max-8k",
                                         "lfp": "axpert-5k-lfp"})


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (or one of its aliases); ValueError names the known ones."""
    key = ALIASES.get(name, name)
    try:
        return PROFILES[key]
    except KeyError:
        known = ", ".join(sorted([*PROFILES, *ALIASES]))
        raise ValueError(f"unknown simulator profile {name!r}; known: {known}") from None
