"""Fixtures of the codec tests: reply frames built the way an inverter sends them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from solarmon.inverter.frame import CR, ReplyFrame, decode_reply, encode_reply


@pytest.fixture
def reply() -> Callable[..., ReplyFrame]:
    """``reply(payload)``: the checked frame of ``payload`` as a real unit sends it (CRC, CR)."""

    def make(payload: str, *, with_crc: bool = True, terminator: int = CR) -> ReplyFrame:
        raw = encode_reply(payload, with_crc=with_crc, terminator=terminator)
        return decode_reply(raw, allow_no_crc=not with_crc)

    return make
