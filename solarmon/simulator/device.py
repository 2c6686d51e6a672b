"""The device loop: takes request bytes from a port, answers through the firmware, injects faults,
and puts the reply on the wire at the UART's pace.

One worker thread plays the inverter's single UART: requests are answered one at a time, in
order. A reply starts after the request's own wire time plus a short turnaround, and its bytes
become visible at 10 bits a byte (``baud``): byte by byte on a pty, in 8-byte reports on hidraw,
where a report is ready when its last byte has crossed the UART.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from typing import Protocol

from solarmon.inverter.frame import FrameError, decode_reply
from solarmon.simulator.faults import EXPECTED, FaultPlan, FaultRule, mangle
from solarmon.simulator.inverter import NAK, Answer, Inverter
from solarmon.simulator.truth import TruthLog

DEFAULT_TURNAROUND_S = 0.02
MAX_REQUEST_BYTES = 256  # firmware discards a line this long without CR
POLL_S = 0.02
TICK_S = 0.5


class Port(Protocol):
    """The device-file side: a pty or the FUSE hidraw node."""

    chunk_size: int  # 1 for a byte stream, 8 for hidraw reports
    report_interval_s: float  # least time between two reports (USB interrupt interval); 0 for a stream

    @property
    def node(self) -> str:
        """The current device node (e.g. /dev/pts/5 or <mount>/hidraw1)."""
        ...

    def send(self, data: bytes) -> None:
        """Make ``data`` readable by the client now."""
        ...

    def unplug(self) -> None:
        """The device disappears."""
        ...

    def replug(self) -> None:
        """The device comes back as a new node."""
        ...


def wire_time_s(nbytes: int, baud: int) -> float:
    """Seconds ``nbytes`` take on a UART at ``baud`` (8N1: 10 bits a byte); 0 when unpaced."""
    return 0.0 if baud <= 0 else nbytes * 10.0 / baud


class Device:
    """Serves one :class:`Inverter` on one :class:`Port`; ``start()`` / ``stop()`` the worker."""

    def __init__(
        self,
        inverter: Inverter,
        port: Port,
        plan: FaultPlan,
        truth: TruthLog,
        *,
        baud: int = 2400,
        turnaround_s: float = DEFAULT_TURNAROUND_S,
        seed: int = 0,
    ) -> None:
        self.inverter = inverter
        self.port = port
        self.plan = plan
        self.truth = truth
        self.baud = baud
        self.turnaround_s = turnaround_s
        self._rng = random.Random(
            seed ^ 0xFA17
        )  # faults draw apart from the model: same world either way
        self._inbox: queue.Queue[tuple[bytes, float]] = queue.Queue()
        self._unplugs: queue.Queue[tuple[float, str]] = queue.Queue()
        self._buffer = bytearray()
        self._buffer_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._away_until: float | None = None
        self._pending_tail = b""
        self._tail_deadline = 0.0
        self._seq = 0
        self._plan_lock = (
            threading.Lock()
        )  # the control socket swaps rules while the worker reads them

    # --- called from other threads -----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes the client wrote: queue each complete request line (up to its CR).

        NUL bytes between requests (the zero padding of a hidraw report after the CR) are dropped;
        a NUL inside a request is data (a CRC byte may be 0x00) and is kept.
        """
        now = time.monotonic()
        with self._buffer_lock:
            self._buffer += data
            while True:
                padding = len(self._buffer) - len(self._buffer.lstrip(b"\x00"))
                del self._buffer[:padding]
                end = self._buffer.find(b"\r")
                if end < 0:
                    break
                frame = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                self._inbox.put((frame, now))
            if len(self._buffer) > MAX_REQUEST_BYTES:
                self._buffer.clear()

    def unplug_for(self, seconds: float, reason: str) -> None:
        """Take the device away for ``seconds`` (control socket or fault); it comes back as a new node."""
        self._unplugs.put(
            (seconds, reason)
        )  # the worker does it, so port changes stay on one thread

    def replace_faults(self, rules: list[FaultRule], now: float) -> None:
        """New fault rules from the control socket; their schedules count from ``now`` (monotonic)."""
        with self._plan_lock:
            self.plan.replace(rules, self._elapsed(now))
        self.truth.write("faults_replaced", rules=[rule.kind for rule in rules])

    def start(self) -> None:
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._run, name="sim-device", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker (a reply being sent is cut short)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    # --- the worker --------------------------------------------------------------------------

    def _elapsed(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.truth.origin

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_tick:
                # Keep the model near the clock, so a fast --speed never piles up hours to catch up.
                self.inverter.tick()
                next_tick = now + TICK_S
            if self._away_until is not None and now >= self._away_until:
                self._come_back()
            elif self._away_until is None:
                with self._plan_lock:
                    rule = self.plan.due_gone(self._elapsed(now))
                if rule is not None:
                    self._go_away(rule.param, "scheduled")
            while not self._unplugs.empty():
                seconds, reason = self._unplugs.get_nowait()
                if self._away_until is None:
                    self._go_away(seconds, reason)
            if self._pending_tail and now >= self._tail_deadline:
                self._flush_tail(now)
            try:
                frame, received = self._inbox.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if self._away_until is None:
                self._exchange(frame, received)

    def _go_away(self, seconds: float, reason: str) -> None:
        self._pending_tail = b""
        self.port.unplug()
        self._away_until = time.monotonic() + seconds
        with self._plan_lock:
            self.plan.power_cycled(self._elapsed())
        self.truth.write("gone", seconds=seconds, reason=reason)
        # Requests written just before the device went are lost with it.
        while not self._inbox.empty():
            self._inbox.get_nowait()

    def _come_back(self) -> None:
        self._away_until = None
        with self._buffer_lock:
            self._buffer.clear()
        self.port.replug()
        self.truth.write("back", node=self.port.node)

    def _flush_tail(self, now: float) -> None:
        tail, self._pending_tail = self._pending_tail, b""
        self.truth.write("late_tail", sent_hex=tail.hex())
        self._transmit(tail, now)

    def _exchange(self, frame: bytes, received: float) -> None:
        with self._plan_lock:
            rule = self.plan.for_request(self._elapsed(received))
        kind = rule.kind if rule is not None else None
        command = self.inverter.parse(frame)
        if kind in ("nak", "gone") and command is not None and self.inverter.is_setting(command):
            # The firmware never acts on it: a client told NAK (or nothing) must find it unchanged.
            answer = Answer(command, NAK, f"fault {kind}: the setting was not applied")
        else:
            answer = self.inverter.answer(frame)
        self._seq += 1
        if kind == "gone":
            self.truth.write(
                "exchange", seq=self._seq, request=answer.command, fault="gone", expect="timeout"
            )
            self._go_away(rule.param if rule else 5.0, "fault")
            return
        mangled = mangle(kind, answer.reply.payload, frame, self._rng, rule.param if rule else 0.0,
                         encode=self.inverter.encode)
        self.truth.write(
            "exchange",
            seq=self._seq,
            sim_time=self.inverter.model.now.isoformat(),
            request=answer.command,
            request_hex=frame.hex(),
            payload=answer.reply.payload,
            values=answer.reply.values,
            nak_reason=answer.reason or None,
            fault=kind,
            expect=EXPECTED.get(kind, "reject"),
            sent_hex=mangled.head.hex(),
            valid=self.inverter.frame_ok(mangled.head),
        )
        start = received + wire_time_s(len(frame), self.baud) + self.turnaround_s
        if kind != "late":
            start += mangled.extra_delay_s
        if self._pending_tail:
            # The stale tail of the previous reply arrives first, during this command.
            tail, self._pending_tail = self._pending_tail, b""
            self.truth.write("late_tail", sent_hex=tail.hex(), before_seq=self._seq)
            self._transmit(tail, start)
            start += wire_time_s(len(tail), self.baud)
        self._transmit(mangled.head, start)
        if mangled.tail:
            self._pending_tail = mangled.tail
            self._tail_deadline = time.monotonic() + mangled.extra_delay_s

    def _transmit(self, data: bytes, start: float) -> None:
        """Send ``data`` so that byte i is readable when it has crossed the UART after ``start``."""
        if self.port.chunk_size == 1:
            self._transmit_stream(data, start)
        else:
            self._transmit_reports(data, start)

    def _transmit_stream(self, data: bytes, start: float) -> None:
        byte_s = wire_time_s(1, self.baud)
        sent = 0
        while sent < len(data) and not self._stop.is_set():
            now = time.monotonic()
            due = len(data) if byte_s == 0 else min(len(data), int((now - start) / byte_s))
            if due > sent:
                self.port.send(data[sent:due])
                sent = due
            else:
                self._stop.wait(start + (sent + 1) * byte_s - now)

    def _transmit_reports(self, data: bytes, start: float) -> None:
        # A report leaves the bridge when its last byte has crossed the UART, and no sooner than
        # one interrupt interval after the previous one (the USB side's own limit).
        byte_s = wire_time_s(1, self.baud)
        interval = self.port.report_interval_s if self.baud > 0 else 0.0
        size, previous = self.port.chunk_size, float("-inf")
        for offset in range(0, len(data), size):
            piece = data[offset : offset + size]
            ready = max(start + (offset + len(piece)) * byte_s, previous + interval)
            delay = ready - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            self.port.send(piece)
            previous = ready


def _is_valid(raw: bytes) -> bool:
    """Whether ``raw`` is a frame a strict client accepts (CRC checked)."""
    try:
        decode_reply(raw)
    except FrameError:
        return False
    return True
