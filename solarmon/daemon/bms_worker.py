"""One BMS section (``type = jkbms|dalybms``): its own thread polling the BMS and writing its .prom file.

The BMS is polled like an inverter: on the serial transport with its device lock, on the same
schedule (``pause``, backoff to ``retry_max``), with the same health (up, errors by kind, poll
duration) and the same ``.prom`` contract (``mpp_solar_field_info`` from the BMS catalog,
per-command reading timestamps, ``# EOF``). A question whose answer fails its frame checks is
counted under the frame error's kind (``crc``, ``truncated``, ``foreign``, ``decode``) and its
values are withdrawn from the file, never shown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from solarmon.atomicfile import write_atomic
from solarmon.bms import catalog as bms_catalog
from solarmon.bms.errors import FRAME_ERROR_KINDS
from solarmon.bms.link import BmsLink
from solarmon.bms.readings import BmsReading
from solarmon.daemon.config import DeviceConfig
from solarmon.daemon.health import Health
from solarmon.daemon.promfile import BASE_ERROR_KINDS, HealthSample, TimedReading, render
from solarmon.daemon.schedule import Clock, Schedule
from solarmon.inverter.errors import DeviceBusy, DeviceGone, InverterError
from solarmon.inverter.transport import open_transport

LOG = logging.getLogger(__name__)

ERROR_KINDS = tuple(dict.fromkeys((*BASE_ERROR_KINDS, *FRAME_ERROR_KINDS, "foreign")))
IDLE_WAKE_S = 1.0

BmsLinkFactory = Callable[[DeviceConfig], BmsLink]


def open_bms_link(device: DeviceConfig) -> BmsLink:
    """The real factory: a BmsLink on the section's serial port (opened by its first exchange)."""
    transport = open_transport("serial", device.port, device.baud)
    return BmsLink(transport, device.protocol, timeout_s=device.timeout_s or None)


class BmsWorker:
    """Polls one BMS on its own thread; the daemon treats it like a device worker."""

    cycle_commands: tuple[str, ...] = ()
    slow_commands: tuple[str, ...] = ()

    def __init__(self, device: DeviceConfig, link_factory: BmsLinkFactory = open_bms_link, *,
                 pause_s: float, clock: Clock = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self.link_factory = link_factory
        self.clock = clock
        self.wall_clock = wall_clock
        self.health = Health(device.name, wall_clock=wall_clock, what="BMS")
        self.schedule = Schedule(pause_s, retry_max_s=device.retry_max_s, clock=clock)
        self._link: BmsLink | None = None
        self._readings: dict[str, TimedReading] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.heartbeat = clock()
        self.cycles = 0

    def link(self) -> BmsLink:
        """The link, built on first use."""
        if self._link is None:
            self._link = self.link_factory(self.device)
        return self._link

    def latest(self, command: str) -> BmsReading | None:
        """The last good reading of ``command``, if any."""
        with self._lock:
            item = self._readings.get(command)
        return item.reading if item is not None else None

    def run_cycle(self) -> bool:
        """Ask every question of the BMS's protocol once; True when any answer was valid."""
        started = self.clock()
        fresh: dict[str, TimedReading] = {}
        for outcome in self.link().poll():
            if isinstance(outcome, InverterError):
                self.health.count_error(outcome.kind, str(outcome))
                LOG.debug("[%s] %s: %s", self.device.name, outcome.kind, outcome)
                if isinstance(outcome, DeviceGone | DeviceBusy):
                    break
                continue
            self.health.success()
            fresh[outcome.command] = TimedReading(outcome, self.wall_clock())
        with self._lock:
            self._readings = fresh  # a question that failed this cycle has its values withdrawn
        ok = bool(fresh)
        self.cycles += 1
        self.health.cycle_done(ok, self.clock() - started)
        self.write_prom()
        return ok

    def health_sample(self) -> HealthSample:
        """The health for the file."""
        return self.health.sample()

    def write_prom(self) -> None:
        """Write ``mpp-solar-<section>.prom`` (errors are logged, polling goes on)."""
        with self._lock:
            items = list(self._readings.values())
        text = render(self.device.name, self.device.device_label, items, self.health_sample(),
                      describe=bms_catalog.of_field, error_kinds=ERROR_KINDS)
        try:
            write_atomic(self.device.prom_file, text)
        except OSError as exc:
            LOG.error("[%s] cannot write %s: %s", self.device.name, self.device.prom_file, exc)

    def submit(self, action: Callable[[], dict[str, Any]]) -> Future[dict[str, Any]]:
        """Control requests are not taken by a BMS: answered at once with an error."""
        future: Future[dict[str, Any]] = Future()
        future.set_result({"ok": False, "error": "unsupported",
                           "message": f"[{self.device.name}] is a BMS ({self.device.device_type}): "
                                      "it takes no commands"})
        return future

    def loop(self) -> None:
        """The thread body: a cycle whenever the schedule says so, until :meth:`stop`."""
        while not self._stopping.is_set():
            self.heartbeat = self.clock()
            if self._stopping.wait(min(self.schedule.seconds_left(), IDLE_WAKE_S)):
                break
            if not self.schedule.due():
                continue
            try:
                ok = self.run_cycle()
            except Exception:  # never die: log the bug, count the cycle as failed
                LOG.exception("[%s] poll cycle failed", self.device.name)
                ok = False
            if ok:
                self.schedule.succeeded()
            else:
                self.schedule.failed()
        self._close()

    def _close(self) -> None:
        if self._link is not None:
            try:
                self._link.close()
            except Exception:  # closing a dead port may fail in any way; it is gone either way
                LOG.debug("[%s] close failed", self.device.name, exc_info=True)
            self._link = None

    def start(self) -> None:
        """Start the thread (the first cycle runs at once)."""
        self._thread = threading.Thread(target=self.loop, name=f"bms-{self.device.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and close the port."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        else:
            self._close()

    def stalled(self, limit_s: float) -> bool:
        """True when the thread has not come round its loop for ``limit_s``."""
        alive = self._thread is not None and self._thread.is_alive()
        return not alive or self.clock() - self.heartbeat > limit_s
