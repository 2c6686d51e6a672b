"""`fleet-site.yaml`: the few settings a site's fleet push is built from, loaded once and checked.

A bad value is a `ConfigError` naming the file, the key, the bad value and what is allowed
(`./manage_web.sh fleet-setup` turns it into one line on stderr and exit status 2). Secrets are
never in this file: it names the files that hold them (mode 0600, outside the checkout).
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from solarmon.confighelper import ConfigError, ConfigSection

SITE_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
SITE_ALLOWED = "1-63 of a-z 0-9 _ -, starting with a letter or digit"
HOST_PORT_RE = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")
HOST_RE = re.compile(r"[A-Za-z0-9.\-:]+")
PATH_RE = re.compile(r"/[^\s#\"']*")
AUTH_KINDS = ("basic", "bearer", "none")
AGENT_KINDS = ("prometheus", "vmagent")
DEFAULT_METRICS_URL = "http://127.0.0.1:5000/metrics"
DEFAULT_AGENT_LISTEN = "127.0.0.1:9095"
DEFAULT_SECRET_DIR = "/etc/solarmon/fleet"  # noqa: S105 - a folder, not a secret
KEYS = {
    "": ("site", "central", "scrape", "agent", "bridge"),
    "central": ("remote_write_url", "auth", "username", "credentials_file", "ca_file"),
    "scrape": ("metrics_url", "token_file", "interval_s", "node_exporter"),
    "agent": ("kind", "listen", "max_outage_h", "min_backoff_s", "max_backoff_s"),
    "bridge": ("enabled", "central_host", "central_port", "ca_file", "password_file", "local_prefix",
               "daemon_prefix"),
}


@dataclass(frozen=True)
class Central:
    """Where the samples go: a remote-write URL and how the agent proves who it is."""

    remote_write_url: str
    auth: str  # basic | bearer | none
    username: str
    credentials_file: str  # the password (basic) or the token (bearer); '' with auth none
    ca_file: str  # '' : the system's CAs


@dataclass(frozen=True)
class Scrape:
    """What the agent scrapes on the site."""

    metrics_url: str
    token_file: str  # an API token of the site's web app (role viewer) for /metrics
    interval_s: int
    node_exporter: str  # host:port of node_exporter (the daemon's textfiles), '' : none


@dataclass(frozen=True)
class Agent:
    """The agent process: which one, its own HTTP port, how long it holds samples for an outage."""

    kind: str  # prometheus (Prometheus in agent mode) | vmagent (its queue survives restarts)
    listen: str
    max_outage_h: float
    min_backoff_s: float
    max_backoff_s: float


@dataclass(frozen=True)
class Bridge:
    """The Mosquitto bridge of the site's broker to the central one (off unless enabled)."""

    enabled: bool
    central_host: str
    central_port: int
    ca_file: str
    password_file: str  # the password of the site's account on the central broker, named like the site
    local_prefix: str  # the alerts' topic prefix (web.yaml alerts.mqtt_topic_prefix)
    daemon_prefix: str  # the daemon's topic prefix (mpp-solar.conf mqtt_prefix)


@dataclass(frozen=True)
class SiteSettings:
    """Everything fleet-setup needs, typed."""

    source: str
    site: str
    central: Central
    scrape: Scrape
    agent: Agent
    bridge: Bridge


def _bad(section: ConfigSection, key: str, wanted: str, raw: Any) -> ConfigError:
    """`<file>: <key> must be <wanted>, got <raw>` (the confighelper's wording)."""
    return section.error(key, f"must be {wanted}, got {raw!r}", value=raw, allowed=wanted)


def load_settings(data: Any, source: str | Path) -> SiteSettings:
    """Check a parsed `fleet-site.yaml` mapping; raises ConfigError naming file, key and limits."""
    top = ConfigSection(data, source=str(source))
    top.warn_unknown(KEYS[""])
    site = top.getstr("site", None, nonempty=True)
    if site is None:
        raise top.error("site", "is missing (this site's name, e.g. site: cabin)", allowed=SITE_ALLOWED)
    if not SITE_RE.fullmatch(site):
        raise _bad(top, "site", SITE_ALLOWED, site)
    sections = {name: top.getsection(name) for name in KEYS if name}
    for name, section in sections.items():
        section.warn_unknown(KEYS[name])
    return SiteSettings(str(source), site, _central(sections["central"], site), _scrape(sections["scrape"]),
                        _agent(sections["agent"]), _bridge(sections["bridge"]))


def _path(section: ConfigSection, key: str, default: str) -> str:
    """An absolute file path ('' allowed: none) without spaces: it goes into a unit's
    LoadCredential= and Mosquitto's config lines, which a space or a newline would break."""
    path = section.getstr(key, default)
    if path and (not path.startswith("/") or PATH_RE.fullmatch(path) is None):
        raise _bad(section, key, "an absolute path without spaces (e.g. /etc/solarmon/fleet/x.secret)", path)
    return path


