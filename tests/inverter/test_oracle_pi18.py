"""mppsolar 0.16.56's pi18 protocol as an oracle: the same PI18 frames, decoded by both.

Every value mppsolar reports must equal ours under the same (Prometheus) name, after the wording
table below (we keep PI30's vocabulary for shared keys: bools, QMOD's mode names, QPIRI's output
mode texts), except the DIFFERENCES (each asserted to still differ) and names we do not carry.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest

from solarmon.inverter.pi18.codec import decode
from solarmon.inverter.pi18.frame import decode_reply, encode_reply
from tests.inverter import pi18_samples as s

pytestmark = pytest.mark.oracle

CASES: dict[str, tuple[str, str]] = {
    "gs": ("GS", s.GS),
    "gs-charging": ("GS", s.GS_CHARGING),
    "piri": ("PIRI", s.PIRI),
    "piri-three-phase": ("PIRI", s.PIRI.replace(",0,0,0,1,00", ",0,3,0,1,00")),
    **{f"mod-{code}": ("MOD", code) for code in ("00", "01", "02", "03", "04", "05")},
    "flag": ("FLAG", s.FLAG),
    "id": ("ID", "1401234567890123456789"),
    "pi": ("PI", "18"),
    "vfw": ("VFW", "05220,00001,00002"),
    "et": ("ET", "00123456"),
    "ey": ("EY2024", "05580051"),
    "ed": ("ED20240315", "00001234"),
    "mchgcr": ("MCHGCR", s.MCHGCR),
}
_ENABLED = {True: "Enabled", False: "Disabled"}
# mppsolar name -> {our value: mppsolar's value}
WORDING: dict[str, dict[Any, Any]] = {
    "setting_value_configuration_state": {False: "Nothing changed", True: "Something changed"},
    "load_connection": {True: "connect", False: "disconnect"},
    "working_mode": {"Power on": "Power on mode", "Standby": "Standby mode", "Bypass": "Bypass mode",
                     "Battery": "Battery mode", "Fault": "Fault mode",
                     "Line": "Hybrid mode(Line mode, Grid mode)"},
    "output_model_setting": {"single machine output": "Single module",
                             **{f"Phase {n} of 3 Phase output": f"Phase {n} of three phase output"
                                for n in (1, 2, 3)}},
    "protocol_version": {"PI18": "18"},
    **{name: _ENABLED for name in ("buzzer_beep", "overload_bypass_function", "display_back_to_default_page",
                                   "overload_restart", "over_temperature_restart", "backlight_on",
                                   "alarm_primary_source_interrupt", "fault_code_record")},
}
# (case, mppsolar name) -> why mppsolar's value differs from ours.
DIFFERENCES = {
    ("piri", "solar_power_priority"): "mppsolar's text has a typo: 'Battery-Load-Utiliy'",
    ("piri-three-phase", "solar_power_priority"): "same",
    ("piri", "unknown_value_in_response_25"): "unnamed field 25 stays the string '00'; ours is 0",
    ("piri-three-phase", "unknown_value_in_response_25"): "same",
    ("id", "serial_number"): "mppsolar prints the payload as sent: length digits, serial and filler",
    ("mchgcr", "max._charging_current_value_1"): "we keep the list as one value '10 20 ... 80'",
}
NOT_CARRIED = {"year", "month", "day",
               *{f"max._charging_current_value_{n}" for n in range(2, 9)}}
OUR_NAME = {"unknown_value_in_response_25": "piri_extra_25"}


def _prom_name(name: str) -> str:
    return name.replace(" ", "_").replace("/", "_").replace("-", "").lower()


def _theirs(case: str) -> dict[str, Any]:
    logging.disable(logging.CRITICAL)
    try:
        protocol = importlib.import_module("mppsolar.protocols.pi18").pi18()
        command, payload = CASES[case]
        raw = protocol.decode(encode_reply(payload), command)
    finally:
        logging.disable(logging.NOTSET)
    return {_prom_name(name): value[0] for name, value in raw.items()
            if not name.startswith("_") and name != "raw_response"}


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, int | float) and isinstance(ours, str) and ours.isdigit():
        return int(ours) == theirs  # VFW: "05220" is version 5220
    if isinstance(ours, int | float) and isinstance(theirs, int | float):
        return abs(ours - theirs) < 1e-9
    return ours == theirs


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_values_as_mppsolar(case: str) -> None:
    command, payload = CASES[case]
    reading = decode(command, decode_reply(encode_reply(payload)))
    ours = {f.name: f.value for f in reading.fields}
    theirs = _theirs(case)
    assert "validity_check" not in theirs
    compared = 0
    for name, value in theirs.items():
        if name in NOT_CARRIED:
            continue
        mine = ours.get(OUR_NAME.get(name, name))
        if (case, name) in DIFFERENCES:
            assert not _same(mine, value), f"fixed? {DIFFERENCES[(case, name)]}"
            compared += 1
            continue
        assert OUR_NAME.get(name, name) in ours, f"{case}: mppsolar reports {name}={value!r}, we do not"
        worded = WORDING.get(name, {}).get(mine, mine)
        assert _same(worded, value), f"{case}: {name} ours {mine!r}, mppsolar {value!r}"
        compared += 1
    assert compared, case


def test_every_difference_belongs_to_a_case() -> None:
    assert {case for case, _name in DIFFERENCES} <= set(CASES)
