"""MQTT credentials (env, 0600 file, systemd credential, inline) and mosquitto/setup.sh, staged."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from solarmon.confighelper import ConfigError
from solarmon.mqtt.client import MqttConnection, MqttSettings
from solarmon.mqtt.credentials import mqtt_settings_from_config
from tests.fixtures.broker import ACL_FILE, MOSQUITTO, Broker, acl_users
from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "mosquitto" / "setup.sh"


def private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("section", "env", "files", "expected"),
    [
        ({"username": "u", "password": "inline"}, {}, {}, ("u", "inline")),
        (
            {"username": "u", "password": "inline", "password_file": "{dir}/p"},
            {},
            {"p": "fromfile\n"},
            ("u", "fromfile"),
        ),
        (
            {"username": "u", "password_file": "{dir}/p"},
            {"SOLARMON_MQTT_PASSWORD": "env"},
            {"p": "f"},
            ("u", "env"),
        ),
        ({}, {"CREDENTIALS_DIRECTORY": "{dir}"}, {"mqtt-password": "cred\n"}, ("dflt", "cred")),
        ({"username": "u"}, {"SOLARMON_MQTT_USERNAME": "envuser"}, {}, ("envuser", None)),
        ({}, {}, {}, ("dflt", None)),
    ],
)
def test_password_sources(tmp_path: Path, section: dict, env: dict, files: dict, expected: tuple) -> None:
    for name, text in files.items():
        private(tmp_path / name, text)
    section = {k: v.replace("{dir}", str(tmp_path)) for k, v in section.items()}
    env = {k: v.replace("{dir}", str(tmp_path)) for k, v in env.items()}
    settings = mqtt_settings_from_config(section, source="x.yaml", default_username="dflt", env=env)
    assert (settings.username, settings.password) == expected


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"port": 70000}, "x.yaml: mqtt.port must be an integer in 1..65535"),
        ({"port": "1883"}, "mqtt.port must be an integer"),
        ({"keepalive_s": 1}, "mqtt.keepalive_s must be an integer in 5..3600"),
        ({"host": ""}, "mqtt.host must be a non-empty string"),
        ({"password": "x"}, "mqtt.username is missing"),
        ({"username": "u", "password_file": "/nonexistent/p"}, "cannot read MQTT password file"),
    ],
)
def test_bad_sections(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        mqtt_settings_from_config(section, source="x.yaml", env={})


def test_group_readable_password_file_refused(tmp_path: Path) -> None:
    secret = private(tmp_path / "p", "pw")
    secret.chmod(0o640)
    with pytest.raises(ConfigError, match="mode 0640"):
        mqtt_settings_from_config({"username": "u", "password_file": str(secret)}, source="s", env={})
    private(secret, "")
    with pytest.raises(ConfigError, match="empty"):
        mqtt_settings_from_config({"username": "u", "password_file": str(secret)}, source="s", env={})


@pytest.mark.timeout(60)
def test_setup_sh_stages_users_and_the_broker_accepts_them(tmp_path: Path) -> None:
    require_tool("mosquitto")
    root = tmp_path / "root"
    env = {**os.environ, "ROOTDIR": str(root)}
    first = subprocess.run(["bash", str(SETUP)], env=env, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0, first.stderr
    users = acl_users(ACL_FILE.read_text())
    passes = {u: (root / "etc/solarmon/mqtt" / f"{u}.pass") for u in users}
    for path in passes.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    passwords = {u: p.read_text().strip() for u, p in passes.items()}
    assert len(set(passwords.values())) == len(users)
    assert all(len(p) >= 24 and p != "mqtt123" for p in passwords.values())
    passwd = root / "etc/mosquitto/solarmon.passwd"
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o600
    assert sorted(line.split(":")[0] for line in passwd.read_text().splitlines()) == sorted(users)
    assert "listener 1883 127.0.0.1" in (root / "etc/mosquitto/conf.d/solarmon.conf").read_text()
    # Again, with a leftover seed account: passwords kept, mqttuser removed, one rotated.
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "mqttuser", "mqtt123"], check=True)
    again = subprocess.run(
        ["bash", str(SETUP), "--rotate", "house-sensor"], env=env, capture_output=True, text=True, timeout=30
    )
    assert again.returncode == 0, again.stderr
    assert "removed the old shared account mqttuser" in again.stdout
    assert "mqttuser:" not in passwd.read_text()
    after = {u: p.read_text().strip() for u, p in passes.items()}
    assert after["house-sensor"] != passwords["house-sensor"]
    assert {u: p for u, p in after.items() if u != "house-sensor"} == {
        u: p for u, p in passwords.items() if u != "house-sensor"
    }
    # The staged password file and ACL work in a real broker.
    broker = Broker(workdir=tmp_path / "broker")
    broker.workdir.mkdir()
    broker.configure(ACL_FILE.read_text())
    conf = broker.workdir / "mosquitto.conf"
    conf.write_text(conf.read_text().replace(str(broker.workdir / "passwd"), str(passwd)))
    broker.start()
    try:
        ok = MqttConnection(
            MqttSettings(port=broker.port, username="house-sensor", password=after["house-sensor"])
        )
        bad = MqttConnection(MqttSettings(port=broker.port, username="mqttuser", password="mqtt123"))
        ok.start()
        bad.start()
        assert ok.wait_connected(5)
        assert not bad.wait_connected(5, until_refused=True)
        ok.stop()
        bad.stop()
    finally:
        broker.stop()


@pytest.mark.timeout(60)
def test_installed_conf_runs_and_refuses_anonymous(tmp_path: Path) -> None:
    """mosquitto/solarmon.conf as installed (paths and port moved into the test's folder) starts,
    takes a generated password and refuses anonymous clients and the seed's account."""
    require_tool("mosquitto")
    from tests.fixtures.broker import _current_user, free_port

    root = tmp_path / "root"
    result = subprocess.run(
        ["bash", str(SETUP)],
        env={**os.environ, "ROOTDIR": str(root)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    port = free_port()
    conf = (root / "etc/mosquitto/conf.d/solarmon.conf").read_text()
    assert "listener 1883 127.0.0.1" in conf
    conf = conf.replace("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1").replace(
        "/etc/mosquitto/", f"{root}/etc/mosquitto/"
    )
    (tmp_path / "run.conf").write_text(conf + f"\nuser {_current_user()}\npersistence false\n")
    broker = Broker(workdir=tmp_path, port=port)
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(tmp_path / "run.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    broker.process = proc
    try:
        password = (root / "etc/solarmon/mqtt/house-sensor.pass").read_text().strip()
        clients = {
            "ok": MqttConnection(MqttSettings(port=port, username="house-sensor", password=password)),
            "anonymous": MqttConnection(MqttSettings(port=port)),
            "seed": MqttConnection(MqttSettings(port=port, username="mqttuser", password="mqtt123")),
        }
        for client in clients.values():
            client.start()
        assert clients["ok"].wait_connected(10)
        assert not clients["anonymous"].wait_connected(5, until_refused=True)
        assert not clients["seed"].wait_connected(5, until_refused=True)
        assert clients["anonymous"].health().last_error in ("not authorised", "bad username or password")
        for client in clients.values():
            client.stop()
    finally:
        broker.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("program", "config_name", "text"), [
    ("web_interface.py", "web.yaml", "mqtt:\n  username: u\n  password_file: {missing}\n"),
    ("weather_fetcher.py", "weather.yaml", "mqtt:\n  username: u\n  password_file: {missing}\n"),
])
def test_a_missing_password_file_is_a_config_error_not_a_traceback(tmp_path: Path, program: str,
                                                                   config_name: str, text: str) -> None:
    """issue 14 point 5: web_interface.py --check answered a missing password_file with a traceback
    and exit 1; every entry point now says which file and key, and exits 2."""
    import sys

    missing = tmp_path / "nope.pass"
    config = tmp_path / config_name
    config.write_text(text.format(missing=missing))
    if program == "web_interface.py":
        args = ["-c", str(config), "--check"]
    else:
        args = ["--config", str(config), "--once"]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SOLARMON_MQTT") and k != "CREDENTIALS_DIRECTORY"}
    result = subprocess.run([sys.executable, str(REPO / program), *args], capture_output=True, text=True,
                            timeout=50, cwd=tmp_path, env=env, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{missing}: cannot read MQTT password file (No such file or directory)" in result.stderr
