"""The inverter link: the one place where a transport and the codec meet.

``InverterLink(transport).query("QPIGS")`` sends the command, accepts only a reply that fits it
(the framing's ``reply_fits``: a stale reply to another command is discarded by the transport), decodes it
into a :class:`Reading` and counts every failure by kind. Timeouts are sized per command from the
wire (:mod:`transport.wire`). After a :class:`DeviceGone` the transport is closed and the next
call opens it again; after ``reset_after`` consecutive failures without a reply the link asks the
transport to reset the USB device (hidraw with a resetter only).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from solarmon.inverter.errors import CommandEchoed, DeviceGone, DeviceTimeout, InverterError
from solarmon.inverter.frame import FrameError
from solarmon.inverter.framing import PI30, Framing
from solarmon.inverter.readings import Reading
from solarmon.inverter.transport.base import Transport
from solarmon.inverter.transport.wire import DEFAULT_MARGIN_S, wire_time_s

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkCounters:
    """A snapshot of the link's counters (for the daemon's error metrics and /api/status)."""

    queries: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # by InverterError.kind
    discarded: dict[str, int] = field(default_factory=dict)  # frames the transport threw away
    drained_bytes: int = 0
    opens: int = 0
    resets: int = 0
    consecutive_failures: int = 0


class InverterLink:
    """Queries and settings over one transport, with per-command timeouts and error counters.

    ``timeout_s`` fixes the timeout of every command; ``None`` sizes it from the wire per command
    (longest plausible reply at the transport's baud rate + ``margin_s``). ``allow_no_crc``
    accepts replies from firmware that sends none (flagged in the frame). ``reset_after`` (None:
    never) resets the USB device after that many consecutive timeouts / device-gone failures.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float | None = None,
        allow_no_crc: bool = False,
        margin_s: float = DEFAULT_MARGIN_S,
        reset_after: int | None = None,
        framing: Framing = PI30,
    ) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if reset_after is not None and reset_after < 1:
            raise ValueError(f"reset_after must be at least 1, got {reset_after}")
        self.transport = transport
        self.framing = framing
        self._timeout_s = timeout_s
        self._allow_no_crc = allow_no_crc
        self._margin_s = margin_s
        self._reset_after = reset_after
        # One query at a time; counters under their own lock so counters() never waits for I/O.
        self._io_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._queries = 0
        self._ok = 0
        self._errors: Counter[str] = Counter()
        self._resets = 0
        self._consecutive_failures = 0

    def timeout_for(self, command: str) -> float:
        """The timeout this link uses for ``command``."""
        if self._timeout_s is not None:
            return self._timeout_s
        n_bytes = len(self.framing.encode_request(command)) + self.framing.reply_budget_bytes(command)
        return wire_time_s(n_bytes, self.transport.baud) + self._margin_s

    def query(self, command: str) -> Reading:
        """Send a query and return its decoded reading.

        Raises CommandRefused (NAK; its subclass CommandEchoed, kind "echo", when the command came
        back: the unit does not know it, or the adapter is miswired), DeviceTimeout, DeviceGone,
        DeviceBusy, FrameError (only corrupt frames arrived) or DecodeError (a sound frame that does
        not fit the command).
        """
        return self._run(command)

    def send(self, command: str) -> Reading:
        """Send a setting and return the decoded ACK; raises CommandRefused on NAK.

        Validation (ranges, policy) is the caller's job (``setters.validate_setting``): the link
        sends what it is given.
        """
        return self._run(command)

    def _run(self, command: str) -> Reading:
        with self._io_lock:
            with self._count_lock:
                self._queries += 1
            try:
                frame = self.transport.exchange(
                    command,
                    timeout_s=self.timeout_for(command),
                    # NAK fits every command, ACK only setters, and a query's reply its shape.
                    accept=lambda frame: self.framing.reply_fits(command, frame),
                    allow_no_crc=self._allow_no_crc,
                    **({} if self.framing is PI30 else {"framing": self.framing}),
                )
                reading = self.framing.decode(command, frame)
            except InverterError as err:
                self._failed(command, err)
                raise
            with self._count_lock:
                self._ok += 1
                self._consecutive_failures = 0
            return reading

    def _failed(self, command: str, err: InverterError) -> None:
        silent = isinstance(err, DeviceTimeout | DeviceGone)
        with self._count_lock:
            self._errors[err.kind] += 1
            # Anything else means the device answered something: it is alive.
            self._consecutive_failures = self._consecutive_failures + 1 if silent else 0
            due = self._reset_after is not None and self._consecutive_failures >= self._reset_after
            if due:
                self._consecutive_failures = 0
        if due:
            self._reset()
        if isinstance(err, FrameError) and err.kind == "echo":
            # Some firmware echoes a command it does not know instead of NAKing it (PI30.md §5).
            raise CommandEchoed(f"the inverter echoed {command} back: it does not support it") from err

    def _reset(self) -> None:
        try:
            done = self.transport.reset_device()
        except InverterError as reset_err:
            with self._count_lock:
                self._errors["reset_failed"] += 1
            log.warning("USB reset failed: %s", reset_err)
            return
        if done:
            with self._count_lock:
                self._resets += 1
            log.warning("reset the inverter's USB device after %d failures", self._reset_after)

    def counters(self) -> LinkCounters:
        """A snapshot of the counters, including the transport's discarded frames."""
        stats = self.transport.stats()
        with self._count_lock:
            return LinkCounters(
                queries=self._queries,
                ok=self._ok,
                errors=dict(self._errors),
                discarded=dict(stats.discarded),
                drained_bytes=stats.drained_bytes,
                opens=stats.opens,
                resets=self._resets,
                consecutive_failures=self._consecutive_failures,
            )

    def close(self) -> None:
        """Close the transport (the next call opens it again)."""
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
