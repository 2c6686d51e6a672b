"""The simulator as a subprocess on a real pty: serial semantics, pacing, control socket, faults, cleanup."""

from __future__ import annotations

import os
import signal
import termios
import time
from pathlib import Path

import pytest
import serial

from solarmon.inverter.frame import FrameError, decode_reply, encode_reply, encode_request
from solarmon.simulator.runner import SimulatorError
from solarmon.simulator.truth import exchanges
from tests.simulator.clients import open_serial, serial_exchange, wait_for

pytestmark = pytest.mark.timeout(90)
START = "2026-06-21T12:00:00"


def test_the_pty_is_raw_and_replies_are_what_the_truth_log_says(simulator):
    sim = simulator(baud=0, seed=1)
    assert os.path.realpath(sim.port).startswith("/dev/pts/")
    fd = os.open(sim.port, os.O_RDWR | os.O_NOCTTY)
    try:
        iflag, _, _, lflag, *_ = termios.tcgetattr(fd)
    finally:
        os.close(fd)
    assert not lflag & (termios.ECHO | termios.ICANON)
    assert not iflag & termios.ICRNL  # a CR in a reply must reach the client as CR
    with open_serial(sim.port) as port:
        replies = [serial_exchange(port, command) for command in ("QPIGS", "QMOD", "QPIRI", "QXYZ")]
    truth = exchanges(sim.truth())
    assert [event["request"] for event in truth] == ["QPIGS", "QMOD", "QPIRI", "QXYZ"]
    for raw, event in zip(replies, truth, strict=True):
        assert raw.hex() == event["sent_hex"]
        assert decode_reply(raw).payload == event["payload"]
        assert event["valid"] is True
    assert truth[-1]["payload"] == "NAK"


@pytest.mark.parametrize("baud", [2400, 9600])
def test_replies_take_at_least_their_wire_time(simulator, baud):
    sim = simulator(baud=baud, seed=2, turnaround_s=0.0)
    with open_serial(sim.port) as port:
        began = time.monotonic()
        raw = serial_exchange(port, "QPIGS")
        elapsed = time.monotonic() - began
    wire = (len(encode_request("QPIGS")) + len(raw)) * 10 / baud
    assert raw.endswith(b"\r")
    assert elapsed >= wire * 0.98  # the reply cannot beat the UART (lower bound only: no timing race)


def test_sigterm_exits_cleanly_and_removes_the_link_and_socket(simulator):
    sim = simulator(baud=0)
    control = sim.control_path
    assert sim.port.is_symlink()
    assert control.exists()
    assert sim.stop() == 0
    assert not sim.port.exists()
    assert not sim.port.is_symlink()
    assert not control.exists()
    assert sim.truth()[-1]["event"] == "stop"


def test_the_control_socket_changes_what_the_inverter_reports(simulator):
    sim = simulator(baud=0, seed=3, start=START, speed=0)
    with open_serial(sim.port) as port:
        sim.control({"op": "pin", "field": "battery_voltage", "value": 51.2})
        assert decode_reply(serial_exchange(port, "QPIGS")).payload.split()[8] == "51.20"
        sim.control({"op": "set", "grid": False})
        assert decode_reply(serial_exchange(port, "QMOD")).payload == "B"
        assert decode_reply(serial_exchange(port, "QPIWS")).payload[5] == "1"  # line fail
        sim.control({"op": "fault", "kind": "inverter"})
        assert decode_reply(serial_exchange(port, "QMOD")).payload == "F"
        sim.control({"op": "fault", "kind": None})
        sim.control({"op": "unpin"})
        assert decode_reply(serial_exchange(port, "QPIGS")).payload.split()[8] != "51.20"
    state = sim.control({"op": "snapshot"})["state"]
    assert state["grid_available"] is False
    later = sim.control({"op": "advance", "seconds": 3600})["state"]
    assert later["time"] == "2026-06-21T13:00:00"  # the clock is frozen (--speed 0) but jumps
    assert sim.control({"op": "query", "command": "QPI"})["payload"] == "PI30"
    assert [e["message"]["op"] for e in sim.truth() if e["event"] == "control"][:2] == ["pin", "set"]


