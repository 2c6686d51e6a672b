"""`./manage_web.sh fleet-setup`: write the agent's config and unit and the bridge from the settings.

Checks first, writes after: the settings (ConfigError: exit 2), the secret files they name (each
must exist with mode 0600, or the scrape token is created with `--create-token`), then writes
atomically under `root` (a staging folder for packaging and tests; '' on the machine itself):
`etc/solarmon/fleet/agent.yml` (0644: no secret in it), `etc/systemd/system/solarmon-fleet-agent.service`
(0644) and, with `bridge.enabled`, `etc/mosquitto/conf.d/solarmon-fleet-bridge.conf` (0600: it holds
the bridge's password). systemctl is manage_web.sh's part, as for the web app's own unit.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from solarmon.atomicfile import PRIVATE_MODE, PUBLIC_MODE, write_atomic
from solarmon.confighelper import ConfigError
from solarmon.fleet.agent import CONFIG_PATH, UNIT, render_agent_config, render_unit
from solarmon.fleet.bridge import CONF_NAME, render_bridge_config
from solarmon.fleet.settings import SiteSettings, check_secret_file, load_settings

EXAMPLE = "fleet-site.yaml.example"


@dataclass
class SetupResult:
    """What fleet-setup wrote (paths as written, under the staging root)."""

    written: list[Path] = field(default_factory=list)
    token_created: bool = False


def read_settings(path: Path) -> SiteSettings:
    """Load `fleet-site.yaml`; a missing or unparsable file is a ConfigError like a bad key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (copy {EXAMPLE} to {path.name} and set site, "
                          "central.remote_write_url and the credentials files)", source=str(path),
                          allowed="a fleet-site.yaml") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})", source=str(path), allowed="YAML") from None
    return load_settings(data, path)


def create_scrape_token(settings: SiteSettings, *, checkout: Path, web_yaml: Path) -> None:
    """Create the site's API token for the scrape (role viewer) with `web_interface.py token add`
    and store it, alone, in `scrape.token_file` (0600)."""
    name = f"fleet-agent-{settings.site}"
    done = subprocess.run(  # our own interpreter and script, no shell
        [sys.executable, str(checkout / "web_interface.py"), "-c", str(web_yaml), "token", "add", name,
         "--role", "viewer"], capture_output=True, text=True, timeout=60, cwd=checkout, check=False)
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines:
        raise ConfigError(f"{settings.source}: scrape.token_file: could not create the token {name!r} "
                          f"({(done.stderr or done.stdout).strip()})", source=settings.source,
                          key="scrape.token_file", allowed="a token made by web_interface.py token add")
    write_atomic(Path(settings.scrape.token_file), lines[0].strip() + "\n", mode=PRIVATE_MODE)


def check_secrets(settings: SiteSettings) -> str:
    """Check every secret file the settings name; return the bridge's password ('' when off)."""
    source = settings.source
    if settings.central.auth != "none":
        check_secret_file(settings.central.credentials_file, source=source, key="central.credentials_file")
    if settings.scrape.token_file:
        check_secret_file(settings.scrape.token_file, source=source, key="scrape.token_file")
    if not settings.bridge.enabled:
        return ""
    password = check_secret_file(settings.bridge.password_file, source=source, key="bridge.password_file")
    if any(ch.isspace() for ch in password) or "#" in password:
        raise ConfigError(f"{source}: bridge.password_file: the password holds a space or '#', which "
                          "Mosquitto's config cannot carry", source=source, key="bridge.password_file",
                          allowed="a password without spaces or '#'")
    if not Path(settings.bridge.ca_file).is_file():
        raise ConfigError(f"{source}: bridge.ca_file: {settings.bridge.ca_file} does not exist (the "
                          "central broker's CA certificate)", source=source, key="bridge.ca_file",
                          value=settings.bridge.ca_file, allowed="an existing PEM file")
    return password


def run_setup(settings: SiteSettings, *, root: Path, checkout: Path, web_yaml: Path,
              create_token: bool = False) -> SetupResult:
    """Check the secrets (creating the scrape token when asked and missing), then write the files."""
    result = SetupResult()
    token = Path(settings.scrape.token_file) if settings.scrape.token_file else None
    if create_token and token is not None and not token.exists():
        create_scrape_token(settings, checkout=checkout, web_yaml=web_yaml)
        result.token_created = True
    password = check_secrets(settings)
    stage = str(root) if str(root) not in ("", "/") else ""
    agent_path = Path(stage + CONFIG_PATH)
    write_atomic(agent_path, render_agent_config(settings), mode=PUBLIC_MODE)
    unit_path = Path(f"{stage}/etc/systemd/system/{UNIT}")
    write_atomic(unit_path, render_unit(settings).replace("/opt/solarmon", str(checkout)), mode=PUBLIC_MODE)
    result.written += [agent_path, unit_path]
    if settings.bridge.enabled:
        bridge_path = Path(f"{stage}/etc/mosquitto/conf.d/{CONF_NAME}")
        write_atomic(bridge_path, render_bridge_config(settings, password), mode=PRIVATE_MODE)
        result.written.append(bridge_path)
    return result
