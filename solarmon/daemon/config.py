"""mpp-solar.conf: mppsolar's own daemon format, loaded once, typed and validated at start-up.

``[SETUP]`` holds daemon-wide keys; every other section is one device with its own port, thread and
Prometheus file. Every key is described once in :data:`KEYS` (type, default, limits, meaning); the
loader, the error messages and docs/CONFIGURATION.md all follow that table. A bad value raises
:class:`ConfigError` (the shared one of solarmon/confighelper.py, whose typed getters read the
numbers) naming the file, section, key, the bad value and the allowed values; an unknown key warns.
Relative paths are resolved against the folder of the config file, so a cloned repo works anywhere.
"""

from __future__ import annotations

import configparser
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solarmon.confighelper import ConfigError, ConfigSection
from solarmon.daemon.protocols import is_query
from solarmon.daemon.units import parse_parallel
from solarmon.inverter.policy import family_allows

LOG = logging.getLogger(__name__)

SETUP = "SETUP"
SCOPE_SETUP = "SETUP"
SCOPE_DEVICE = "device"

# Polling only ever sends queries; settings go through the control socket and its checks.
_QUERY_RE = re.compile(r"^Q[A-Z0-9]{1,15}$")
# The setting families of PI30.md §4; "PEa" / "PDx" narrow an enable/disable to one QFLAG letter.
_SETTING_RE = re.compile(r"^(POP|PCP|PGR|PBT|PBCV|PBDV|PSDV|PCVV|PBFT|F|MCHGC|MUCHGC|PF|PE[a-z]?|PD[a-z]?)$")
_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# mppsolar output names: prom_file is what this daemon produces; the others are accepted so a
# mppsolar file loads, and ignored with a warning.
_OUTPUTS = ("prom_file", "prom", "screen", "json", "mqtt", "json_mqtt", "hass_mqtt", "influx2_mqtt",
            "influx_mqtt", "tag_mqtt", "domoticz_mqtt", "simple", "raw", "value", "json_units", "boxdraw")


# BMS types -> their protocols (the first is the default) and each protocol's default speed.
BMS_TYPES: dict[str, tuple[str, ...]] = {"jkbms": ("jkserial", "jk485", "jk232"),
                                         "dalybms": ("daly40", "daly")}
BMS_BAUD = {"jkserial": 115200, "jk485": 9600, "jk232": 9600, "daly40": 9600, "daly": 9600}
INVERTER_PROTOCOLS = ("pi30", "pi30max", "pi18", "auto")

# What this daemon produces: the .prom file, and MQTT (solarmon.daemon.mqtt_output).
_PRODUCED = frozenset({"prom_file", "mqtt", "json_mqtt", "tag_mqtt", "hass_mqtt"})