BAD_CONTROL_MESSAGES = [
    ({"op": "explode"}, "unknown op"),
    ({"op": "pin", "field": "nonsense", "value": 1}, "cannot pin"),
    ({"op": "pin", "field": "battery_voltage", "value": "high"}, "must be a number"),
    ({"op": "set", "cloudiness": 3}, "between 0 and 1"),
    ({"op": "set", "sunshine": 1}, "set takes"),
    ({"op": "fault", "kind": "meltdown"}, "fault kind"),
    ({"op": "unplug", "seconds": -1}, "seconds"),
    ({"op": "faults", "spec": "bogus:1"}, "unknown kind"),
    (["not", "an", "object"], "JSON object"),
]


def test_bad_control_messages_get_a_clear_error_and_change_nothing(simulator):
    sim = simulator(baud=0, start=START, speed=0)
    before = sim.control({"op": "snapshot"})["state"]
    for message, error in BAD_CONTROL_MESSAGES:
        with pytest.raises(SimulatorError, match=error):
            sim.control(message)
    assert sim.control({"op": "snapshot"})["state"] == before


def test_unplug_withdraws_the_link_and_brings_back_a_new_pty(simulator):
    sim = simulator(baud=0)
    first = os.path.realpath(sim.port)
    with open_serial(sim.port, timeout_s=0.5) as old:
        assert serial_exchange(old, "QPI").startswith(b"(PI30")
        sim.control({"op": "unplug", "seconds": 1.0})
        assert wait_for(lambda: not sim.port.exists(), timeout_s=5)
        assert wait_for(lambda: sim.port.exists(), timeout_s=10)
        try:
            stale = serial_exchange(old, "QPI")
        except (OSError, serial.SerialException):  # a hung-up tty may raise: both mean "gone"
            stale = b""
        assert stale == b""
    second = os.path.realpath(sim.port)
    assert second != first
    with open_serial(sim.port) as port:
        assert decode_reply(serial_exchange(port, "QPI")).payload == "PI30"
    events = [event["event"] for event in sim.truth()]
    assert events.index("gone") < events.index("back")


FAULT_CASES = [
    ("noreply", None),
    ("garbage", "garbage"),
    ("flip", ("crc", "garbage")),
    ("truncate", "truncated"),
    ("nak", "nak"),
    ("echo", "echo"),
    ("lf", "ok"),
    ("slow:1:0.3s", "ok"),
]


def test_each_fault_reaches_the_client_as_logged(simulator):
    sim = simulator(baud=0, seed=4)
    with open_serial(sim.port, timeout_s=0.6) as port:
        for spec, outcome in FAULT_CASES:
            kind = spec.split(":")[0]
            sim.control({"op": "faults", "spec": spec if ":" in spec else f"{kind}:1"})
            port.reset_input_buffer()
            received = serial_exchange(port, "QPIGS")
            if kind == "lf":
                received += port.read_until(b"\n") if not received.endswith(b"\n") else b""
            event = exchanges(sim.truth())[-1]
            assert event["fault"] == kind
            assert received.hex() == event["sent_hex"], kind
            if outcome is None:
                assert received == b""
                continue
            try:
                frame = decode_reply(received, command="QPIGS")
                got = "nak" if frame.is_nak else "ok"
            except FrameError as exc:
                got = exc.kind
            assert got in outcome if isinstance(outcome, tuple) else got == outcome, kind
            assert event["valid"] is (got in ("ok", "nak"))


def test_a_late_tail_arrives_ahead_of_the_next_reply(simulator):
    sim = simulator(baud=0, seed=5)
    with open_serial(sim.port, timeout_s=0.5) as port:
        sim.control({"op": "faults", "spec": "late:1:30s"})
        head = serial_exchange(port, "QPIGS")
        assert not head.endswith(b"\r")  # the client times out on a partial reply
        sim.control({"op": "faults", "spec": ""})
        port.write(encode_request("QMOD"))
        tail = port.read_until(b"\r")
        reply = port.read_until(b"\r")
    exchange = exchanges(sim.truth())[-2]
    late = next(event for event in sim.truth() if event["event"] == "late_tail")
    assert head + tail == encode_reply(exchange["payload"])
    assert tail.hex() == late["sent_hex"]
    assert decode_reply(reply).payload in ("L", "B")


