"""MQTT connection settings from a config section, with the password from env, a 0600 file or YAML.

Every solarmon client (web app, weather fetcher, daemon) reads the same keys:

    mqtt:
      host: 127.0.0.1        # default
      port: 1883             # 1..65535
      username: solarmon-web
      password_file: /etc/solarmon/mqtt/solarmon-web.pass   # must not be group/other readable
      # password: ...        # inline, discouraged; the env var wins over both
      keepalive_s: 30
      tls_ca_file: null      # set to use TLS

The password comes from, first match wins: the environment variable SOLARMON_MQTT_PASSWORD,
`password_file`, the systemd credential `mqtt-password` (LoadCredential= in the unit, read from
$CREDENTIALS_DIRECTORY), `password`. There is no default password. Each program passes its own
default username (solarmon-web, solarmon-weather, solarmon-daemon: the users of
mosquitto/solarmon.acl).
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from solarmon.mqtt.client import DEFAULT_PORT, MqttError, MqttSettings

LOG = logging.getLogger(__name__)

PASSWORD_ENV = "SOLARMON_MQTT_PASSWORD"  # noqa: S105 - the name of a variable, not a password
USERNAME_ENV = "SOLARMON_MQTT_USERNAME"
SYSTEMD_CREDENTIAL = "mqtt-password"
KNOWN_KEYS = frozenset(
    {"host", "port", "username", "password", "password_file", "keepalive_s", "tls_ca_file", "client_id"}
)
MAX_KEEPALIVE_S = 3600
# What Mosquitto and every MQTT 3.1.1 broker accept as a client id without surprises.
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class MqttConfigError(MqttError):
    """A bad MQTT setting: the message names the source, the key and the limit."""


def read_password_file(path: Path) -> str:
    """The first line of a password file, refusing files that other users could read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise MqttConfigError(f"{path}: cannot read MQTT password file ({exc.strerror})") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MqttConfigError(
            f"{path}: MQTT password file is accessible by group/others (mode {stat.S_IMODE(mode):04o});"
            f" run: chmod 600 {path}"
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].strip():
        raise MqttConfigError(f"{path}: MQTT password file is empty")
    return lines[0].strip()


def _int_in(section: Mapping[str, Any], key: str, default: int, low: int, high: int, source: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MqttConfigError(f"{source}: mqtt.{key} must be an integer in {low}..{high}, got {value!r}")
    return value


def _opt_str(section: Mapping[str, Any], key: str, source: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise MqttConfigError(f"{source}: mqtt.{key} must be a non-empty string, got {value!r}")
    return value


def mqtt_settings_from_config(
    section: Mapping[str, Any] | None,
    *,
    source: str,
    client_id: str = "",
    default_username: str | None = None,
    env: Mapping[str, str] | None = None,
) -> MqttSettings:
    """Validate an `mqtt:` config section into MqttSettings (raises MqttConfigError)."""
    section = section or {}
    if not isinstance(section, Mapping):
        raise MqttConfigError(f"{source}: mqtt must be a mapping, got {type(section).__name__}")
    env = os.environ if env is None else env
    for key in sorted(set(section) - KNOWN_KEYS):
        LOG.warning("%s: unknown key mqtt.%s ignored (known: %s)", source, key, ", ".join(sorted(KNOWN_KEYS)))
    host = _opt_str(section, "host", source) or "127.0.0.1"
    port = _int_in(section, "port", DEFAULT_PORT, 1, 65535, source)
    keepalive_s = _int_in(section, "keepalive_s", 30, 5, MAX_KEEPALIVE_S, source)
    username = env.get(USERNAME_ENV) or _opt_str(section, "username", source) or default_username
    password_file = _opt_str(section, "password_file", source)
    password = env.get(PASSWORD_ENV)
    if not password and password_file:
        password = read_password_file(Path(password_file))
    if not password and env.get("CREDENTIALS_DIRECTORY"):
        credential = Path(env["CREDENTIALS_DIRECTORY"]) / SYSTEMD_CREDENTIAL
        if credential.exists():
            password = read_password_file(credential)
    if not password:
        password = _opt_str(section, "password", source)
    own_id = _opt_str(section, "client_id", source)
    if own_id is not None and not CLIENT_ID_RE.fullmatch(own_id):
        raise MqttConfigError(
            f"{source}: mqtt.client_id must be 1..64 characters of A-Z a-z 0-9 _ . -, got {own_id!r}"
        )
    if password and not username:
        raise MqttConfigError(f"{source}: an MQTT password is set but mqtt.username is missing")
    return MqttSettings(
        host=host,
        port=port,
        username=username,
        password=password,
        client_id=own_id or client_id,
        keepalive_s=keepalive_s,
        tls_ca_file=_opt_str(section, "tls_ca_file", source),
    )
