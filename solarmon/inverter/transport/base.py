"""The transport contract: one request out, the one reply that belongs to it back.

:class:`Transport` owns the exchange algorithm both device kinds share — take the device lock,
drain stale bytes, write the request, collect frames until ours arrives or the deadline passes —
and leaves the device-specific reading and writing to subclasses. A device failure closes the
transport and raises :class:`DeviceGone`; the next exchange opens it again (PI30.md §5).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from solarmon.inverter.errors import DeviceGone, DeviceTimeout
from solarmon.inverter.frame import ReplyFrame, encode_request
from solarmon.inverter.transport.collector import Accept, ReplyCollector
from solarmon.inverter.transport.lock import DeviceLock

DEFAULT_BAUD = 2400


@dataclass
class TransportStats:
    """What happened on the wire so far; :meth:`Transport.stats` hands out copies."""

    exchanges: int = 0
    replies: int = 0
    timeouts: int = 0
    opens: int = 0
    device_gone: int = 0
    drained_bytes: int = 0
    discarded: Counter[str] = field(default_factory=Counter)

    def copy(self) -> TransportStats:
        """A snapshot that later exchanges do not change."""
        return TransportStats(
            exchanges=self.exchanges,
            replies=self.replies,
            timeouts=self.timeouts,
            opens=self.opens,
            device_gone=self.device_gone,
            drained_bytes=self.drained_bytes,
            discarded=Counter(self.discarded),
        )


class Transport(ABC):
    """A PI30 device on a file: ``open()``, ``close()``, ``exchange()``; a context manager.

    ``exclusive`` takes the advisory device lock (see :mod:`.lock`) on every open, so a second
    process — or a second transport in this one — gets :class:`DeviceBusy` instead of
    interleaving its commands with ours.
    """

    porttype = "base"

    def __init__(
        self,
        port: str,
        *,
        baud: int = DEFAULT_BAUD,
        exclusive: bool = True,
        lock_dir: str | Path | None = None,
    ) -> None:
        self.port = port
        self.baud = baud
        self._exclusive = exclusive
        self._lock_dir = None if lock_dir is None else Path(lock_dir)
        self._lock: DeviceLock | None = None
        self._stats = TransportStats()
        # One exchange at a time even when several threads share the transport.
        self._mutex = threading.RLock()
        # Counters have their own lock so stats() never waits for a slow exchange.
        self._stats_lock = threading.Lock()

    # -- device-specific parts -------------------------------------------------------------

    @abstractmethod
    def _open_device(self) -> tuple[str, int]:
        """Open the device; return its path and a file descriptor to lock."""

    @abstractmethod
    def _close_device(self) -> None:
        """Close the device (never raises)."""

    @abstractmethod
    def _drain(self) -> int:
        """Throw away whatever the device sent before this command; return the byte count."""

    @abstractmethod
    def _write(self, request: bytes, deadline: float) -> None:
        """Send one request frame."""

    @abstractmethod
    def _read_into(self, collector: ReplyCollector, deadline: float) -> ReplyFrame | None:
        """Wait for input until ``deadline``, feed it to ``collector``; return our reply if complete."""

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """True while the device is open."""

    @abstractmethod
    def fileno(self) -> int:
        """The open device's file descriptor (for poll/select); DeviceGone when closed."""

    # -- the shared algorithm ----------------------------------------------------------------

    def open(self) -> None:
        """Open (and lock) the device. Raises DeviceGone or DeviceBusy."""
        with self._mutex:
            if self.is_open:
                return
            path, fd = self._open_device()
            if self._exclusive:
                lock = DeviceLock(path, lock_dir=self._lock_dir)
                try:
                    lock.acquire(fd)
                except BaseException:
                    self._close_device()
                    raise
                self._lock = lock
            self._count(opens=1)

    def close(self) -> None:
        """Close the device and release the lock; safe to call twice."""
        with self._mutex:
            self._close_device()
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def exchange(
        self,
        command: str,
        *,
        timeout_s: float,
        accept: Accept | None = None,
        allow_no_crc: bool = False,
        framing: Any = None,
    ) -> ReplyFrame:
        """Send ``command`` and return its reply frame.

        Frames that fail to decode or that ``accept`` rejects are discarded and counted; reading
        goes on until ``timeout_s``. Then the last framing error seen is raised, else
        :class:`DeviceTimeout`. A failing device raises :class:`DeviceGone` and is closed.
        """
        # framing: a solarmon.inverter.framing.Framing (PI18); None is PI30, this module's own.
        request = encode_request(command) if framing is None else framing.encode_request(command)
        with self._mutex:
            self._count(exchanges=1)
            deadline = time.monotonic() + timeout_s
            if framing is None:
                collector = ReplyCollector(command, accept=accept, allow_no_crc=allow_no_crc)
            else:
                collector = ReplyCollector(command, accept=accept, allow_no_crc=allow_no_crc,
                                           decoder=framing.decode_reply, resync_byte=framing.resync_byte,
                                           frame_start=framing.frame_start)
            try:
                self.open()
                self._count(drained_bytes=self._drain())
                self._write(request, deadline)
                while time.monotonic() < deadline:
                    frame = self._read_into(collector, deadline)
                    if frame is not None:
                        self._count(replies=1, drained_bytes=collector.leftover_bytes)
                        return frame
                collector.finish()
            except DeviceGone:
                self._count(device_gone=1)
                self.close()
                raise
            finally:
                with self._stats_lock:
                    self._stats.discarded.update(collector.discarded)
            self._count(timeouts=1)
            if collector.last_error is not None:
                raise collector.last_error
            raise DeviceTimeout(f"no reply to {command} within {timeout_s:.2f} s on {self.port}")

    def exchange_bytes(self, request: bytes, *, timeout_s: float, complete: Callable[[bytes], bool],
                       quiet_s: float = 0.0) -> bytes:
        """Send raw ``request`` bytes (another protocol on this port: a BMS) and return what came back.

        Reads until ``complete(received)`` is true, then for as long as more bytes keep coming
        within ``quiet_s`` (answers of unknown frame count); at ``timeout_s`` returns what arrived
        (the caller's codec calls a partial frame truncated). Nothing at all raises
        :class:`DeviceTimeout`; the port, its lock and DeviceGone handling are the same as
        :meth:`exchange`. No frame is checked here: the caller's codec does that.
        """
        with self._mutex:
            self._count(exchanges=1)
            deadline = time.monotonic() + timeout_s
            sink = _ByteSink()
            try:
                self.open()
                self._count(drained_bytes=self._drain())
                self._write(request, deadline)
                while time.monotonic() < deadline:
                    done = bool(sink.data) and complete(bytes(sink.data))
                    before = len(sink.data)
                    wait_until = min(deadline, time.monotonic() + quiet_s) if done else deadline
                    self._read_into(sink, wait_until)  # type: ignore[arg-type]
                    if done and len(sink.data) == before:
                        break
            except DeviceGone:
                self._count(device_gone=1)
                self.close()
                raise
            if not sink.data:
                self._count(timeouts=1)
                raise DeviceTimeout(f"no answer within {timeout_s:.2f} s on {self.port}")
            self._count(replies=1)
            return bytes(sink.data)

    def stats(self) -> TransportStats:
        """A copy of the counters (does not wait for an exchange in progress)."""
        with self._stats_lock:
            return self._stats.copy()

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, amount in increments.items():
                setattr(self._stats, name, getattr(self._stats, name) + amount)

    def reset_device(self) -> bool:
        """Reset a wedged device if this transport can; True when a reset was done."""
        return False

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _ByteSink:
    """A stand-in collector for :meth:`Transport.exchange_bytes`: keeps every byte, finds no frame."""

    def __init__(self) -> None:
        self.data = bytearray()

    def feed_stream(self, data: bytes) -> None:
        """Keep bytes read from a serial line."""
        self.data += data

    def feed_report(self, report: bytes) -> None:
        """Keep a HID report as it is (a BMS does not sit behind a HID bridge; kept for symmetry)."""
        self.data += report

