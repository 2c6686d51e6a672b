"""Mangled payloads (with a good CRC, as firmware bugs produce them) never crash the codec.

Each mutation either decodes into well-typed fields or raises DecodeError; nothing else may come
out (no IndexError, KeyError, ValueError...). Seeded, so every run checks the same mutations.
"""

from __future__ import annotations

import random

import pytest

from solarmon.inverter.codec import decode, reply_fits
from solarmon.inverter.errors import DecodeError
from tests.inverter import samples

PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]


def _mutations(payload: str, rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        chars = list(payload)
        tokens = payload.split(" ")
        kind = rng.randrange(5)
        if kind == 0 and chars:  # one character replaced
            chars[rng.randrange(len(chars))] = rng.choice(PRINTABLE)
            out.append("".join(chars))
        elif kind == 1:  # a field dropped
            del tokens[rng.randrange(len(tokens))]
            out.append(" ".join(tokens))
        elif kind == 2:  # a field duplicated
            i = rng.randrange(len(tokens))
            tokens.insert(i, tokens[i])
            out.append(" ".join(tokens))
        elif kind == 3:  # truncated anywhere
            out.append(payload[: rng.randrange(len(payload) + 1)])
        else:  # a separator lost or doubled
            i = rng.randrange(len(chars) + 1)
            out.append("".join(chars[:i]) + rng.choice(["", " ", "  "]) + "".join(chars[i + 1:]))
    return out


@pytest.mark.parametrize("command", sorted({*samples.FULL, "POP02"}))
def test_mangled_payloads_decode_or_raise_decode_error(reply, command: str) -> None:
    rng = random.Random(f"pi30-{command}")
    payload = samples.FULL.get(command, "ACK")
    decoded = 0
    for mutated in _mutations(payload, rng, 150):
        frame = reply(mutated)
        reply_fits(command, frame)  # must not raise either
        try:
            reading = decode(command, frame)
        except DecodeError:
            continue
        decoded += 1
        for field in reading.fields:
            assert isinstance(field.value, float | int | str | bool), (mutated, field)
    assert decoded < 150 or command in ("QPI", "QID", "QVFW", "QVFW2", "QSID")


def test_a_mangled_qpigs_is_refused_or_decoded_in_full(reply) -> None:
    # Never a partial reading: what decodes has every required field of a 17- or 21+ field reply.
    rng = random.Random("qpigs-fields")
    for mutated in _mutations(samples.QPIGS_21, rng, 300):
        try:
            reading = decode("QPIGS", reply(mutated))
        except DecodeError:
            continue
        assert len(mutated.split()) in (17, *range(21, 40))
        assert reading.battery_voltage_v is not None
        assert reading.is_ac_charging_on in (True, False)
