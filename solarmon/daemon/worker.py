"""One device, one thread, one queue: polling cycles and control requests, never interleaved.

The worker owns the device's :class:`~solarmon.inverter.link.InverterLink`. Its thread waits for
the next cycle deadline or a queued control request, whichever comes first, and runs them one at a
time, so a setting can never land between a query and its reply. A device fault is counted, logged
on the up/down transition and retried with backoff; nothing a device does can end the thread.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from solarmon.atomicfile import write_atomic
from solarmon.daemon.config import DeviceConfig
from solarmon.daemon.health import Health
from solarmon.daemon.promfile import HealthSample, TimedReading, render
from solarmon.daemon.protocols import ProtocolSpec, detect, spec_for, write_detection
from solarmon.daemon.schedule import Clock, Interval, Schedule
from solarmon.daemon.units import Units
from solarmon.inverter.errors import CommandRefused, DeviceBusy, DeviceGone, InverterError
from solarmon.inverter.framing import BY_NAME, PI30
from solarmon.inverter.link import InverterLink
from solarmon.inverter.readings import Reading
from solarmon.inverter.transport import open_transport
from solarmon.promjournal import PromJournal

LOG = logging.getLogger(__name__)

EVERY_CYCLE = ("QMOD", "QPIWS")  # PI30 (solarmon.daemon.protocols has both protocols)
SLOW = ("QPIRI", "QFLAG")
IDLE_WAKE_S = 1.0  # the thread wakes at least this often, so its heartbeat shows it is alive


class Link(Protocol):
    """What the worker needs from an inverter link (``solarmon.inverter.link.InverterLink``)."""

    def query(self, command: str) -> Reading:
        """Send a query and return its decoded reading."""

    def send(self, command: str) -> Reading:
        """Send a setting and return the decoded ACK (NAK raises CommandRefused)."""

    def close(self) -> None:
        """Release the device."""


LinkFactory = Callable[[DeviceConfig], Link]


def open_link(device: DeviceConfig) -> InverterLink:
    """The real link factory: an InverterLink on the section's port, opened by its first exchange.

    ``timeout = 0`` lets the link size each command's timeout from its wire time at this baud. A
    failed exchange closes the transport and the next one re-opens it (``port = auto`` finds a
    renumbered hidraw node again), so one link lives as long as the daemon.
    """
    framing = BY_NAME.get(device.protocol, PI30)
    if device.usb_reset_after:
        transport = open_transport(device.porttype, device.port, device.baud, usb_reset=True)
        return InverterLink(transport, timeout_s=device.timeout_s or None, reset_after=device.usb_reset_after,
                            framing=framing)
    transport = open_transport(device.porttype, device.port, device.baud)
    return InverterLink(transport, timeout_s=device.timeout_s or None, framing=framing)


@dataclass
class _Job:
    """A control request waiting for the worker thread."""

    action: Callable[[], dict[str, Any]]
    future: Future[dict[str, Any]]


class DeviceWorker:
    """Polls one device and executes its control requests on its own thread."""

    def __init__(self, device: DeviceConfig, link_factory: LinkFactory, *, pause_s: float,
                 clock: Clock = time.monotonic, wall_clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self.link_factory = link_factory
        self.clock = clock
        self.wall_clock = wall_clock
        self.health = Health(device.name, wall_clock=wall_clock)
        self.schedule = Schedule(pause_s, retry_max_s=device.retry_max_s, clock=clock)
        self.spec: ProtocolSpec | None = None
        self.cycle_commands: tuple[str, ...] = ()
        self.slow_commands: tuple[str, ...] = ()
        self.slow: dict[str, Interval] = {}
        spec = spec_for(device.protocol)
        if spec is not None:
            self._use(spec)
        self._readings: dict[str, TimedReading] = {}
        self._readings_lock = threading.Lock()
        self._link: Link | None = None
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.heartbeat = clock()
        self.cycles = 0
        self._prom_failing = False
        self._journal = (PromJournal(device.prom_file, max_age_s=device.journal_age_s,
                                     max_bytes=int(device.journal_max_mb * 1024 * 1024), clock=wall_clock)
                         if device.journal_age_s > 0 else None)
        self._journal_failing = False
        self._discarded_before: Counter[str] = Counter()
        self.units = Units(device.name, device.parallel, wall_clock) if device.parallel is not None else None
        self._rediscover = Interval(device.settings_interval_s, clock=clock)
        self._identity_due = Interval(device.settings_interval_s, clock=clock)
        self.identity: dict[str, str] = {}  # serial_number, main_cpu_firmware_version, model_name

    # -- the protocol ----------------------------------------------------------------------

    def _use(self, spec: ProtocolSpec) -> None:
        """Poll with ``spec``'s commands (PI18: the configured QPIGS is read as GS)."""
        self.spec = spec
        if spec.name == "pi18":
            commands = tuple(spec.live if c == "QPIGS" else c for c in self.device.commands if
                             c == "QPIGS" or not c.startswith("Q"))
        else:
            commands = tuple(c for c in self.device.commands if c.startswith("Q"))
        self.cycle_commands = tuple(dict.fromkeys(commands + spec.every_cycle))
        self.slow_commands = tuple(c for c in spec.slow if c not in self.cycle_commands)
        interval = self.device.settings_interval_s
        self.slow = {c: Interval(interval, clock=self.clock) for c in self.slow_commands}

    def _detect(self) -> bool:
        """``protocol = auto``: ask the unit with queries only; True once a protocol is known."""
        def asker(protocol: str) -> Callable[[str], Reading]:
            def ask(command: str) -> Reading:
                link = self.link_factory(dataclasses.replace(self.device, protocol=protocol))
                try:
                    return link.query(command)
                finally:
                    link.close()
            return ask

        found = detect(asker("pi30"), asker("pi18"))
        write_detection(self.device.prom_output_dir / f"mpp-solar-{self.device.name}.detected.json",
                        self.device.name, found)
        if found.protocol is None:
            self.health.count_error("detect", "no answer to QPI or ^P005PI")
            return False
        self.device = dataclasses.replace(self.device, protocol=found.protocol)
        self._drop_link()
        self._use(spec_for(found.protocol))  # type: ignore[arg-type]
        return True

    # -- the device ------------------------------------------------------------------------

    def link(self) -> Link:
        """The open link, built on first use and again after a failure closed it."""
        if self._link is None:
            self._link = self.link_factory(self.device)
        return self._link

    def _drop_link(self) -> None:
        if self._link is not None:
            # Counters must not go backwards when a link is replaced: keep what this one counted.
            self._discarded_before.update(self._link_discarded())
            try:
                self._link.close()
            except Exception:  # closing a dead device may fail in any way; it is gone either way
                LOG.debug("[%s] close failed", self.device.name, exc_info=True)
            self._link = None

    def exchange(self, command: str, *, setting: bool = False) -> Reading:
        """One query or setting through the link; counts a failure in health and re-raises it."""
        try:
            link = self.link()
            reading = link.send(command) if setting else link.query(command)
        except InverterError as exc:
            # The link stays: its transport closed itself and re-opens on the next exchange.
            self.health.count_error(exc.kind, str(exc))
            raise
        except OSError as exc:
            # A transport should map these; if one slips through it is still the device failing.
            self.health.count_error(DeviceGone.kind, str(exc))
            self._drop_link()
            raise DeviceGone(str(exc)) from exc
        self.health.success()
        return reading

    def store(self, reading: Reading) -> None:
        """Keep ``reading`` as its command's latest values (what the next file shows)."""
        with self._readings_lock:
            self._readings[reading.command] = TimedReading(reading, self.wall_clock())

    def mark_slow_stale(self) -> None:
        """Read QPIRI/QFLAG again at the next cycle (after a setting changed the inverter)."""
        for interval in self.slow.values():
            interval.mark_stale()

    def latest(self, command: str) -> Reading | None:
        """The last good reading of ``command``, if any."""
        with self._readings_lock:
            item = self._readings.get(command)
        return item.reading if item is not None else None

    # -- polling -----------------------------------------------------------------------------

    def run_cycle(self) -> bool:
        """Poll once: the cycle commands, and QPIRI/QFLAG when due. True when any reply was valid.

        A per-cycle command that fails loses its old values (a stale live value is a lie); the slow
        ratings stay until they are read again.
        """
        started = self.clock()
        if self.spec is None and not self._detect():
            self.cycles += 1
            self.health.cycle_done(False, self.clock() - started)
            self.write_prom()
            return False
        if self.units is not None and self.spec is not None and self.spec.name == "pi30":
            if self._rediscover.due():
                self.units.rediscover()
                self._rediscover.done()
            self.units.prepare(self._exchange_quietly)
        commands = self.cycle_commands + tuple(c for c, interval in self.slow.items() if interval.due())
        if self.units is not None and self.units.active:
            # The units' QPGSn replace the host's own live values (it is one of them).
            commands = tuple(c for c in commands if c not in ("QPIGS", "QPIGS2"))
        fresh: set[str] = set()
        for command in commands:
            try:
                reading = self.exchange(command)
            except InverterError as exc:
                LOG.debug("[%s] %s failed: %s: %s", self.device.name, command, exc.kind, exc)
                if command in self.slow and isinstance(exc, CommandRefused):
                    self.slow[command].done()  # a unit without it must not be asked every cycle
                if isinstance(exc, DeviceGone | DeviceBusy):
                    break  # the rest would fail the same way; the next cycle re-opens
                continue
            self.store(reading)
            fresh.add(command)
            if command in self.slow:
                self.slow[command].done()
        if fresh and self.spec is not None and self._identity_due.due():
            self._read_identity(self.spec)  # only from a unit that answers: no extra failure counted
        if self.units is not None and self.spec is not None and self.spec.name == "pi30":
            fresh |= self._poll_units()
        with self._readings_lock:
            for command in self.cycle_commands:
                if command not in fresh:
                    self._readings.pop(command, None)
        ok = bool(fresh)
        self.cycles += 1
        self.health.cycle_done(ok, self.clock() - started)
        self.write_prom()
        return ok

    def _poll_units(self) -> set[str]:
        """The units of a parallel section: each QPGSn once, then the system totals."""
        assert self.units is not None
        answered = self.units.poll(self.exchange, self.latest("QPIRI"))
        with self._readings_lock:
            if self.units.total is not None:
                self._readings[self.units.total.reading.command] = self.units.total
        return answered

    def _read_identity(self, spec: ProtocolSpec) -> None:
        """Serial, firmware and model (QID/QVFW/QMN, PI18 ID/VFW) for HA's device block and the file.

        Counted like every exchange (a unit without QMN NAKs it once per settings_interval).
        """
        self._identity_due.done()
        for command in spec.identity:
            try:
                reading = self.exchange(command)
            except (DeviceGone, DeviceBusy):
                return
            except InverterError:
                continue
            self.store(reading)
            for key in ("serial_number", "main_cpu_firmware_version", "model_name"):
                value = reading.get(key)
                if isinstance(value, str) and value:
                    self.identity[key] = value

    def _exchange_quietly(self, command: str) -> Reading:
        """Discovery's probes: the absent units' NAKs are the expected answer, not device errors."""
        try:
            return self.link().query(command)
        except OSError as exc:
            self._drop_link()
            raise DeviceGone(str(exc)) from exc

    def _link_discarded(self) -> dict[str, int]:
        counters = getattr(self._link, "counters", None)
        return dict(counters().discarded) if counters is not None else {}

    def health_sample(self) -> HealthSample:
        """The health for the file, with the frames the link's transport discarded so far."""
        discarded = self._discarded_before + Counter(self._link_discarded())
        return dataclasses.replace(self.health.sample(), discarded=dict(discarded))

    def write_prom(self) -> None:
        """Write the device's .prom file from the stored readings and the health (errors logged)."""
        if "prom_file" not in self.device.outputs and "prom" not in self.device.outputs:
            return
        with self._readings_lock:
            order = [c for c in self.cycle_commands + self.slow_commands if c in self._readings]
            order += [c for c in self._readings if c not in order]
            items = [self._readings[c] for c in order]
        units = self.units.blocks() if self.units is not None and self.units.numbers else ()
        text = render(self.device.name, self.device.device_label, items, self.health_sample(), units)
        try:
            write_atomic(self.device.prom_file, text)
        except OSError as exc:
            # Logged once until it works again: a full disk must not also fill the journal.
            if not self._prom_failing:
                LOG.error("[%s] cannot write %s: %s", self.device.name, self.device.prom_file, exc)
            self._prom_failing = True
            return
        if self._prom_failing:
            LOG.warning("[%s] writing %s works again", self.device.name, self.device.prom_file)
        self._prom_failing = False
        self._append_journal(text)

    def _append_journal(self, text: str) -> None:
        """Journal the text just written (for the web app's replay); errors logged on the transition."""
        if self._journal is None:
            return
        try:
            self._journal.append(text)
        except OSError as exc:
            if not self._journal_failing:
                LOG.error("[%s] cannot append to %s: %s", self.device.name, self._journal.path, exc)
            self._journal_failing = True
            return
        if self._journal_failing:
            LOG.warning("[%s] appending to %s works again", self.device.name, self._journal.path)
        self._journal_failing = False

    # -- the thread ----------------------------------------------------------------------------

    def submit(self, action: Callable[[], dict[str, Any]]) -> Future[dict[str, Any]]:
        """Queue ``action`` to run on the worker thread between cycles; its result is the reply."""
        future: Future[dict[str, Any]] = Future()
        if self._stopping.is_set():
            future.set_result({"ok": False, "error": "stopping", "message": "the daemon is stopping"})
        else:
            self._jobs.put(_Job(action, future))
        return future

    def _run_job(self, job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return
        try:
            job.future.set_result(job.action())
        except Exception as exc:  # a bug in one request must not take the device down
            LOG.exception("[%s] control request failed", self.device.name)
            job.future.set_result({"ok": False, "error": "internal", "message": str(exc)})

    def loop(self) -> None:
        """The thread body: cycles on schedule, jobs in between, until :meth:`stop`."""
        while not self._stopping.is_set():
            self.heartbeat = self.clock()
            try:
                job = self._jobs.get(timeout=min(self.schedule.seconds_left(), IDLE_WAKE_S))
            except queue.Empty:
                job = None
            if job is None and self._stopping.is_set():
                break
            if job is not None:
                self._run_job(job)
                continue  # run every queued request before the next cycle check
            if self.schedule.due():
                try:
                    ok = self.run_cycle()
                except Exception:  # never die: log the bug, count the cycle as failed
                    LOG.exception("[%s] poll cycle failed", self.device.name)
                    ok = False
                if ok:
                    self.schedule.succeeded()
                else:
                    self.schedule.failed()
        self._drain_jobs()
        self._drop_link()
        if self._journal is not None:
            self._journal.close()

    def _drain_jobs(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and not job.future.done():
                job.future.set_result({"ok": False, "error": "stopping", "message": "the daemon is stopping"})

    def start(self) -> None:
        """Start the thread (the first cycle runs at once)."""
        self._thread = threading.Thread(target=self.loop, name=f"device-{self.device.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the current exchange, answer queued requests with "stopping", close the device."""
        self._stopping.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)
        else:
            self._drain_jobs()
            self._drop_link()

    def stalled(self, limit_s: float) -> bool:
        """True when the thread has not come round its loop for ``limit_s`` (the watchdog's test)."""
        alive = self._thread is not None and self._thread.is_alive()
        return not alive or self.clock() - self.heartbeat > limit_s
