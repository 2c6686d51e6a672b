"""reply_fits: a stale reply to one command must not be taken as the answer to another (PI30.md §5)."""

from __future__ import annotations

import itertools

import pytest

from solarmon.inverter.codec import decode, reply_fits
from tests.inverter import samples

REPLIES = {
    "QPIGS": samples.QPIGS_21,
    "QPIGS2": samples.QPIGS2,
    "QPIRI": samples.QPIRI_25,
    "QDI": samples.QDI,
    "QMOD": "B",
    "QPIWS": samples.QPIWS_32,
    "QFLAG": samples.QFLAG,
    "QID": "92932004102443",
    "QPI": "PI30",
    "QVFW": "VERFW:00072.70",
    "QVFW2": "VERFW2:00000.00",
    "QMCHGCR": samples.QMCHGCR,
    "QBOOT": "1",
    "QOPM": "00",
    "QET": "00123456",
    "POP02": "ACK",
}
# Pairs whose replies have the same shape: a reply to the first fits the second too. Kept short
# and explicit; none of them is polled together with the other.
SAME_SHAPE = {
    ("QBOOT", "QOPM"),  # "1" is a valid output mode
    ("QET", "QID"),  # 8 digits could be a serial number
    ("QOPM", "QMCHGCR"),  # one whole number is a one-item current list
    ("QBOOT", "QMCHGCR"),
}


@pytest.mark.parametrize(("asked", "answered"), list(itertools.product(REPLIES, REPLIES)))
def test_a_reply_fits_its_own_command_only(reply, asked: str, answered: str) -> None:
    fits = reply_fits(asked, reply(REPLIES[answered]))
    if asked == answered or (answered, asked) in SAME_SHAPE:
        assert fits
    else:
        assert not fits


@pytest.mark.parametrize(("answered", "asked"), sorted(SAME_SHAPE))
def test_same_shape_list_is_honest(reply, answered: str, asked: str) -> None:
    assert reply_fits(asked, reply(REPLIES[answered]))


@pytest.mark.parametrize("command", [*REPLIES, "QEY2024", "QGMN"])
def test_nak_fits_every_command(reply, command: str) -> None:
    assert reply_fits(command, reply("NAK"))


@pytest.mark.parametrize(
    ("command", "payload"),
    [
        ("QPIGS", samples.QPIGS_17),
        ("QPIGS", samples.QPIGS_24),
        ("QPIGS", samples.QPIGS_24 + " 1 2 3 4"),
        ("QPIGS", samples.QPIGS_21.replace("0014", "02.3")),
        ("QPIRI", samples.QPIRI_28),
        ("QPIRI", samples.QPIRI_24V),
        ("QPIWS", "0" * 36),
        ("QPIWS", "0" * 38),
        ("QFLAG", "EadDbjl"),
        ("QMOD", "C"),
        ("QMUCHGCR", samples.QMUCHGCR),
        ("QEY2024", "00001234"),
        ("QLD20240315", "00000012"),
        ("QGMN", "044"),  # no shape known: anything but ACK
        ("PEa", "ACK"),
    ],
)
def test_every_variant_the_codec_decodes_fits(reply, command: str, payload: str) -> None:
    frame = reply(payload)
    assert reply_fits(command, frame)
    decode(command, frame)  # and decodes


@pytest.mark.parametrize(
    ("command", "payload"),
    [
        ("QPIGS", " ".join(samples.QPIGS_21.split()[:16])),
        ("QPIGS", samples.QPIRI_28 + " 0 0 0"),
        ("QPIRI", samples.QPIGS_24 + " 0 0 0"),
        ("QMOD", "BB"),
        ("QPIWS", "0" * 31),
        ("QGMN", "ACK"),
        ("POP02", "B"),
    ],
)
def test_near_misses_do_not_fit(reply, command: str, payload: str) -> None:
    assert not reply_fits(command, reply(payload))
