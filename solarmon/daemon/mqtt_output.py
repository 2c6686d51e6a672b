"""The daemon's `mqtt` output: bridges the device workers to `InverterMqtt`.

A section publishes to MQTT when its `outputs` list an MQTT output of mppsolar's (`mqtt`,
`json_mqtt`, `tag_mqtt`); `hass_mqtt` also turns on Home Assistant discovery. The broker and
login are mppsolar's [SETUP] keys (`mqtt_broker`, `mqtt_port`, `mqtt_user`, `mqtt_pass`); with
`mqtt_pass` empty the password comes from SOLARMON_MQTT_PASSWORD, the systemd credential
`mqtt-password`, or /etc/solarmon/mqtt/solarmon-daemon.pass (made by mosquitto/setup.sh).
`mqtt_prefix` (default `solarmon`) names the topics and `mqtt_settings = on` enables settings
over MQTT (default `off`). Started by `Daemon.start()`; a failure here is logged and the daemon
polls on without MQTT.

The workers are not changed: one thread of ours looks at each worker once a `poll_s` and, when it
has completed a new cycle, publishes the latest reading of every command and the device's up/down
state. Publishing never delays polling.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from solarmon.confighelper import ConfigError
from solarmon.daemon.mqtt_inverter import InverterMqtt, InverterMqttConfig
from solarmon.inverter.readings import Field
from solarmon.mqtt.client import MqttSettings
from solarmon.mqtt.credentials import mqtt_settings_from_config
from solarmon.mqtt.discovery import DeviceInfo

LOG = logging.getLogger(__name__)

MQTT_OUTPUTS = frozenset({"mqtt", "json_mqtt", "tag_mqtt", "hass_mqtt"})
DISCOVERY_OUTPUTS = frozenset({"hass_mqtt"})
DEFAULT_PASSWORD_FILE = Path("/etc/solarmon/mqtt/solarmon-daemon.pass")
POLL_S = 1.0
PREFIX_RE = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")


def settings_from_setup(
    setup: Any,
    *,
    source: str,
    env: Mapping[str, str] | None = None,
    default_password_file: Path = DEFAULT_PASSWORD_FILE,
) -> MqttSettings:
    """MqttSettings from mpp-solar.conf's [SETUP] (raises ConfigError naming the file)."""
    env = os.environ if env is None else env
    section: dict[str, Any] = {"host": setup.mqtt_broker or "127.0.0.1", "port": setup.mqtt_port}
    if setup.mqtt_user:
        section["username"] = setup.mqtt_user
    if setup.mqtt_pass:
        section["password"] = setup.mqtt_pass
    elif default_password_file.exists() and not env.get("CREDENTIALS_DIRECTORY"):
        section["password_file"] = str(default_password_file)
    return mqtt_settings_from_config(
        section, source=source, client_id="solarmon-daemon", default_username="solarmon-daemon", env=env
    )


class DaemonMqtt:
    """Publishes the readings of the daemon's MQTT-enabled sections; a service (start/stop)."""

    def __init__(self, daemon: Any, settings: MqttSettings, *, poll_s: float = POLL_S) -> None:
        setup = daemon.config.setup
        devices = [d for d in daemon.config.devices if MQTT_OUTPUTS & set(d.outputs)]
        self.workers = {d.name: daemon.workers[d.name] for d in devices}
        prefix = getattr(setup, "mqtt_prefix", "solarmon") or "solarmon"
        if not PREFIX_RE.fullmatch(prefix):
            raise ConfigError(
                f"{daemon.config.path} [SETUP] mqtt_prefix: {prefix!r} must be topic levels of letters, "
                "digits, _ and - separated by / (no wildcards)", source=str(daemon.config.path),
                section="SETUP", key="mqtt_prefix", value=prefix, allowed="letters, digits, _ - and /")
        options = InverterMqttConfig(
            prefix=prefix,
            discovery=any(DISCOVERY_OUTPUTS & set(d.outputs) for d in devices),
            settings=str(getattr(setup, "mqtt_settings", "off")).lower() in ("on", "yes", "true", "1"),
        )
        self.output = InverterMqtt(settings, options, control=daemon.dispatch)
        for device in devices:
            self.output.add_device(DeviceInfo(section=device.name, name=device.dev or device.name))
        self.poll_s = poll_s
        self._seen_cycles: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Connect and start watching the workers."""
        self.output.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mqtt-daemon", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching, then announce offline and disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.output.stop()

    def health(self) -> dict[str, Any]:
        """The connection's state and counters."""
        return self.output.health()

    def publish_new_cycles(self) -> int:
        """Publish every section that finished a cycle since the last call; returns how many."""
        published = 0
        for name, worker in self.workers.items():
            cycles = worker.cycles
            if self._seen_cycles.get(name) == cycles:
                continue
            self._seen_cycles[name] = cycles
            fields: list[Field] = []
            for command in dict.fromkeys(worker.cycle_commands + worker.slow_commands + ("SYSTEM",)):
                reading = worker.latest(command)
                if reading is not None:
                    fields.extend(reading.fields)
            system = _device_info(name, worker)
            self.output.update_device(system)
            if fields:
                self.output.publish_fields(name, fields)
            self.output.set_available(name, worker.health.up)
            self._publish_units(worker, system)
            published += 1
        return published

    def _publish_units(self, worker: Any, system: DeviceInfo) -> None:
        """Each unit of a parallel section: its own HA device, ``via_device`` the system."""
        units = getattr(worker, "units", None)
        for block in units.blocks() if units is not None and units.numbers else ():
            fields = [f for timed in block.readings for f in timed.reading.fields]
            serial = next((str(f.value) for f in fields if f.key == "serial_number"), None)
            self.output.update_device(DeviceInfo(section=block.inverter, name=block.inverter, serial=serial,
                                                 model=system.model, sw_version=system.sw_version,
                                                 via_device=system.ident))
            if fields:
                self.output.publish_fields(block.inverter, fields)
            self.output.set_available(block.inverter, block.up)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.publish_new_cycles()
            except Exception:  # publishing must never take anything else down
                LOG.exception("MQTT publishing failed")


def _device_info(name: str, worker: Any) -> DeviceInfo:
    """The section's HA device: serial (QID), model (QMN) and firmware (QVFW) once the worker read them,
    so its identity is the serial's and survives a rename of the section."""
    identity = getattr(worker, "identity", {})
    label = worker.device.dev or name
    units = getattr(worker, "units", None)
    parallel = units is not None and bool(units.numbers)
    return DeviceInfo(section=name, name=f"{label} system" if parallel else label,
                      serial=identity.get("serial_number"), model=identity.get("model_name"),
                      sw_version=identity.get("main_cpu_firmware_version"), role="system" if parallel else "")


def build_daemon_mqtt(daemon: Any) -> DaemonMqtt | None:
    """The MQTT output for a Daemon, or None when no section lists an MQTT output."""
    if not any(MQTT_OUTPUTS & set(d.outputs) for d in daemon.config.devices):
        return None
    settings = settings_from_setup(daemon.config.setup, source=f"{daemon.config.path} [SETUP]")
    return DaemonMqtt(daemon, settings)
