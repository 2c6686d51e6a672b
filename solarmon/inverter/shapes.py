"""Cheap reply-shape checks: does this reply look like an answer to that command?

After a host-side timeout the tail of the previous reply can arrive ahead of the next answer
(PI30.md §5). Its CRC is fine, so only its shape gives it away: a transport calls
:func:`reply_fits` and drops a reply that belongs to another command. The checks are loose
enough for every firmware variant the codec decodes and tight enough to tell the commands a
poller interleaves (QPIGS, QMOD, QPIWS, QPIRI, QFLAG, QDI, setters) apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from solarmon.inverter.frame import ReplyFrame
from solarmon.inverter.tables import ENERGY

_ENERGY = re.compile(r"(Q[EL][TYMD])(\d*)")
# Digits of the date argument of the energy queries by period letter (QEY2024, QEM202401,
# QED20240115), from the one energy table.
ENERGY_DIGITS = {command[-1]: digits for command, (_, digits, _, _) in ENERGY.items()}
_QPGS = re.compile(r"QPGS\d")
_PI18_DATED = re.compile(r"(E[YMD])(\d+)")  # PI18's EYyyyy, EMyyyymm, EDyyyymmdd
_PI18_DIGITS = {"EY": 4, "EM": 6, "ED": 8}
_NUMERIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)|-+")


def base_command(command: str) -> str:
    """The command without its argument: ``QEY2024`` -> ``QEY``, ``QPGS2`` -> ``QPGS``, PI18's
    ``EY2024`` -> ``EY``; others unchanged."""
    if _QPGS.fullmatch(command):
        return "QPGS"
    dated = _PI18_DATED.fullmatch(command)
    if dated and len(dated.group(2)) == _PI18_DIGITS[dated.group(1)]:
        return dated.group(1)
    match = _ENERGY.fullmatch(command)
    if match and len(match.group(2)) == ENERGY[match.group(1)][1]:
        return match.group(1)
    return command


def _numeric(token: str) -> bool:
    return bool(_NUMERIC.fullmatch(token))


def _qpigs(payload: str) -> bool:
    tokens = payload.split()
    # Field 16 is the 8-character status bit string: nothing else a poller asks has one there.
    return (len(tokens) >= 17 and len(tokens[16]) == 8 and not tokens[16].strip("01")
            and all(_numeric(t) for t in tokens[:16]))


def _qpgs(payload: str) -> bool:
    tokens = payload.split()
    # Field 2 is the one-letter work mode and field 19 the 8-character status bit string.
    return (len(tokens) >= 27 and len(tokens[2]) == 1 and tokens[2].isalpha()
            and len(tokens[19]) == 8 and not tokens[19].strip("01"))


def _qpiri(payload: str) -> bool:
    tokens = payload.split()
    # Field 2 is the output voltage (a decimal) and field 5 the apparent power (whole): QDI has
    # a whole current and a decimal voltage there; field 16 (a priority code) is no bit string.
    return (len(tokens) >= 25 and all(_numeric(t) for t in tokens)
            and "." in tokens[2] and "." not in tokens[5] and len(tokens[16]) <= 2)


def _qdi(payload: str) -> bool:
    tokens = payload.split()
    return (len(tokens) >= 25 and all(_numeric(t) for t in tokens)
            and "." not in tokens[2] and "." in tokens[5])


def _qpigs2(payload: str) -> bool:
    tokens = payload.split()
    # "AA.A BBB.B CCCCC": the decimals tell it from a list of whole currents.
    return (3 <= len(tokens) < 17 and all(_numeric(t) for t in tokens)
            and any("." in t for t in tokens[:2]))


def _bits(payload: str) -> bool:
    return len(payload) >= 32 and not payload.strip("01")


def _qflag(payload: str) -> bool:
    return bool(payload) and payload[0] in "ED" and payload.isalpha()


def _current_list(payload: str) -> bool:
    tokens = payload.split()
    return bool(tokens) and all(t.isdigit() and len(t) <= 4 for t in tokens)


def _single_digit(payload: str) -> bool:
    return len(payload) == 1 and payload.isdigit()


def _short_number(payload: str) -> bool:
    return 1 <= len(payload) <= 2 and payload.isdigit()


def _energy(payload: str) -> bool:
    return 4 <= len(payload) <= 10 and payload.isdigit()


def _serial(payload: str) -> bool:
    return 6 <= len(payload) <= 20 and payload.isdigit()


def _long_serial(payload: str) -> bool:
    return 6 <= len(payload) <= 40 and payload.isalnum()


def _prefix(text: str) -> Callable[[str], bool]:
    return lambda payload: payload.startswith(text)


_SHAPES: dict[str, Callable[[str], bool]] = {
    "QPIGS": _qpigs,
    "QPIGS2": _qpigs2,
    "QPIRI": _qpiri,
    "QPGS": _qpgs,
    "QDI": _qdi,
    "QMOD": lambda payload: len(payload) == 1 and payload.isalpha(),
    "QPIWS": _bits,
    "QFLAG": _qflag,
    "QID": _serial,
    "QSID": _long_serial,
    "QPI": lambda payload: payload.startswith("PI") and payload[2:].isdigit(),
    "QVFW": _prefix("VERFW:"),
    "QVFW2": _prefix("VERFW2:"),
    "QMCHGCR": _current_list,
    "QMUCHGCR": _current_list,
    "QBOOT": _single_digit,
    "QOPM": _short_number,
    **dict.fromkeys(("QET", "QEY", "QEM", "QED", "QLT", "QLY", "QLM", "QLD"), _energy),
}


def reply_fits(command: str, frame: ReplyFrame) -> bool:
    """True when ``frame`` is plausibly the reply to ``command``.

    A NAK fits every command (any command can be refused). A setter (anything not starting with
    ``Q``) expects ACK or NAK. A query without a known shape accepts anything but ACK.
    """
    if frame.is_nak:
        return True
    if not command.startswith("Q"):
        return frame.is_ack
    if frame.is_ack:
        return False
    shape = _SHAPES.get(base_command(command))
    return True if shape is None else shape(frame.payload.strip())
