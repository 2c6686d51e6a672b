"""Wire time and per-command timeouts sized from it."""

from __future__ import annotations

import pytest

from solarmon.inverter.transport.wire import (
    byte_time_s,
    reply_budget_bytes,
    timeout_for,
    wire_time_s,
)


def test_byte_time_at_2400_baud() -> None:
    assert byte_time_s(2400) == pytest.approx(10 / 2400)
    assert wire_time_s(110, 2400) == pytest.approx(0.4583, abs=1e-3)


@pytest.mark.parametrize("baud", [0, -2400])
def test_bad_baud(baud: int) -> None:
    with pytest.raises(ValueError, match="baud"):
        byte_time_s(baud)


@pytest.mark.parametrize(
    ("command", "at_least"),
    [
        ("QPIGS", 120),  # 24-field MAX reply
        ("QPIGS2", 40),
        ("QPIRI", 104),
        ("QPIWS", 42),  # 38 bits + framing
        ("QMOD", 5),
        ("QED20261126", 12),
        ("POP02", 7),
        ("PBCV48.0", 7),
        ("QXYZ", 120),  # unknown query: generous
    ],
)
def test_budget_covers_the_longest_known_reply(command: str, at_least: int) -> None:
    assert reply_budget_bytes(command) >= at_least


def test_timeouts_follow_reply_length() -> None:
    assert timeout_for("QMOD", 2400) < timeout_for("QPIWS", 2400) < timeout_for("QPIGS", 2400)
    # A longer prefix wins: QPIGS2 is not sized as QPIGS.
    assert reply_budget_bytes("QPIGS2") != reply_budget_bytes("QPIGS")


def test_timeout_is_wire_time_plus_margin() -> None:
    request_and_reply = 8 + reply_budget_bytes("QPIGS")
    expected = wire_time_s(request_and_reply, 2400) + 0.5
    assert timeout_for("QPIGS", 2400, margin_s=0.5) == pytest.approx(expected)
    # Slower line, longer timeout.
    assert timeout_for("QPIGS", 1200) > timeout_for("QPIGS", 2400)
