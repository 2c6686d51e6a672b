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

A bad setting, or a password file that is missing, unreadable or readable by others, raises the one
ConfigError (solarmon/confighelper.py), so every entry point reports it in one line with exit
status 2 (issue 14 point 5: a missing password_file was a traceback and exit 1).
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from solarmon.confighelper import ConfigError, ConfigSection
from solarmon.mqtt.client import DEFAULT_PORT, MqttSettings

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




def read_password_file(path: Path, key: str = "mqtt.password_file") -> str:
    """The first line of a password file, refusing files that other users could read."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{path}: MQTT password file is accessible by group/others (mode {stat.S_IMODE(mode):04o});"
                f" run: chmod 600 {path}", source=str(path), key=key, value=f"{stat.S_IMODE(mode):04o}",
                allowed="mode 0600 or 0400")
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read MQTT password file ({exc.strerror or exc})",
                          source=str(path), key=key, value=str(path),
                          allowed="a readable file, mode 0600") from exc
    if not lines or not lines[0].strip():
        raise ConfigError(f"{path}: MQTT password file is empty", source=str(path), key=key,
                          value=str(path), allowed="a file whose first line is the password")
    return lines[0].strip()


def mqtt_settings_from_config(
    section: Mapping[str, Any] | None,
    *,
    source: str,
    client_id: str = "",
    default_username: str | None = None,
    env: Mapping[str, str] | None = None,
) -> MqttSettings:
    """Validate an `mqtt:` config section into MqttSettings (raises ConfigError)."""
    if section is not None and not isinstance(section, Mapping):
        raise ConfigError(f"{source}: mqtt must be a mapping, got {type(section).__name__}",
                          source=source, key="mqtt", value=section, allowed="a mapping")
    helper = ConfigSection(section, source=source, prefix="mqtt.")
    env = os.environ if env is None else env
    helper.warn_unknown(sorted(KNOWN_KEYS))
    host = helper.getstr("host", None, nonempty=True) or "127.0.0.1"
    port = helper.getint("port", DEFAULT_PORT, minval=1, maxval=65535)
    keepalive_s = helper.getint("keepalive_s", 30, minval=5, maxval=MAX_KEEPALIVE_S)
    username = env.get(USERNAME_ENV) or helper.getstr("username", None, nonempty=True) or default_username
    password_file = helper.getstr("password_file", None, nonempty=True)
    password = env.get(PASSWORD_ENV)
    if not password and password_file:
        password = read_password_file(Path(password_file))
    if not password and env.get("CREDENTIALS_DIRECTORY"):
        credential = Path(env["CREDENTIALS_DIRECTORY"]) / SYSTEMD_CREDENTIAL
        if credential.exists():
            password = read_password_file(credential, key=f"systemd credential {SYSTEMD_CREDENTIAL}")
    if not password:
        password = helper.getstr("password", None, nonempty=True)
    own_id = helper.getstr("client_id", None, nonempty=True)
    if own_id is not None and not CLIENT_ID_RE.fullmatch(own_id):
        raise helper.error("client_id", f"must be 1..64 characters of A-Z a-z 0-9 _ . -, got {own_id!r}",
                           value=own_id, allowed="1..64 characters of A-Z a-z 0-9 _ . -")
    if password and not username:
        raise helper.error("username", "is missing but an MQTT password is set",
                           allowed="the broker account's name")
    return MqttSettings(
        host=host,
        port=port,
        username=username,
        password=password,
        client_id=own_id or client_id,
        keepalive_s=keepalive_s,
        tls_ca_file=helper.getstr("tls_ca_file", None, nonempty=True),
    )
