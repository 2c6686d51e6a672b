"""web.yaml: the web application's configuration, loaded once, typed and validated.

Each section of web.yaml is a frozen dataclass below; each key's limits and help text live in the
field's metadata, so the loader, the documentation check and the error messages share one table
(`key_table()`), and the shared typed helper (solarmon/confighelper.py) checks each value. Errors
name the file, the key and what is allowed; unknown keys only warn, so a
newer web.yaml still starts an older program.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from solarmon.confighelper import ConfigError, ConfigSection, KeyInfo

__all__ = ["ConfigError", "KeyInfo", "WebConfig", "config_from_mapping", "key_table", "load_config"]

LOG = logging.getLogger(__name__)
# A site's name: the `site` label its agent adds (docs/FLEET.md), also a path segment of the hub's URLs.
SITE_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _meta(help: str, *, min: float | None = None, max: float | None = None,
          choices: tuple[str, ...] | None = None) -> dict[str, Any]:
    """One configuration key's limits and one line of help (a dataclass field's metadata)."""
    return {"help": help, "min": min, "max": max, "choices": choices}


@dataclass(frozen=True)
class ServerConfig:
    """`server:` — where and how the web server listens."""

    host: str = field(default="0.0.0.0", metadata=_meta(
        "address to listen on (0.0.0.0: the whole LAN, 127.0.0.1: this machine only)"))
    port: int = field(default=5000, metadata=_meta("TCP port", min=1, max=65535))
    threads: int = field(default=64, metadata=_meta(
        "waitress worker threads; each open live stream holds one", min=4, max=1024))
    max_streams: int = field(default=40, metadata=_meta(
        "live streams (/api/stream) open at once; one more gets a 503. At most threads - 2, "
        "so the JSON API keeps answering", min=0, max=1000))
    keepalive_s: float = field(default=15.0, metadata=_meta(
        "seconds between keep-alive comments on an idle live stream", min=0.05, max=300))
    log_level: str = field(default="INFO", metadata=_meta(
        "logging level", choices=("DEBUG", "INFO", "WARNING", "ERROR")))
    idle_timeout_s: int = field(default=30, metadata=_meta(
        "seconds an idle connection (no request under way) is kept open", min=2, max=3600))
    request_timeout_s: int = field(default=15, metadata=_meta(
        "seconds a client has to send a whole request (headers and body) once it started; a slower "
        "one is disconnected", min=1, max=600))
    max_connections_per_address: int = field(default=32, metadata=_meta(
        "connections open at once from one client address; more are refused at once (0: no limit; "
        "behind a reverse proxy every client has the proxy's address: docs/SECURITY.md)",
        min=0, max=100000))


@dataclass(frozen=True)
class DataConfig:
    """`data:` — where the inverter values come from (the daemon's Prometheus files)."""

    prom_dir: str = field(default="prometheus", metadata=_meta(
        "directory of the daemon's .prom files (relative: to web.yaml's folder)"))
    poll_interval_s: float = field(default=0.5, metadata=_meta(
        "how often the reader scans for changed files (on Linux inotify wakes it at once; "
        "the scan is the fallback)", min=0.05, max=60))
    stale_after_s: float = field(default=180.0, metadata=_meta(
        "a device whose newest values are older than this is stale (/api/data answers 503)",
        min=1, max=86400))
    ring_size: int = field(default=1000, metadata=_meta(
        "recent readings kept in memory (all sources together)", min=10, max=100000))


@dataclass(frozen=True)
class HistoryConfig:
    """`history:` — the SQLite history database and its retention tiers."""

    db_path: str = field(default="var/history.db", metadata=_meta(
        "SQLite database file (relative: to web.yaml's folder)"))
    raw_retention_days: float = field(default=30.0, metadata=_meta(
        "days raw samples are kept", min=1, max=3650))
    minute_retention_days: float = field(default=365.0, metadata=_meta(
        "days 1-minute rollups are kept (15-minute rollups are kept forever)", min=1, max=36500))
    timezone: str = field(default="", metadata=_meta(
        "IANA time zone for energy days and months (empty: the system's)"))


@dataclass(frozen=True)
class DaemonConfig:
    """`daemon:` — the inverter daemon's control socket, used by POST /api/command."""

    control_socket: str = field(default="/run/mpp-solar/control.sock", metadata=_meta(
        "the daemon's Unix control socket"))
    timeout_s: float = field(default=30.0, metadata=_meta(
        "seconds to wait for the daemon's reply to a command", min=0.1, max=600))
    command_token_file: str = field(default="", metadata=_meta(
        "deprecated (docs/SECURITY.md): a file (mode 0600) whose token is accepted as an admin API "
        "token; move it to the token store with `web_interface.py token import`"))


@dataclass(frozen=True)
class SecurityConfig:
    """`security:` — accounts, sessions, API tokens, login rate limits (docs/SECURITY.md)."""

    public_read: bool = field(default=True, metadata=_meta(
        "true: pages and the read-only API are open to everyone on the network; false: "
        "everything needs a login or an API token. Commands always need an operator"))
    users_file: str = field(default="var/users.json", metadata=_meta(
        "accounts with hashed passwords and roles (written by `web_interface.py user ...`, mode 0600)"))
    secret_key_file: str = field(default="var/secret_key", metadata=_meta(
        "key that signs session cookies; generated at first start (mode 0600)"))
    token_store: str = field(default="var/tokens.json", metadata=_meta(
        "API tokens (stored hashed, each with a role), managed on the admin page (mode 0600)"))
    audit_log: str = field(default="var/web-audit.jsonl", metadata=_meta(
        "JSON-lines log of every login, command, user and token change (the admin's audit page)"))
    revoked_sessions_file: str = field(default="var/revoked-sessions.json", metadata=_meta(
        "ids of signed-out sessions, kept until they would have expired, so a copied cookie stops "
        "working at sign-out (mode 0600)"))
    audit_log_max_mb: float = field(default=5.0, metadata=_meta(
        "the audit log is rotated when it would grow past this many MiB (to audit_log.1, .2, ...)",
        min=0.1, max=1024))
    audit_log_keep: int = field(default=5, metadata=_meta(
        "rotated audit log files kept (the audit page reads them too)", min=0, max=100))
    daemon_audit_log: str = field(default="", metadata=_meta(
        "the daemon's audit log (audit_log in mpp-solar.conf), also shown on the audit page: every "
        "setting, including those from MQTT. Empty: not shown"))
    trust_proxy: bool = field(default=False, metadata=_meta(
        "true only behind a TLS reverse proxy on this machine: honour X-Forwarded-Proto/-For "
        "(Secure cookies, the client's address for rate limits)"))
    session_hours: float = field(default=12.0, metadata=_meta(
        "hours a login lasts", min=0.05, max=720))
    login_slow_after: int = field(default=3, metadata=_meta(
        "failed logins (of one account from one address, or from one address) before each further "
        "try is slowed down",
        min=1, max=1000))
    login_delay_s: float = field(default=1.0, metadata=_meta(
        "seconds a slowed login try waits before it is answered", min=0, max=30))
    login_max_failures: int = field(default=5, metadata=_meta(
        "failed logins of one account from one address within login_window_s before that address "
        "is refused for that account (429)", min=1, max=1000))
    account_max_failures: int = field(default=50, metadata=_meta(
        "failed logins of one account from all addresses together within login_window_s before it "
        "is refused for everyone (429): a ceiling above login_max_failures", min=1, max=100000))
    address_max_failures: int = field(default=20, metadata=_meta(
        "failed logins from one address within login_window_s before it is refused (429)",
        min=1, max=100000))
    login_window_s: float = field(default=900.0, metadata=_meta(
        "seconds failed logins are counted, and how long a refusal lasts", min=1, max=86400))


@dataclass(frozen=True)
class FleetConfig:
    """`fleet:` — hub mode: the sites in a central Prometheus-API store (docs/FLEET.md "The hub").

    Present only in a hub's web.yaml; `promql_url` is then required.
    """

    promql_url: str = field(default="", metadata=_meta(
        "the central store's Prometheus query API base URL, e.g. http://central:8428 for "
        "VictoriaMetrics (its /api/v1/query is used; the hub's queries use MetricsQL)"))
    stale_after_s: float = field(default=180.0, metadata=_meta(
        "a site whose newest sample, or whose data's own age, is older than this is stale",
        min=5, max=86400))
    lookback_s: float = field(default=86400.0, metadata=_meta(
        "a site with no sample in this many seconds is down (at most 7 days)", min=60, max=604800))
    forget_after_days: float = field(default=30.0, metadata=_meta(
        "sites seen in the store within this many days are listed (down when silent for "
        "lookback_s); older ones are forgotten unless named in sites", min=1, max=3650))
    sites: list = field(default_factory=list, metadata=_meta(
        "site names always listed, even when the store has never heard of them (then down)"))
    timeout_s: float = field(default=5.0, metadata=_meta(
        "seconds one query to the store may take; slower is a 504 naming the store", min=0.1, max=120))
    cache_s: float = field(default=5.0, metadata=_meta(
        "seconds /api/fleet's answer is reused, so many open fleet pages cost the store one query "
        "set (0: no cache)", min=0, max=300))
    credentials_file: str = field(default="", metadata=_meta(
        "file (mode 0600) with the store's credentials: `user:password` (HTTP basic) or a bearer "
        "token on its first line; empty: none"))
    low_soc_percent: float = field(default=30.0, metadata=_meta(
        "battery state of charge below which a site counts as problem low_soc", min=0, max=100))
    broker: dict = field(default_factory=dict, metadata=_meta(
        "optional central MQTT broker (keys as in mqtt:) whose bridged site events "
        "(sites/<site>/alerts/..., sites/<site>/.../availability) the hub shows; empty: none"))


SECTIONS: dict[str, type] = {
    "server": ServerConfig,
    "data": DataConfig,
    "history": HistoryConfig,
    "daemon": DaemonConfig,
    "security": SecurityConfig,
    "fleet": FleetConfig,
}
# Sections other parts validate themselves (e.g. `mqtt:` by solarmon.mqtt.credentials): kept as
# parsed in WebConfig.raw_sections, neither typed nor warned about here.
EXTENSION_SECTIONS: tuple[str, ...] = ("mqtt", "house", "weather", "alerts", "forecast")


@dataclass(frozen=True)
class WebConfig:
    """The whole of web.yaml; `base_dir` anchors its relative paths."""

    server: ServerConfig = field(default_factory=ServerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    fleet: FleetConfig | None = None  # hub mode only
    raw_sections: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)
    source: str = "<defaults>"

    def path(self, value: str) -> Path:
        """Resolve a configured path: absolute as given, relative to web.yaml's folder."""
        return Path(value) if os.path.isabs(value) else self.base_dir / value


def key_table() -> list[KeyInfo]:
    """Every web.yaml key with its type, default, limits and help, in file order."""
    rows = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            rows.append(KeyInfo(section, f.name, _type_name(f.type), default, f.metadata["help"],
                                f.metadata["min"], f.metadata["max"], f.metadata["choices"]))
    return rows


def _type_name(annotation: Any) -> str:
    """The annotation as a plain word (annotations are strings under `from __future__`)."""
    return annotation if isinstance(annotation, str) else annotation.__name__


def config_from_mapping(data: Mapping[str, Any] | None, *, where: str = "<dict>",
                        base_dir: Path | None = None) -> WebConfig:
    """Build a validated WebConfig from parsed web.yaml content (raises ConfigError)."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: the top level must be a mapping of sections ({', '.join(SECTIONS)})")
    table: dict[str, dict[str, KeyInfo]] = {}
    for info in key_table():
        table.setdefault(info.section, {})[info.name] = info
    sections: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for section, body in data.items():
        if section in EXTENSION_SECTIONS:
            raw[section] = body
            continue
        if section not in SECTIONS:
            LOG.warning("%s: unknown section %r ignored (known: %s)", where, section,
                        ", ".join([*SECTIONS, *EXTENSION_SECTIONS]))
            continue
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}: section {section!r} must be a mapping of keys")
        helper = ConfigSection(body, source=where, prefix=f"{section}.")
        helper.warn_unknown(table[section])
        values = {name: helper.typed(info) for name, info in table[section].items() if helper.has(name)}
        sections[section] = SECTIONS[section](**values)
    config = WebConfig(**sections, raw_sections=raw, base_dir=base_dir or Path.cwd(), source=where)
    _check_together(config)
    return config


def _check_together(config: WebConfig) -> None:
    """Rules that span keys: streams must leave threads free for the JSON API."""
    server = config.server
    if server.max_streams > server.threads - 2:
        raise ConfigError(f"{config.source}: server.max_streams ({server.max_streams}) must be at most "
                          f"server.threads - 2 ({server.threads - 2}) so the JSON API keeps answering")
    if config.history.timezone:
        try:
            zoneinfo.ZoneInfo(config.history.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{config.source}: history.timezone = {config.history.timezone!r} is not a "
                              "known IANA time zone (e.g. Europe/Berlin, America/New_York)") from exc
    if config.fleet is not None:
        _check_fleet(config.fleet, config.source)
    if config.history.minute_retention_days < config.history.raw_retention_days:
        raise ConfigError(f"{config.source}: history.minute_retention_days must be at least "
                          f"history.raw_retention_days ({config.history.raw_retention_days:g})")


def _check_fleet(fleet: FleetConfig, where: str) -> None:
    """`fleet:` needs a http(s) promql_url, a lookback longer than stale_after_s, and site names
    a label can carry."""
    url = fleet.promql_url
    if not url or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ConfigError(f"{where}: fleet.promql_url must be an http:// or https:// URL of the central "
                          f"store's Prometheus API (e.g. http://central:8428), got {url!r}",
                          source=where, key="fleet.promql_url", value=url, allowed="an http(s) URL")
    if fleet.lookback_s <= fleet.stale_after_s:
        raise ConfigError(f"{where}: fleet.lookback_s ({fleet.lookback_s:g}) must be longer than "
                          f"fleet.stale_after_s ({fleet.stale_after_s:g})", source=where,
                          key="fleet.lookback_s", value=fleet.lookback_s,
                          allowed=f"> {fleet.stale_after_s:g}")
    if fleet.forget_after_days * 86400 < fleet.lookback_s:
        raise ConfigError(f"{where}: fleet.forget_after_days ({fleet.forget_after_days:g}) must be at least "
                          f"fleet.lookback_s in days ({fleet.lookback_s / 86400:g})", source=where,
                          key="fleet.forget_after_days", value=fleet.forget_after_days,
                          allowed=f">= {fleet.lookback_s / 86400:g}")
    for name in fleet.sites:
        if not SITE_NAME_RE.fullmatch(name):
            raise ConfigError(f"{where}: fleet.sites: {name!r} is not a site name (1..64 characters of "
                              "A-Z a-z 0-9 _ . -)", source=where, key="fleet.sites", value=name,
                              allowed="1..64 characters of A-Z a-z 0-9 _ . -")
    if not isinstance(fleet.broker, Mapping):
        raise ConfigError(f"{where}: fleet.broker must be a mapping of mqtt: keys, got "
                          f"{type(fleet.broker).__name__}", source=where, key="fleet.broker",
                          value=fleet.broker, allowed="a mapping (host, port, username, password_file, ...)")


def load_config(path: str | os.PathLike[str]) -> WebConfig:
    """Read, parse and validate a web.yaml file (raises ConfigError naming the file)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return config_from_mapping(data, where=str(path), base_dir=path.resolve().parent)
