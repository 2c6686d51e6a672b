"""The simulated inverter's firmware: request bytes in, reply bytes out (no I/O, no threads).

Usable in-process (the web demo generates history with it)::

    clock = ManualClock(datetime(2026, 6, 21, 6, 0))
    inverter = Inverter(get_profile("axpert-5k"), seed=1, clock=clock)
    clock.jump(3600)
    raw = inverter.handle(encode_request("QPIGS"))    # b"(000.0 00.0 230.0 ..." + CRC + CR
    inverter.model.snapshot()                         # the state behind it

Unknown commands, bad settings and requests that fail their CRC get ``(NAK``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from solarmon.inverter import codec
from solarmon.inverter.errors import SettingRejected
from solarmon.inverter.frame import FrameError, crc_matches, decode_reply, encode_reply, find_terminator
from solarmon.inverter.readings import Reading
from solarmon.inverter.setters import validate_setting
from solarmon.simulator import replies
from solarmon.simulator.clock import Clock
from solarmon.simulator.model import PlantModel
from solarmon.simulator.profiles import Profile
from solarmon.simulator.replies import Reply
from solarmon.simulator.settings import apply_setter, is_setter

NAK = Reply("NAK", {"result": "NAK"})
ACK = Reply("ACK", {"result": "ACK"})


@dataclass(frozen=True, slots=True)
class Answer:
    """What the firmware made of one request: the command it read, the reply, and why it NAKed."""

    command: str | None
    reply: Reply
    reason: str = ""

    @property
    def is_nak(self) -> bool:
        return self.reply.payload == "NAK"


def parse_request(raw: bytes) -> str | None:
    """The command in a request frame (CRC checked when present), or None when it is not ASCII.

    Firmware accepts a command with or without CRC; a wrong CRC leaves junk in the command and
    so ends as an unknown command (NAK), as on real units.
    """
    end = find_terminator(raw)
    frame = raw[:end] if end >= 0 else raw
    frame = frame.lstrip(b"\x00")  # idle padding before a request; a 0x00 inside it is a CRC byte
    if len(frame) >= 3 and crc_matches(frame[:-2], frame[-2:]):
        frame = frame[:-2]
    if not frame or any(b < 0x20 or b > 0x7E for b in frame):
        return None
    return frame.decode("ascii")


class Inverter:
    """A PI30 inverter: firmware over a :class:`PlantModel`, time from ``clock``. Thread-safe."""

    def __init__(self, profile: Profile, seed: int, clock: Clock) -> None:
        self.profile = profile
        self.clock = clock
        self.model = PlantModel.create(profile, seed, clock.now())
        digits = random.Random(seed ^ 0x5EED).randrange(10**10)
        self.serial = f"{profile.serial_prefix}{digits:010d}"
        self.lock = threading.RLock()

    def tick(self) -> None:
        """Advance the model to the clock's time without answering anything."""
        with self.lock:
            self.model.advance_to(self.clock.now())

    protocol = "pi30"

    def parse(self, request: bytes) -> str | None:
        """The command of a request frame in this firmware's framing (None: not a request)."""
        return parse_request(request)

    def encode(self, payload: str) -> bytes:
        """The reply frame for ``payload`` in this firmware's framing ("NAK"/"ACK" included)."""
        return encode_reply(payload)

    def frame_ok(self, raw: bytes) -> bool:
        """Whether ``raw`` is a reply a strict client of this protocol accepts."""
        try:
            decode_reply(raw)
        except FrameError:
            return False
        return True

    def is_setting(self, command: str) -> bool:
        """True when ``command`` is a setting command of this firmware."""
        return is_setter(command)

    def handle(self, request: bytes) -> bytes:
        """The reply frame (with CRC and CR) for one request frame."""
        return self.encode(self.answer(request).reply.payload)

    def answer(self, request: bytes) -> Answer:
        """Parse ``request`` and answer it, the model advanced to the clock's time first."""
        command = self.parse(request)
        if command is None:
            return Answer(None, NAK, "request is not printable ASCII")
        return self.respond(command)

    def respond(self, command: str) -> Answer:
        """Answer ``command`` (no framing)."""
        with self.lock:
            self.model.advance_to(self.clock.now())
            if is_setter(command):
                return self._set(command)
            reply = self._query(command)
            if reply is None:
                return Answer(command, NAK, f"unknown command {command!r}")
            return Answer(command, reply)

    def _query(self, command: str) -> Reply | None:
        model, profile = self.model, self.profile
        if command == "QPIGS":
            return replies.qpigs(model)
        if command == "QPIGS2":
            return replies.qpigs2(model) if profile.pv2_peak_w else None
        if command == "QPIRI":
            reply = replies.qpiri(model)
            model.config_changed = False  # the host has seen the new settings
            return reply
        if command == "QPIWS":
            return replies.qpiws(model)
        if command == "QFLAG":
            return replies.qflag(model)
        if command == "QDI":
            return replies.qdi(model)
        if command.startswith(("QE", "QL")) and profile.energy_counters:
            return replies.energy(model, command)
        simple = replies.simple_queries(model, self.serial).get(command)
        return simple() if simple is not None else None

    def _set(self, command: str) -> Answer:
        try:
            # The codec's rules are the one source of truth for what a setting may carry.
            command = validate_setting(command, ratings=self.ratings(), currents=self.currents())
        except SettingRejected as exc:
            return Answer(command, NAK, str(exc))
        error = apply_setter(self.model.settings, self.profile, command)
        if error is not None:
            return Answer(command, NAK, error)
        self.model.config_changed = True
        self.model.advance(0.0)  # let the new setting take effect before the next query
        return Answer(command, ACK)

    def ratings(self) -> Reading:
        """QPIRI as the codec reads it (what a host would pass to the setting validation)."""
        frame = decode_reply(encode_reply(replies.qpiri(self.model).payload))
        return codec.decode("QPIRI", frame)

    def currents(self) -> dict[str, tuple[int, ...]]:
        """The allowed charging currents (QMCHGCR / QMUCHGCR lists)."""
        return {"MCHGC": self.profile.charge_currents, "MUCHGC": self.profile.utility_charge_currents}
