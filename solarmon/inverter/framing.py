"""The two wire protocols as one interface: how a transport frames a request and checks a reply,
and how the link knows whether a reply fits and what it means.

:data:`PI30` is ``(``-replies with CRC (frame.py, codec.py); :data:`PI18` is ``^P005GS`` requests
and ``^D...`` / ``^1`` / ``^0`` replies (pi18/). A transport and a link take one of them
(``framing=``); PI30 is the default everywhere, so nothing that speaks PI30 changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from solarmon.inverter import codec, frame
from solarmon.inverter.frame import ReplyFrame
from solarmon.inverter.pi18 import codec as pi18_codec
from solarmon.inverter.pi18 import frame as pi18_frame
from solarmon.inverter.pi18 import policy as pi18_policy
from solarmon.inverter.readings import Reading
from solarmon.inverter.transport.wire import reply_budget_bytes


@dataclass(frozen=True, slots=True)
class Framing:
    """One protocol's framing, reply check and decoder."""

    name: str
    encode_request: Callable[[str], bytes]
    decode_reply: Callable[[bytes, str | None, bool], ReplyFrame]  # (raw, command, allow_no_crc)
    resync_byte: int | None  # a byte that only ever starts a reply (None: a CRC byte may be it)
    frame_start: bytes  # what every reply starts with
    reply_fits: Callable[[str, ReplyFrame], bool]
    decode: Callable[[str, ReplyFrame], Reading]
    reply_budget_bytes: Callable[[str], int]  # the longest reply a command can get


def _pi18_request(command: str) -> bytes:
    return pi18_frame.encode_request(command, setter=pi18_policy.is_setter(command))


# The longest PI18 replies (header, payload, CRC, CR), from PROTOCOLS-PI18.md §2, rounded up.
_PI18_BUDGETS = {"GS": 130, "PIRI": 110, "FWS": 50, "FLAG": 30, "MCHGCR": 60, "MUCHGCR": 60, "ID": 40,
                 "VFW": 30, "PI": 12, "MOD": 12, "ET": 20, "EY": 20, "EM": 20, "ED": 20}


def _pi18_budget(command: str) -> int:
    return _PI18_BUDGETS.get(pi18_codec.base_command(command), 5 if pi18_policy.is_setter(command) else 130)


PI30 = Framing(
    name="pi30",
    encode_request=frame.encode_request,
    decode_reply=lambda raw, command, allow_no_crc: frame.decode_reply(raw, command=command,
                                                                       allow_no_crc=allow_no_crc),
    resync_byte=frame.START,
    frame_start=b"(",
    reply_fits=codec.reply_fits,
    decode=codec.decode,
    reply_budget_bytes=reply_budget_bytes,
)
PI18 = Framing(
    name="pi18",
    encode_request=_pi18_request,
    decode_reply=lambda raw, command, _allow_no_crc: pi18_frame.decode_reply(raw, command=command),
    resync_byte=None,
    frame_start=b"^",
    reply_fits=pi18_codec.reply_fits,
    decode=pi18_codec.decode,
    reply_budget_bytes=_pi18_budget,
)
BY_NAME = {"pi30": PI30, "pi30max": PI30, "pi18": PI18}