def _url(section: ConfigSection, key: str, default: str | None) -> str:
    url = section.getstr(key, default, nonempty=True)
    if url is None:
        raise section.error(key, "is missing", allowed="an http:// or https:// URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(section, key, "an http:// or https:// URL", url)
    return url


def _central(section: ConfigSection, site: str) -> Central:
    url = _url(section, "remote_write_url", None)
    auth = section.getchoice("auth", "basic", AUTH_KINDS)
    credentials = _path(section, "credentials_file", f"{DEFAULT_SECRET_DIR}/remote-write.secret")
    if auth != "none" and not credentials:
        raise section.error("credentials_file", f"is empty but auth is {auth}: name the file with the "
                            "password or token", allowed="a file path")
    if auth != "none" and urlsplit(url).scheme != "https" and urlsplit(url).hostname not in (
            "127.0.0.1", "localhost", "::1"):
        raise _bad(section, "remote_write_url", "an https:// URL when credentials are sent to another "
                              "host (they would cross the network in clear)", url)
    return Central(url, auth, section.getstr("username", site) or site, credentials if auth != "none" else "",
                   _path(section, "ca_file", ""))


def _scrape(section: ConfigSection) -> Scrape:
    node = section.getstr("node_exporter", "")
    if node and not HOST_PORT_RE.fullmatch(node):
        raise _bad(section, "node_exporter", "host:port (e.g. 127.0.0.1:9100) or empty", node)
    return Scrape(_url(section, "metrics_url", DEFAULT_METRICS_URL),
                  _path(section, "token_file", f"{DEFAULT_SECRET_DIR}/scrape.token"),
                  section.getint("interval_s", 30, minval=1, maxval=3600), node)


def _agent(section: ConfigSection) -> Agent:
    kind = section.getchoice("kind", "prometheus", AGENT_KINDS)
    listen = section.getstr("listen", DEFAULT_AGENT_LISTEN, nonempty=True)
    if not HOST_PORT_RE.fullmatch(listen):
        raise _bad(section, "listen", "host:port (e.g. 127.0.0.1:9095)", listen)
    min_backoff = section.getfloat("min_backoff_s", 1.0, minval=0.01, maxval=60)
    max_backoff = section.getfloat("max_backoff_s", 30.0, minval=0.1, maxval=600)
    if max_backoff < min_backoff:
        raise _bad(section, "max_backoff_s", f"at least agent.min_backoff_s ({min_backoff:g})", max_backoff)
    return Agent(kind, listen, section.getfloat("max_outage_h", 48.0, minval=1, maxval=24 * 60), min_backoff,
                 max_backoff)


def _bridge(section: ConfigSection) -> Bridge:
    enabled = section.getbool("enabled", False)
    host = section.getstr("central_host", "")
    if host and not HOST_RE.fullmatch(host):
        raise _bad(section, "central_host", "a host name or IP address", host)
    if enabled and not host:
        raise section.error("central_host", "is missing but bridge.enabled is true",
                            allowed="the central broker's host name (as in its TLS certificate)")
    ca_file = _path(section, "ca_file", f"{DEFAULT_SECRET_DIR}/central-ca.crt")
    if enabled and not ca_file:
        raise section.error("ca_file", "is empty: the bridge speaks TLS only", allowed="the central CA file")
    prefixes = []
    for key, default in (("local_prefix", "alerts"), ("daemon_prefix", "solarmon")):
        value = section.getstr(key, default, nonempty=True)
        if not re.fullmatch(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*", value):
            raise _bad(section, key, "a topic prefix without wildcards (e.g. alerts)", value)
        prefixes.append(value)
    return Bridge(enabled, host, section.getint("central_port", 8883, minval=1, maxval=65535), ca_file,
                  _path(section, "password_file", f"{DEFAULT_SECRET_DIR}/bridge.secret"), *prefixes)


def check_secret_file(path: str, *, source: str, key: str) -> str:
    """The first line of a private file (a password or token); ConfigError naming `key` when the
    file is missing, empty, or readable by group or others (it must be 0600)."""
    where = f"{source}: {key}"
    try:
        info = Path(path).stat()
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path} ({exc.strerror})", source=source, key=key,
                          value=path, allowed="a readable file with mode 0600") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{where}: {path} has mode {stat.S_IMODE(info.st_mode):04o}; a secret must be 0600 "
                          f"(chmod 600 {path})", source=source, key=key, value=path, allowed="mode 0600")
    secret = text.splitlines()[0].strip() if text.strip() else ""
    if not secret:
        raise ConfigError(f"{where}: {path} is empty", source=source, key=key, value=path,
                          allowed="a file holding the secret on its first line")
    return secret