def config_error(path: Path | str, section: str | None, key: str | None, message: str) -> ConfigError:
    """The one ConfigError (solarmon/confighelper.py) for ``path [section] key: message``."""
    where = str(path)
    if section is not None:
        where += f" [{section}]"
    if key is not None:
        where += f" {key}"
    return ConfigError(f"{where}: {message}", source=str(path), section=section, key=key)


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One config key: where it lives, its type, default, limits and meaning (the documented table)."""

    name: str
    scope: str  # SCOPE_SETUP or SCOPE_DEVICE
    kind: str  # int, float, str, path, choice, commands, settings, outputs, port
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    new: bool = False  # True for keys mppsolar does not have

    def limits(self) -> str:
        """The allowed values in words, as used in error messages and the docs."""
        if self.choices:
            return ", ".join(str(c) for c in self.choices)
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum:g} to {self.maximum:g}"
        return {
            "path": "a file path (relative paths are resolved against the config file's folder)",
            "port": "a device path, or auto (hidraw: found by USB id 0665:5161)",
            "commands": "PI30 (or PI18) queries separated by # (e.g. QPIGS#QPIGS2)",
            "settings": "comma-separated setting families: POP, PCP, PGR, PBT, PBCV, PBDV, PSDV, PCVV, "
                        "PBFT, F, MCHGC, MUCHGC, PF, PE, PD (PEx / PDx: only QFLAG letter x)",
            "outputs": "comma-separated: " + ", ".join(_OUTPUTS),
        }.get(self.kind, "any text")


KEYS: tuple[KeySpec, ...] = (
    KeySpec("pause", SCOPE_SETUP, "float", 60, "Seconds between poll cycles (monotonic, no drift).",
            0.1, 86400),
    KeySpec("log_file", SCOPE_SETUP, "path", "", "Log file (reopened when rotated); empty: stderr, "
            "which is the journal under systemd."),
    KeySpec("mqtt_broker", SCOPE_SETUP, "str", "localhost", "Broker of the mqtt / hass_mqtt outputs "
            "(docs/MQTT.md)."),
    KeySpec("mqtt_port", SCOPE_SETUP, "int", 1883, "Its port.", 1, 65535),
    KeySpec("mqtt_user", SCOPE_SETUP, "str", "", "MQTT user; empty: solarmon-daemon."),
    KeySpec("mqtt_pass", SCOPE_SETUP, "str", "", "MQTT password; empty: SOLARMON_MQTT_PASSWORD, the systemd "
            "credential mqtt-password or /etc/solarmon/mqtt/solarmon-daemon.pass (mode 0600)."),
    KeySpec("mqtt_prefix", SCOPE_SETUP, "str", "solarmon", "Topic prefix of the mqtt outputs: "
            "<prefix>/<section>/state ...", new=True),
    KeySpec("mqtt_settings", SCOPE_SETUP, "choice", "off", "on: take setting requests on "
            "<prefix>/<section>/set (allowed_settings and validation apply; dangerous ones are refused).",
            choices=("off", "on"), new=True),
    KeySpec("control_socket", SCOPE_SETUP, "path", "/run/mpp-solar/control.sock",
            "Unix control socket (mode 0660; systemd creates /run/mpp-solar); empty: no socket.", new=True),
    KeySpec("audit_log", SCOPE_SETUP, "path", "var/mpp-solar-audit.jsonl",
            "JSON-lines audit log of every setting attempt.", new=True),
    KeySpec("protocol", SCOPE_DEVICE, "choice", "pi30", "Device protocol: pi30 (pi30max is the same to "
            "this daemon), pi18 (InfiniSolar V family, docs/PROTOCOLS-PI18.md), or auto (asked at start "
            "with queries only; settings wait until it is known) for an inverter; jkserial (current JK "
            "boards, 4E 57 frame), jk485, jk232 for type = jkbms (default jkserial); daly40 (UART/RS485 "
            "host address 0x40), daly (0x80) for type = dalybms (default daly40). "
            "docs/PROTOCOLS-JKBMS.md, docs/PROTOCOLS-DALY.md.",
            choices=("pi30", "pi30max", "pi18", "auto", "jkserial", "jk485", "jk232", "daly40", "daly")),
    KeySpec("type", SCOPE_DEVICE, "choice", "mppsolar", "Device type (mppsolar's spelling): mppsolar "
            "(an inverter), jkbms or dalybms (a battery management system on a serial/RS485 port, "
            "written to its own .prom file; several allowed, one per pack).",
            choices=("mppsolar", "jkbms", "dalybms")),
    KeySpec("port", SCOPE_DEVICE, "port", "/dev/hidraw0", "Device file, or auto."),
    KeySpec("porttype", SCOPE_DEVICE, "choice", "", "Transport; empty: hidraw when the port names "
            "hidraw (or is auto), else serial.", choices=("hidraw", "serial", "usbserial")),
    KeySpec("baud", SCOPE_DEVICE, "int", 2400, "Serial speed; a BMS section defaults to its protocol's "
            "(jkserial 115200, jk485/jk232/daly 9600).", choices=_BAUDS),
    KeySpec("command", SCOPE_DEVICE, "commands", "QPIGS", "Queries each cycle; QMOD and QPIWS are "
            "added, QPIRI and QFLAG are read every settings_interval."),
    KeySpec("tag", SCOPE_DEVICE, "str", "", "Accepted for mppsolar compatibility (its MQTT topic)."),
    KeySpec("outputs", SCOPE_DEVICE, "outputs", "prom_file", "prom_file; mqtt (also json_mqtt, tag_mqtt) "
            "publishes to MQTT, hass_mqtt adds Home Assistant discovery; other mppsolar outputs are "
            "accepted and ignored with a warning."),
    KeySpec("prom_output_dir", SCOPE_DEVICE, "path", "prometheus",
            "Folder of mpp-solar-<section>.prom (created if missing)."),
    KeySpec("dev", SCOPE_DEVICE, "str", "", "The device label; empty: None, as mppsolar writes it."),
    KeySpec("allowed_settings", SCOPE_DEVICE, "settings", "", "Setting families the control socket "
            "may send; empty: none (queries are always allowed).", new=True),
    KeySpec("settings_interval", SCOPE_DEVICE, "float", 600, "Seconds between QPIRI/QFLAG reads "
            "(also read after every accepted setting).", 1, 86400, new=True),
    KeySpec("timeout", SCOPE_DEVICE, "float", 0, "Seconds to wait for one reply; 0: sized per command "
            "from its wire time at this baud plus a margin.", 0, 60, new=True),
    KeySpec("usb_reset_after", SCOPE_DEVICE, "int", 0, "hidraw only: reset the USB device after this many "
            "failed exchanges in a row without any reply (a wedged bridge, PI30.md §5); 0: never.", 0, 1000,
            new=True),
    KeySpec("journal_age_s", SCOPE_DEVICE, "float", 3600, "Seconds of written .prom files kept in "
            "mpp-solar-<section>.prom.journal (and .journal.1) for the web app to replay into its history "
            "after a restart (docs/DAEMON.md); 0: no journal.", 0, 86400, new=True),
    KeySpec("journal_max_mb", SCOPE_DEVICE, "float", 32, "Largest size of that journal in MB (both "
            "segments); with a short pause it then holds less than journal_age_s.", 1, 1024, new=True),
    KeySpec("parallel", SCOPE_DEVICE, "choice", "off", "A parallel or three-phase PI30 system behind this "
            "port: auto (find the units that answer QPGS0..QPGS8), off, or N (units QPGS0..QPGS(N-1)). "
            "Each unit is written as its own device <section>-unit<n>, with system totals "
            "(docs/PROTOCOLS-QPGS.md).", choices=("off", "auto", *(str(n) for n in range(1, 10))), new=True),
    KeySpec("retry_max", SCOPE_DEVICE, "float", 60, "Longest backoff in seconds between retries of a "
            "failing device (never longer than pause).", 0.1, 3600, new=True),
)


def key_table() -> list[dict[str, Any]]:
    """The key table as JSON-able rows (scope, name, default, limits, doc): what the docs list."""
    return [{"scope": k.scope, "name": k.name, "default": k.default, "limits": k.limits(), "doc": k.doc,
             "new": k.new} for k in KEYS]


@dataclass(frozen=True, slots=True)
class SetupConfig:
    """The [SETUP] section."""

    pause_s: float
    log_file: Path | None
    mqtt_broker: str
    mqtt_port: int
    mqtt_user: str
    mqtt_pass: str
    mqtt_prefix: str
    mqtt_settings: str
    control_socket: Path | None
    audit_log: Path


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One device section: its port, what to poll, where to write."""

    name: str
    protocol: str
    port: str
    porttype: str
    baud: int
    commands: tuple[str, ...]
    tag: str
    outputs: tuple[str, ...]
    prom_output_dir: Path
    dev: str
    allowed_settings: tuple[str, ...]
    settings_interval_s: float
    timeout_s: float
    retry_max_s: float
    usb_reset_after: int = 0
    journal_age_s: float = 3600.0
    journal_max_mb: float = 32.0
    parallel: int | None = None  # None off, 0 auto, N units (solarmon.daemon.units)
    device_type: str = "mppsolar"

    @property
    def is_bms(self) -> bool:
        """True for a ``type = jkbms|dalybms`` section."""
        return self.device_type in BMS_TYPES

    @property
    def prom_file(self) -> Path:
        """``<prom_output_dir>/mpp-solar-<section>.prom``."""
        return self.prom_output_dir / f"mpp-solar-{self.name}.prom"

    @property
    def device_label(self) -> str:
        """The ``device`` label value: ``dev``, or the literal None like mppsolar."""
        return self.dev or "None"

    def setting_allowed(self, command: str) -> bool:
        """True when ``command`` (e.g. POP02, PEa) belongs to a family in allowed_settings."""
        return any(family_allows(family, command) for family in self.allowed_settings)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole file: [SETUP] and the devices in file order."""

    path: Path
    setup: SetupConfig
    devices: tuple[DeviceConfig, ...]

    def device(self, name: str | None) -> DeviceConfig:
        """The device section ``name`` (the first when None); KeyError when unknown."""
        if name is None:
            return self.devices[0]
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)


class _Reader:
    """The daemon's kinds of value over one configparser section: numbers through the shared
    typed helper (ConfigSection), paths, ports, command and setting lists here."""

    def __init__(self, path: Path, section: str, values: dict[str, str]) -> None:
        self.path = path
        self.section = section
        self.values = values
        self.helper = ConfigSection(values, source=str(path), section=section, text=True)

    def error(self, key: str, message: str) -> ConfigError:
        """A ConfigError for ``key`` of this section."""
        return config_error(self.path, self.section, key, message)

    def get(self, spec: KeySpec) -> Any:
        """The typed value of ``spec`` (its default when the key is absent)."""
        if spec.kind == "int":
            return self.helper.getint(spec.name, spec.default, minval=spec.minimum, maxval=spec.maximum,
                                      choices=spec.choices or None)
        if spec.kind == "float":
            return self.helper.getfloat(spec.name, spec.default, minval=spec.minimum, maxval=spec.maximum)
        raw = self.values.get(spec.name)
        if raw is None:
            raw = str(spec.default)
        raw = raw.strip()
        parse: Callable[[KeySpec, str], Any] = getattr(self, f"_{spec.kind}")
        return parse(spec, raw)

    def _str(self, spec: KeySpec, raw: str) -> str:
        if '"' in raw or "\\" in raw or "\n" in raw:
            # Such values end up in Prometheus labels; refuse rather than escape surprises.
            raise self.error(spec.name, f"{raw!r} must not contain quotes, backslashes or newlines")
        return raw

    def _path(self, spec: KeySpec, raw: str) -> Path | None:
        if not raw:
            return None
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (self.path.parent / path).resolve()

    def _port(self, spec: KeySpec, raw: str) -> str:
        if not raw:
            raise self.error(spec.name, f"must not be empty; allowed: {spec.limits()}")
        if raw == "auto":
            return raw
        return str(self._path(spec, raw))

    def _choice(self, spec: KeySpec, raw: str) -> str:
        if raw == "" and spec.default == "":
            return ""
        return self.helper.getchoice(spec.name, str(spec.default), spec.choices)

    def _commands(self, spec: KeySpec, raw: str) -> tuple[str, ...]:
        commands = tuple(c.strip() for c in raw.split("#"))
        for command in commands:
            if not _QUERY_RE.match(command) and not is_query(command):
                raise self.error(spec.name, f"{command!r} is not a PI30 query, nor a PI18 one (only "
                                 f"queries are polled); allowed: {spec.limits()}")
        return tuple(dict.fromkeys(commands))

    def _settings(self, spec: KeySpec, raw: str) -> tuple[str, ...]:
        families = tuple(f.strip() for f in raw.split(",") if f.strip())
        for family in families:
            if not _SETTING_RE.match(family):
                raise self.error(spec.name, f"{family!r} is not a setting family; allowed: {spec.limits()}")
        return families

    def _outputs(self, spec: KeySpec, raw: str) -> tuple[str, ...]:
        outputs = tuple(o.strip() for o in raw.split(",") if o.strip())
        for output in outputs:
            if output not in _OUTPUTS:
                raise self.error(spec.name, f"{output!r} is not an output; allowed: {spec.limits()}")
        ignored = [o for o in outputs if o not in _PRODUCED]
        if ignored:
            LOG.warning("%s [%s] outputs: %s ignored (this daemon writes prom_file and the MQTT outputs)",
                        self.path, self.section, ", ".join(ignored))
        return outputs


def _warn_unknown(path: Path, section: str, values: dict[str, str], scope: str) -> None:
    known = {k.name for k in KEYS if k.scope == scope}
    for key in values:
        if key not in known:
            LOG.warning("%s [%s] %s: unknown key, ignored; known keys: %s", path, section, key,
                        ", ".join(sorted(known)))


def _load_setup(path: Path, values: dict[str, str]) -> SetupConfig:
    _warn_unknown(path, SETUP, values, SCOPE_SETUP)
    reader = _Reader(path, SETUP, values)
    get = {k.name: reader.get(k) for k in KEYS if k.scope == SCOPE_SETUP}
    return SetupConfig(
        pause_s=get["pause"], log_file=get["log_file"], mqtt_broker=get["mqtt_broker"],
        mqtt_port=get["mqtt_port"], mqtt_user=get["mqtt_user"], mqtt_pass=get["mqtt_pass"],
        mqtt_prefix=get["mqtt_prefix"], mqtt_settings=get["mqtt_settings"],
        control_socket=get["control_socket"], audit_log=get["audit_log"] or path.parent / "audit.jsonl",
    )


def _load_device(path: Path, section: str, values: dict[str, str]) -> DeviceConfig:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", section):
        raise config_error(path, section, None, "a section name may only use letters, digits, _ . - "
                          "(it names the .prom file and the inverter label)")
    _warn_unknown(path, section, values, SCOPE_DEVICE)
    reader = _Reader(path, section, values)
    get = {k.name: reader.get(k) for k in KEYS if k.scope == SCOPE_DEVICE}
    porttype = get["porttype"] or ("hidraw" if "hidraw" in get["port"] or get["port"] == "auto" else "serial")
    if porttype == "usbserial":
        porttype = "serial"
    if get["port"] == "auto" and porttype != "hidraw":
        raise reader.error("port", "auto is only supported with porttype = hidraw")
    if get["usb_reset_after"] and porttype != "hidraw":
        raise reader.error("usb_reset_after", "only a hidraw device can be reset; allowed: 0 for serial")
    try:
        parallel = parse_parallel(get["parallel"])
    except ValueError as exc:
        raise reader.error("parallel", str(exc)) from exc
    if parallel is not None and get["protocol"] == "pi18":
        raise reader.error("parallel", "QPGSn is PI30's; allowed with protocol = pi18: off")
    if get["protocol"] == "pi18":
        wrong = [c for c in get["command"] if c.startswith("Q") and c != "QPIGS"]
        if wrong:
            raise reader.error("command", f"{', '.join(wrong)}: PI30 queries on a pi18 section; "
                               "allowed: PI18 queries such as GS (QPIGS is read as GS)")
    protocol, baud = _protocol_and_baud(reader, get, values, porttype)
    return DeviceConfig(
        name=section, protocol=protocol, port=get["port"], porttype=porttype, baud=baud,
        commands=get["command"], tag=get["tag"] or section, outputs=get["outputs"],
        prom_output_dir=get["prom_output_dir"], dev=get["dev"], allowed_settings=get["allowed_settings"],
        settings_interval_s=get["settings_interval"], timeout_s=get["timeout"], retry_max_s=get["retry_max"],
        usb_reset_after=get["usb_reset_after"], journal_age_s=get["journal_age_s"],
        journal_max_mb=get["journal_max_mb"], parallel=parallel, device_type=get["type"],
    )


def _protocol_and_baud(reader: _Reader, get: dict[str, Any], values: dict[str, str],
                       porttype: str) -> tuple[str, int]:
    """The section's protocol and speed, checked against its type; a BMS's defaults are its protocol's."""
    kind = get["type"]
    if kind not in BMS_TYPES:
        if get["protocol"] not in INVERTER_PROTOCOLS:
            raise reader.error("protocol", f"{get['protocol']} is a BMS protocol; with type = {kind} "
                               f"allowed: {', '.join(INVERTER_PROTOCOLS)}")
        return get["protocol"], get["baud"]
    allowed = BMS_TYPES[kind]
    protocol = get["protocol"] if "protocol" in values else allowed[0]
    if protocol not in allowed:
        raise reader.error("protocol", f"{protocol} does not fit type = {kind}; "
                           f"allowed: {', '.join(allowed)}")
    if porttype != "serial":
        raise reader.error("porttype", f"a BMS ({kind}) is on a serial or RS485 port; allowed: serial")
    produced = [o for o in get["outputs"] if o in _PRODUCED and o not in ("prom_file",)]
    if produced:
        raise reader.error("outputs", f"{', '.join(produced)}: a BMS section writes prom_file only")
    return protocol, get["baud"] if "baud" in values else BMS_BAUD[protocol]


