"""A simulated parallel system takes settings addressed to one unit (MCHGC<u><nn>, MNCHGC, MUCHGC,
PPCP), NAKs a unit that is not on the bus or a value off its list, and its QPGSn show the change."""

from __future__ import annotations

from datetime import datetime

from solarmon.inverter.codec import decode_raw
from solarmon.inverter.frame import encode_request
from solarmon.simulator.clock import ManualClock
from solarmon.simulator.parallel import ParallelSystem
from solarmon.simulator.profiles import get_profile


def _system() -> ParallelSystem:
    clock = ManualClock(datetime(2026, 6, 21, 12, 0))
    return ParallelSystem(get_profile("max-8k"), 3, clock, 3, "parallel")


def _ask(system: ParallelSystem, command: str) -> bytes:
    return system.handle(encode_request(command))[:4]


def _unit(system: ParallelSystem, n: int) -> dict:
    return decode_raw(f"QPGS{n}", system.handle(encode_request(f"QPGS{n}"))).as_dict()


def test_each_unit_takes_its_own_setting_and_reports_it() -> None:
    system = _system()
    before = [_unit(system, n)["max_charging_current"] for n in range(3)]
    assert _ask(system, "MCHGC160") == b"(ACK"
    assert _ask(system, "MNCHGC2120") == b"(ACK"
    assert _ask(system, "PPCP203") == b"(ACK"
    assert _ask(system, "MUCHGC130") == b"(ACK"
    after = [_unit(system, n) for n in range(3)]
    assert [u["max_charging_current"] for u in after] == [before[0], 60, 120]
    assert after[2]["charger_source_priority"] == "Only solar charging permitted"
    assert after[0]["charger_source_priority"] != after[2]["charger_source_priority"]
    assert after[1]["max_ac_charging_current"] == 30
    # Unit 0 is the unit on the cable: its QPIRI is its own settings.
    assert _ask(system, "MCHGC050") == b"(ACK"
    qpiri = decode_raw("QPIRI", system.handle(encode_request("QPIRI"))).as_dict()
    assert qpiri["max_charging_current"] == 50 == _unit(system, 0)["max_charging_current"]


def test_a_unit_off_the_bus_or_a_value_off_the_list_is_naked() -> None:
    system = _system()
    assert _ask(system, "MCHGC560") == b"(NAK"  # no unit 5
    system.set_unit(1, present=False)
    assert _ask(system, "MCHGC160") == b"(NAK"  # unit 1 dropped out
    assert _ask(system, "MCHGC245") == b"(NAK"  # 45 A is not in QMCHGCR
    assert _ask(system, "PPCP207") == b"(NAK"
    assert _unit(system, 2)["max_charging_current"] != 45
    assert _ask(system, "MCHGC260") == b"(ACK"  # the same unit, a listed value: taken
    assert _unit(system, 2)["max_charging_current"] == 60
