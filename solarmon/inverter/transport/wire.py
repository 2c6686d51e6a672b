"""Wire time: how long a PI30 exchange takes at the UART's baud rate, and timeouts sized from it.

Every inverter, USB or RS-232, talks through a 2400-baud 8N1 UART: 10 bits a byte, 4.167 ms
(PI30.md §2). A timeout is the time the longest plausible reply to that command needs on the wire,
plus a margin for the inverter's undocumented turnaround and the USB report interval — so a QMOD
fails in about a second, not after the QPIGS-sized wait a fixed timeout would impose.
"""

from __future__ import annotations

from solarmon.inverter.frame import encode_request

BITS_PER_BYTE = 10  # start bit, 8 data bits, stop bit
# Turnaround of a real unit (<0.1 s measured through mppsolar's serial path) plus USB interval
# and scheduling slack.
DEFAULT_MARGIN_S = 1.0

# The longest reply (with "(", CRC and CR) each query can produce on any known model, from the
# field counts and widths in PI30.md §3/§5, rounded up. Longest prefix wins.
_REPLY_BUDGET_BYTES: dict[str, int] = {
    "QPIGS2": 80,
    "QPIGS": 140,  # 24 fields on MAX units, 5-digit power fields
    "QPIRI": 130,  # 28 fields on MAX units, float tails
    "QPIWS": 44,  # up to 38 bits
    "QMOD": 5,
    "QFLAG": 24,
    "QSID": 40,
    "QID": 30,
    "QVFW": 20,
    "QPI": 8,
    "QDI": 110,
    "QMCHGCR": 110,
    "QMUCHGCR": 110,
    "QBOOT": 7,
    "QOPM": 7,
    "QET": 14,
    "QEY": 14,
    "QEM": 14,
    "QED": 14,
    "QLT": 14,
    "QLY": 14,
    "QLM": 14,
    "QLD": 14,
}
ACK_NAK_BYTES = 7  # "(ACK"/"(NAK" + CRC + CR: every setter's reply
UNKNOWN_QUERY_BYTES = 140


def byte_time_s(baud: int) -> float:
    """Seconds one byte takes on an 8N1 line."""
    if baud <= 0:
        raise ValueError(f"baud must be positive, got {baud}")
    return BITS_PER_BYTE / baud


def wire_time_s(n_bytes: int, baud: int) -> float:
    """Seconds ``n_bytes`` take on the wire."""
    return n_bytes * byte_time_s(baud)


def reply_budget_bytes(command: str) -> int:
    """The longest reply ``command`` can get (a setter's is an ACK/NAK)."""
    for prefix in sorted(_REPLY_BUDGET_BYTES, key=len, reverse=True):
        if command.startswith(prefix):
            return _REPLY_BUDGET_BYTES[prefix]
    # Commands not starting with Q are setters (PI30.md §4): they answer (ACK or (NAK.
    return UNKNOWN_QUERY_BYTES if command.startswith("Q") else ACK_NAK_BYTES


def timeout_for(command: str, baud: int, *, margin_s: float = DEFAULT_MARGIN_S) -> float:
    """The exchange timeout for ``command``: request + longest reply on the wire, plus margin."""
    n_bytes = len(encode_request(command)) + reply_budget_bytes(command)
    return wire_time_s(n_bytes, baud) + margin_s
