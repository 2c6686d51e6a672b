"""`./manage_web.sh fleet-setup` (staged with ROOTDIR): the agent's config, its unit and the bridge
from fleet-site.yaml; secrets only in 0600 files; a bad setting or secret file stops it with exit
status 2 naming file, key and what is allowed; `--create-token` makes the scrape token. The shipped
unit and bridge example are what the code writes; Prometheus' promtool accepts the agent config.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from solarmon.fleet.agent import render_unit
from solarmon.fleet.bridge import render_bridge_config
from solarmon.fleet.settings import load_settings
from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "fleet-site.yaml.example"


def example() -> dict[str, Any]:
    """The shipped example settings, parsed."""
    return yaml.safe_load(EXAMPLE.read_text())


def secret(path: Path, text: str, mode: int = 0o600) -> Path:
    """A secret file with `mode`."""
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def settings_file(tmp_path: Path, **changes: dict[str, Any] | str) -> Path:
    """The example with its secret files in tmp_path (and `changes` merged per section)."""
    data = example()
    data["central"]["credentials_file"] = str(secret(tmp_path / "rw.secret", "rw-password"))
    data["scrape"]["token_file"] = str(secret(tmp_path / "scrape.token", "smt_x_scrape"))
    ca = tmp_path / "central-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    data["bridge"].update(enabled=True, ca_file=str(ca),
                          password_file=str(secret(tmp_path / "bridge.secret", "bridge-password")))
    for key, value in changes.items():
        if isinstance(value, dict):
            data[key].update(value)
        else:
            data[key] = value
    path = tmp_path / "fleet-site.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def fleet_setup(tmp_path: Path, settings: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`manage_web.sh fleet-setup` staged under tmp_path/root."""
    env = os.environ | {"ROOTDIR": str(tmp_path / "root"), "FLEET_YAML": str(settings)}
    return subprocess.run(["bash", str(REPO / "manage_web.sh"), "fleet-setup", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_shipped_unit_and_bridge_are_what_fleet_setup_writes() -> None:
    settings = load_settings(example(), "fleet-site.yaml")
    assert (REPO / "systemd" / "solarmon-fleet-agent.service").read_text() == render_unit(settings)
    data = example()
    data["bridge"]["enabled"] = True
    bridge = render_bridge_config(load_settings(data, "fleet-site.yaml"), "<bridge.password_file>")
    assert (REPO / "mosquitto" / "fleet-bridge.conf.example").read_text() == bridge


def test_fleet_setup_writes_config_unit_and_bridge(tmp_path: Path) -> None:
    done = fleet_setup(tmp_path, settings_file(tmp_path))
    assert done.returncode == 0, done.stderr
    root = tmp_path / "root"
    agent = root / "etc/solarmon/fleet/agent.yml"
    unit = root / "etc/systemd/system/solarmon-fleet-agent.service"
    bridge = root / "etc/mosquitto/conf.d/solarmon-fleet-bridge.conf"
    assert (mode(agent), mode(unit), mode(bridge)) == (0o644, 0o644, 0o600)
    config = yaml.safe_load(agent.read_text())
    assert config["global"]["external_labels"] == {"site": "cabin"}
    (write,) = config["remote_write"]
    assert write["url"] == "https://metrics.example.org/api/v1/write"
    assert write["basic_auth"] == {"username": "cabin", "password_file":
                                   "/run/credentials/solarmon-fleet-agent.service/remote-write.secret"}
    # No secret in the agent's config or the unit: only the files (handed over by systemd).
    for text in (agent.read_text(), unit.read_text()):
        assert "rw-password" not in text
        assert "smt_x_scrape" not in text
    assert f"LoadCredential=remote-write.secret:{tmp_path}/rw.secret" in unit.read_text()
    assert f"Documentation=file:{REPO}/docs/FLEET.md" in unit.read_text()
    # The bridge must carry its password (Mosquitto reads it nowhere else): hence 0600.
    assert "remote_password bridge-password" in bridge.read_text()
    assert "topic alerts/# out 1 \"\" sites/cabin/" in bridge.read_text()


def test_the_agent_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    settings = settings_file(tmp_path, scrape={"node_exporter": "127.0.0.1:9100"})
    done = subprocess.run([sys.executable, "-m", "solarmon.fleet", "render", "agent", "--direct",
                           "--settings", str(settings)], capture_output=True, text=True, timeout=60, cwd=REPO,
                          check=True)
    config = tmp_path / "agent.yml"
    config.write_text(done.stdout)
    check = subprocess.run([promtool, "check", "config", "--agent", str(config)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "mpp_solar_" in done.stdout  # the textfile job keeps only the solarmon families


@pytest.mark.parametrize("kind", ["prometheus", "vmagent"])
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path, kind: str) -> None:
    analyze = require_tool("systemd-analyze")
    require_tool(kind)  # verify checks that ExecStart's program exists
    assert fleet_setup(tmp_path, settings_file(tmp_path, agent={"kind": kind})).returncode == 0
    unit = tmp_path / "root/etc/systemd/system/solarmon-fleet-agent.service"
    result = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert [line for line in result.stderr.splitlines() if unit.name in line] == []


def test_vmagent_takes_the_remote_write_on_its_command_line(tmp_path: Path) -> None:
    assert fleet_setup(tmp_path, settings_file(tmp_path, agent={"kind": "vmagent"})).returncode == 0
    unit = (tmp_path / "root/etc/systemd/system/solarmon-fleet-agent.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start.split()[:6] == [
        "ExecStart=/usr/bin/vmagent", "-promscrape.config=/etc/solarmon/fleet/agent.yml",
        "-remoteWrite.url=https://metrics.example.org/api/v1/write", "-remoteWrite.label=site=cabin",
        "-remoteWrite.tmpDataPath=/var/lib/solarmon-fleet-agent", "-httpListenAddr=127.0.0.1:9095"]
    assert "-remoteWrite.basicAuth.passwordFile=/run/credentials/solarmon-fleet-agent.service/" \
           "remote-write.secret" in exec_start
    config = yaml.safe_load((tmp_path / "root/etc/solarmon/fleet/agent.yml").read_text())
    assert set(config) == {"global", "scrape_configs"}  # vmagent refuses remote_write there


@pytest.mark.parametrize(("changes", "message"), [
    ({"site": "Cabin!"},
     "fleet-site.yaml: site must be 1-63 of a-z 0-9 _ -, starting with a letter or digit, got 'Cabin!'"),
    ({"central": {"remote_write_url": "ftp://central/x"}},
     "central.remote_write_url must be an http:// or https:// URL, got 'ftp://central/x'"),
    ({"central": {"remote_write_url": "http://central.example:8428/api/v1/write"}},
     "central.remote_write_url must be an https:// URL when credentials are sent to another host"),
    ({"central": {"auth": "digest"}}, "central.auth must be one of basic, bearer, none, got 'digest'"),
    ({"scrape": {"interval_s": 0}}, "scrape.interval_s must be an integer in 1..3600, got 0"),
    ({"agent": {"min_backoff_s": 5, "max_backoff_s": 1}}, "agent.max_backoff_s must be at least"),
    ({"bridge": {"central_host": ""}}, "bridge.central_host is missing but bridge.enabled is true"),
    # Each would break a line of the unit or of Mosquitto's config.
    ({"bridge": {"central_host": "central\nconnection evil"}},
     "bridge.central_host must be a host name or IP address"),
    ({"central": {"credentials_file": "/etc/my secret"}}, "central.credentials_file must be an absolute path "
                                                          "without spaces"),
    ({"scrape": {"token_file": "scrape.token"}}, "scrape.token_file must be an absolute path without spaces"),
])
def test_bad_settings_stop_with_exit_2_naming_the_key(tmp_path: Path, changes: dict[str, Any],
                                                      message: str) -> None:
    done = fleet_setup(tmp_path, settings_file(tmp_path, **changes))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not (tmp_path / "root").exists()  # nothing written


def test_secret_files_must_exist_and_be_private(tmp_path: Path) -> None:
    settings = settings_file(tmp_path)
    (tmp_path / "rw.secret").chmod(0o644)
    done = fleet_setup(tmp_path, settings)
    assert done.returncode == 2
    wanted = f"central.credentials_file: {tmp_path}/rw.secret has mode 0644; a secret must be 0600"
    assert wanted in done.stderr
    (tmp_path / "rw.secret").chmod(0o600)
    (tmp_path / "bridge.secret").unlink()
    done = fleet_setup(tmp_path, settings)
    assert done.returncode == 2
    assert f"bridge.password_file: cannot read {tmp_path}/bridge.secret" in done.stderr
    done = fleet_setup(tmp_path, tmp_path / "nothing.yaml")
    assert done.returncode == 2
    assert "no such file (copy fleet-site.yaml.example to nothing.yaml" in done.stderr


def test_create_token_makes_a_viewer_token_for_the_scrape(tmp_path: Path) -> None:
    from solarmon.web.auth.tokens import TokenStore

    web_yaml = tmp_path / "web.yaml"
    web_yaml.write_text(yaml.safe_dump({"history": {"db_path": "h.db"},
                                        "security": {"token_store": "tokens.json", "users_file": "users.json",
                                                     "audit_log": "audit.jsonl"}}))
    settings = settings_file(tmp_path)
    (tmp_path / "scrape.token").unlink()
    env = os.environ | {"ROOTDIR": str(tmp_path / "root"), "FLEET_YAML": str(settings),
                        "WEB_YAML": str(web_yaml)}
    done = subprocess.run(["bash", str(REPO / "manage_web.sh"), "fleet-setup", "--create-token"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "created the scrape token fleet-agent-cabin" in done.stdout
    token_file = tmp_path / "scrape.token"
    assert mode(token_file) == 0o600
    info = TokenStore(tmp_path / "tokens.json").verify(token_file.read_text().strip())
    assert info is not None
    assert (info.name, info.role) == ("fleet-agent-cabin", "viewer")
    # A second run keeps the token it made.
    again = subprocess.run(["bash", str(REPO / "manage_web.sh"), "fleet-setup", "--create-token"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0
    assert "created the scrape token" not in again.stdout
