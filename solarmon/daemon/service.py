"""The daemon as one object: build everything from the config, then start, run, stop.

Building starts nothing (house style: build first, start later). :meth:`Daemon.run` starts the
device workers and the control socket, tells systemd it is ready, and pings the watchdog only
while every worker keeps coming round its loop, so a wedged thread gets the service restarted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from solarmon.daemon.actions import Actions
from solarmon.daemon.audit import AuditLog
from solarmon.daemon.bms_worker import BmsLinkFactory, BmsWorker, open_bms_link
from solarmon.daemon.config import Config
from solarmon.daemon.control import ControlServer, SocketInUse
from solarmon.daemon.notify import Notifier
from solarmon.daemon.units import unit_label
from solarmon.daemon.worker import DeviceWorker, LinkFactory
from solarmon.inverter.parallel import MAX_UNITS

LOG = logging.getLogger(__name__)

# A worker that has not come round its loop for this long (beyond its own worst-case cycle) is stuck.
STALL_MARGIN_S = 30.0
WORST_CASE_EXCHANGE_S = 5.0
# How long a control request may wait for its device's queue (a cycle of timeouts, then ours).
REPLY_TIMEOUT_S = 120.0


def _units_of(name: str, worker: DeviceWorker | BmsWorker) -> dict[str, Any]:
    """``{"units": [{"unit": n, "device": "<section>-unit<n>"}...]}`` of a parallel section, else {}."""
    units = getattr(worker, "units", None)
    numbers = units.numbers if units is not None else None
    if not numbers:
        return {}
    return {"units": [{"unit": n, "device": unit_label(name, n)} for n in numbers]}


class Daemon:
    """All devices of one config, the control socket and the systemd notifier."""

    def __init__(self, config: Config, link_factory: LinkFactory, *, notifier: Notifier | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 bms_link_factory: BmsLinkFactory = open_bms_link) -> None:
        self.config = config
        self.notifier = notifier or Notifier()
        self.audit = AuditLog(config.setup.audit_log)
        inverters = {d.name: DeviceWorker(d, link_factory, pause_s=config.setup.pause_s, clock=clock)
                     for d in config.devices if not d.is_bms}
        # A BMS section (type = jkbms|dalybms) has its own worker, file and health, and takes no commands.
        bmss = {d.name: BmsWorker(d, bms_link_factory, pause_s=config.setup.pause_s, clock=clock)
                for d in config.devices if d.is_bms}
        self.workers: dict[str, DeviceWorker | BmsWorker] = {
            d.name: inverters.get(d.name) or bmss[d.name] for d in config.devices}
        self.actions = {name: Actions(worker, self.audit) for name, worker in inverters.items()}
        self.control: ControlServer | None = None
        if config.setup.control_socket is not None:
            self.control = ControlServer(config.setup.control_socket, self.dispatch, self.status,
                                         reply_timeout_s=REPLY_TIMEOUT_S)
        self.stop_event = threading.Event()
        self.mqtt: Any = None  # the MQTT output, built and started by start() when configured

    # -- requests --------------------------------------------------------------------------

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Queue a control request on its device's worker and wait for the reply (KeyError: no device)."""
        name = request.get("device") or self.config.devices[0].name
        worker = self.workers[name]
        actions = self.actions.get(name)
        if actions is None:  # a BMS: its worker answers that it takes no commands
            return worker.submit(dict).result(timeout=REPLY_TIMEOUT_S)
        future = worker.submit(lambda: actions.run(request))
        return future.result(timeout=REPLY_TIMEOUT_S)

    def status(self) -> dict[str, Any]:
        """Health of every device (a copy), with the setting families it allows (the settings page
        offers only those)."""
        return {name: {"port": w.device.port, "porttype": w.device.porttype, "cycles": w.cycles,
                       "allowed_settings": list(w.device.allowed_settings),
                       **_units_of(name, w), **w.health.snapshot()} for name, w in self.workers.items()}

    # -- modes ---------------------------------------------------------------------------------

    def run_once(self) -> int:
        """One cycle of every device, files written: 0 when every device answered, else 1."""
        failed = []
        for name, worker in self.workers.items():
            try:
                ok = worker.run_cycle()
            finally:
                worker.stop()
            if ok:
                LOG.info("[%s] ok: %s", name, worker.device.prom_file)
            else:
                failed.append(name)
                LOG.error("[%s] no valid reply from %s: %s", name, worker.device.port,
                          worker.health.snapshot()["last_error"] or "nothing received")
        return 1 if failed else 0

    def _stall_limit_s(self, worker: DeviceWorker | BmsWorker) -> float:
        commands = len(worker.cycle_commands) + len(worker.slow_commands) + 2
        if isinstance(worker, DeviceWorker):  # a BMS has no identity reads, detection or units
            commands += len(worker.spec.identity) if worker.spec is not None else 4  # identity, or detection
            if worker.units is not None:
                commands += 2 * MAX_UNITS  # discovery's probes and a QPGSn per unit
        per_exchange = worker.device.timeout_s or WORST_CASE_EXCHANGE_S
        return commands * per_exchange + STALL_MARGIN_S

    def healthy_threads(self) -> bool:
        """True when every worker thread is alive and not stuck (what the watchdog ping vouches for)."""
        return not any(w.stalled(self._stall_limit_s(w)) for w in self.workers.values())

    def _status_line(self) -> str:
        up = sum(w.health.up for w in self.workers.values())
        return f"{up}/{len(self.workers)} devices up"

    def start(self) -> None:
        """Start the control socket, then the workers.

        Another daemon on the socket (SocketInUse) stops the start: two daemons would fight over
        the devices. A socket that cannot be created (no permission, no folder) is logged and the
        polling runs without it: the files are worth more than the remote control.
        """
        if self.control is not None:
            try:
                self.control.start()
            except SocketInUse:
                raise
            except OSError as exc:
                LOG.error("control socket %s unavailable, polling without it: %s", self.control.path, exc)
                self.control = None
        for worker in self.workers.values():
            worker.start()
        self._start_mqtt()

    def _start_mqtt(self) -> None:
        """The mqtt / hass_mqtt outputs (daemon/mqtt_output.py): a failure is logged, polling goes on."""
        from solarmon.confighelper import ConfigError
        from solarmon.daemon.mqtt_output import build_daemon_mqtt
        from solarmon.mqtt.client import MqttError

        try:
            self.mqtt = build_daemon_mqtt(self)
            if self.mqtt is not None:
                self.mqtt.start()
        except (MqttError, ConfigError, OSError) as exc:
            LOG.error("MQTT output off: %s", exc)
            self.mqtt = None

    def stop(self) -> None:
        """Stop accepting requests, then stop every worker (each closes its device)."""
        self.notifier.stopping()
        if self.mqtt is not None:
            self.mqtt.stop()  # announces the devices and the daemon offline
        if self.control is not None:
            self.control.stop()
        for worker in self.workers.values():
            worker.stop()

    def run(self) -> int:
        """Run until :attr:`stop_event` is set (by a signal); 0 on a clean stop, 1 if start failed."""
        try:
            self.start()
        except SocketInUse as exc:
            LOG.error("cannot start: %s", exc)
            return 1
        self.notifier.ready(self._status_line())
        LOG.info("started: %s", ", ".join(f"[{d.name}] {d.porttype} {d.port}" for d in self.config.devices))
        interval = self.notifier.watchdog_s / 2 if self.notifier.watchdog_s else 5.0
        while not self.stop_event.wait(interval):
            if self.healthy_threads():
                self.notifier.watchdog()
            else:
                LOG.error("a device thread is stuck; withholding the watchdog ping")
            self.notifier.status(self._status_line())
        LOG.info("stopping")
        self.stop()
        return 0