def load_config(path: Path | str) -> Config:
    """Read, type and validate ``path``; raise :class:`ConfigError` on anything that cannot run."""
    path = Path(path).expanduser().resolve()
    # No interpolation: a "%" in a password must not explode; no inline comments, like mppsolar,
    # because "#" separates commands.
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise config_error(path, None, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise config_error(path, None, None, f"cannot be read: {exc}") from None
    except configparser.Error as exc:
        raise config_error(path, None, None, f"is not an INI file: {exc.message.splitlines()[0]}") from None
    setup = _load_setup(path, dict(parser[SETUP]) if parser.has_section(SETUP) else {})
    devices = tuple(_load_device(path, s, dict(parser[s])) for s in parser.sections() if s != SETUP)
    if not devices:
        raise config_error(path, None, None, "no device section; add one, e.g. [inverter] with port = ...")
    seen: dict[tuple[str, str], str] = {}
    for device in devices:
        other = seen.setdefault((device.porttype, device.port), device.name)
        if other != device.name:
            raise config_error(path, device.name, "port", f"{device.port} is already used by [{other}]; "
                              "one process, one owner per port")
    if setup.control_socket is not None and len(str(setup.control_socket).encode()) > 107:
        raise config_error(path, SETUP, "control_socket", "path longer than 107 bytes (AF_UNIX limit)")
    return Config(path=path, setup=setup, devices=devices)