def test_nak_all_lasts_until_the_unit_is_power_cycled(simulator):
    sim = simulator(baud=0, faults="nak@0s")
    with open_serial(sim.port, timeout_s=1.0) as port:
        assert decode_reply(serial_exchange(port, "QPI")).is_nak
        assert decode_reply(serial_exchange(port, "QMOD")).is_nak
    sim.control({"op": "unplug", "seconds": 0.3})
    assert wait_for(lambda: not sim.port.exists(), timeout_s=5)
    assert wait_for(lambda: sim.port.exists(), timeout_s=10)
    with open_serial(sim.port) as port:
        assert decode_reply(serial_exchange(port, "QPI")).payload == "PI30"


def test_a_scheduled_gone_takes_the_device_away_and_back(simulator):
    sim = simulator(baud=0, faults="gone@0.5s:1s")
    first = os.path.realpath(sim.port)
    assert wait_for(lambda: any(e["event"] == "back" for e in sim.truth()), timeout_s=15)
    assert os.path.realpath(sim.port) != first
    gone = next(e for e in sim.truth() if e["event"] == "gone")
    assert gone["seconds"] == 1.0
    assert gone["reason"] == "scheduled"


def test_the_same_seed_on_a_frozen_clock_gives_the_same_replies(simulator):
    sims = [simulator(baud=0, seed=seed, start=START, speed=0) for seed in (11, 11, 12)]
    payloads = []
    for sim in sims:
        with open_serial(sim.port) as port:
            payloads.append([decode_reply(serial_exchange(port, c)).payload for c in ("QPIGS", "QID")])
    assert payloads[0] == payloads[1]
    assert payloads[0] != payloads[2]


def test_bad_arguments_fail_fast_with_a_message(simulator):
    with pytest.raises(SimulatorError, match="unknown kind"):
        simulator(faults="meteor:0.1")
    with pytest.raises(SimulatorError, match="unknown simulator profile"):
        simulator(profile="toaster")
    with pytest.raises(SimulatorError, match="does not exist"):
        simulator(truth_log=Path("/nonexistent-dir/truth.jsonl"))


@pytest.mark.parametrize("transport", ["pty", "hidraw"])
def test_sigint_is_a_clean_stop_too(simulator, transport):
    sim = simulator(transport, baud=0)
    node = os.path.realpath(sim.port)
    sim.process.send_signal(signal.SIGINT)
    assert sim.process.wait(timeout=10) == 0
    assert not sim.port.is_symlink()
    if transport == "hidraw":
        assert not os.path.ismount(os.path.dirname(node))
    assert exchanges(sim.truth()) == []
    assert sim.truth()[-1]["event"] == "stop"


def test_a_setting_answered_nak_by_a_fault_is_not_applied_but_a_lost_ack_is(simulator):
    sim = simulator(baud=0, start=START, speed=0)
    with open_serial(sim.port, timeout_s=0.5) as port:
        sim.control({"op": "faults", "spec": "nak:1"})
        assert decode_reply(serial_exchange(port, "POP01")).is_nak
        sim.control({"op": "faults", "spec": "noreply:1"})
        assert serial_exchange(port, "PCP03") == b""
        sim.control({"op": "faults", "spec": ""})
        settings = decode_reply(serial_exchange(port, "QPIRI")).payload.split()
    assert settings[16] == "2"  # output priority still SBU: the NAKed POP01 never reached the firmware
    assert settings[17] == "3"  # charger priority changed: only the ACK was lost on the way back
    naked = exchanges(sim.truth(), "POP01")[0]
    assert naked["payload"] == "NAK"
    assert "not applied" in naked["nak_reason"]


def test_a_zero_byte_inside_a_request_is_data_and_zeros_between_requests_are_padding(simulator):
    sim = simulator(baud=0, profile="hs-3k")
    frame = encode_request("PCVV24.2")  # CRC high byte 0x00
    with open_serial(sim.port) as port:
        first = serial_exchange(port, b"\x00\x00" + frame)
        second = serial_exchange(port, b"\x00" * 5 + encode_request("QPI"))
    assert decode_reply(second).payload == "PI30"
    pcvv, qpi = exchanges(sim.truth())
    assert pcvv["request_hex"] == frame.hex()
    assert pcvv["request"] == "PCVV24.2"
    assert "float voltage" in pcvv["nak_reason"]  # read as the setting, refused on its merits
    assert decode_reply(first).is_nak
    assert qpi["request"] == "QPI"
