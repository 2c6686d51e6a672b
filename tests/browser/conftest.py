"""Fixtures of the browser tests: Debian's chromium-headless-shell driven by pytest-playwright, and
the whole system it looks at — the PI30 simulator on a pty, the daemon polling it and writing
.prom files, the web app reading them — served on a free localhost port.

The stack is started once per session (a simulator, a daemon and a web server take seconds);
tests that need a server in another state (no data, commands off, two inverters) build their own
small app. Screenshots go to artifacts/screenshots/ (gitignored) for people to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.server import ServerThread, seed_history
from tests.fixtures.broker import ACL_FILE, MOSQUITTO, Broker, settings_for
from tests.fixtures.webapp import TOKEN, WebPaths, make_web_config

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
DOC_IMAGES = REPO / "docs" / "img"
VIEWPORTS = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 800}}
SECTION = "inv"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that selects these tests (`-m browser`, or `-m "not browser"`)."""
    config.addinivalue_line("markers", "browser: drives a real browser (chromium-headless-shell)")


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll `condition` until it returns something true; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def get_json(url: str) -> tuple[int, Any]:
    """GET a JSON endpoint: (status, body), also for error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


# What the house sensors and the weather fetcher publish in the stack: (user, topic, payload).
MQTT_MESSAGES = (
    ("house-sensor", "house/living_room/temperature", '{"value": 21.5, "unit": "°C"}'),
    ("house-sensor", "house/living_room/humidity", '{"value": 44, "unit": "%"}'),
    ("house-sensor", "house/cellar/temperature", '{"value": 12.25, "unit": "°C"}'),
    # The weather fetcher's way: the digest with the units first, then one bare number per value.
    ("solarmon-weather", "weather/current", json.dumps({
        "values": {"temperature": -3.4, "humidity": 81, "wind_speed": 12.5, "weather_code": 3},
        "units": {"temperature": "°C", "humidity": "%", "wind_speed": "km/h", "weather_code": "wmo code"},
        "stale": False})),
    ("solarmon-weather", "weather/temperature", "-3.4"),
    ("solarmon-weather", "weather/humidity", "81"),
    ("solarmon-weather", "weather/wind_speed", "12.5"),
    ("solarmon-weather", "weather/weather_code", "3"),
)


@dataclass
class Stack:
    """The running system: `url` of the web app, the simulator (`sim.control(...)`), paths, and
    the MQTT broker (None when mosquitto is not installed: the house page then has no sensors)."""

    url: str
    sim: Any
    paths: WebPaths
    daemon_log: Path
    broker: Broker | None = None
    section: str = SECTION


def _start_broker(root: Path) -> Broker | None:
    """A private Mosquitto with the project's ACL, or None when it is not installed."""
    if not Path(MOSQUITTO).exists() or shutil.which("mosquitto_passwd") is None:
        return None
    workdir = root / "mosquitto"
    workdir.mkdir()
    broker = Broker(workdir=workdir)
    broker.configure(ACL_FILE.read_text())
    broker.start()
    return broker


def _mqtt_overrides(broker: Broker, root: Path) -> dict[str, dict[str, Any]]:
    secret = root / "web-mqtt.pass"
    secret.write_text(broker.users["solarmon-web"] + "\n")
    secret.chmod(0o600)
    return {"mqtt": {"host": broker.host, "port": broker.port, "password_file": str(secret)}}


def _publish_house_and_weather(broker: Broker, house: Any) -> None:
    """Publish MQTT_MESSAGES as the sensors would, once the web app's subscriber is connected."""
    from solarmon.mqtt.client import MqttConnection

    assert house.wait_connected(10), "the web app's MQTT subscriber did not connect"
    for user in dict.fromkeys(user for user, _topic, _payload in MQTT_MESSAGES):
        conn = MqttConnection(settings_for(broker, user))
        conn.start()
        try:
            assert conn.wait_connected(5), f"{user} could not connect to the test broker"
            for who, topic, payload in MQTT_MESSAGES:
                if who == user:
                    conn.publish(topic, payload, qos=1, retain=True)
            assert conn.flush(5)
        finally:
            conn.stop()


def _daemon_conf(root: Path, sim_port: Path, paths: WebPaths) -> Path:
    # pause 0.1 s: a value changed in the simulator reaches the file within about a second.
    conf = root / "mpp-solar.conf"
    conf.write_text("\n".join([
        "[SETUP]", "pause = 0.1", f"control_socket = {paths.control_socket}",
        f"audit_log = {root / 'audit.jsonl'}",
        f"[{SECTION}]", f"port = {sim_port}", "porttype = serial", f"prom_output_dir = {paths.prom_dir}",
        "dev = sim", "command = QPIGS", "allowed_settings = POP, PCP, MCHGC, PBCV", "settings_interval = 600",
    ]) + "\n")
    return conf


@pytest.fixture(scope="session")
def solar_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Simulator -> daemon -> .prom files -> web app (with 31 days of seeded history) -> waitress."""
    from solarmon.simulator.runner import SimulatorProcess
    from solarmon.web import create_app
    from solarmon.web.runtime import Runtime, get_context

    root = tmp_path_factory.mktemp("browser-stack")
    prom_dir = root / "prometheus"
    prom_dir.mkdir()
    token_file = root / "command.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    sock_dir = Path(tempfile.mkdtemp(prefix="smb-"))  # AF_UNIX paths must stay short
    paths = WebPaths(root, prom_dir, root / "history.db", sock_dir / "control.sock", token_file)
    sim = SimulatorProcess(root / "sim-pty", transport="pty", seed=5)
    daemon_log = root / "daemon.log"
    daemon = runtime = server = broker = None
    try:
        broker = _start_broker(root)
        sim.start()
        daemon = subprocess.Popen(
            [sys.executable, "-m", "solarmon.daemon", "-C", str(_daemon_conf(root, sim.port, paths))],
            cwd=REPO, stderr=daemon_log.open("w"))
        # A command waits for the daemon's poll cycle in progress (about a second at 2400 baud).
        overrides = {"server": {"threads": 48, "max_streams": 40, "keepalive_s": 5},
                     "daemon": {"timeout_s": 15}, **(_mqtt_overrides(broker, root) if broker else {})}
        app = create_app(make_web_config(paths, overrides))
        runtime = Runtime.for_app(app).start()
        if broker is not None:
            _publish_house_and_weather(broker, get_context(app).parts.house)
        # History ends where the live samples begin, so charts of every range have data.
        seed_history(get_context(app).parts.history, f"inverter:{SECTION}", days=31, step_s=240,
                     now=time.time() - 60)
        server = ServerThread(app, threads=48).start()
        url = server.url
        wait_for(lambda: get_json(f"{url}/api/data")[0] == 200, 30,
                 f"live data from the daemon (log: {daemon_log})")
        yield Stack(url, sim, paths, daemon_log, broker)
    finally:
        if runtime is not None:
            runtime.stop()
        if server is not None:
            server.stop()
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(5)
        sim.stop()
        if broker is not None:
            broker.stop()
        for leftover in sock_dir.iterdir():
            leftover.unlink()
        sock_dir.rmdir()


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[Callable[..., tuple[str, WebPaths]]]:
    """Factory of an app without simulator or daemon, for states the stack is not in:
    `url, paths = small_server(overrides)`; the test writes .prom files itself."""
    from solarmon.web import create_app
    from solarmon.web.runtime import Runtime

    started: list[tuple[ServerThread, Any]] = []

    def start(overrides: dict[str, dict[str, Any]] | None = None) -> tuple[str, WebPaths]:
        root = tmp_path / f"app{len(started)}"
        (root / "prometheus").mkdir(parents=True)
        token_file = root / "command.token"
        token_file.write_text(TOKEN + "\n")
        token_file.chmod(0o600)
        no_daemon = Path(tempfile.gettempdir()) / f"smb-none-{os.getpid()}-{len(started)}.sock"
        paths = WebPaths(root, root / "prometheus", root / "history.db", no_daemon, token_file)
        app = create_app(make_web_config(paths, overrides))
        runtime = Runtime.for_app(app).start()
        server = ServerThread(app).start()
        started.append((server, runtime))
        return server.url, paths

    yield start
    for server, runtime in started:
        runtime.stop()
        server.stop()


@dataclass
class PageWatch:
    """What a page did: console errors, uncaught exceptions, failed or refused requests, and
    every request that would have left this machine."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything that should not have happened, for one assert with a readable message."""
        return [*self.errors, *self.failed, *(f"external request: {u}" for u in self.external)]


def watch(page: Any) -> PageWatch:
    """Attach listeners to `page` before it loads anything."""
    seen = PageWatch()

    def on_console(message: Any) -> None:
        if message.type == "error":
            seen.errors.append(f"console error: {message.text}")

    def on_request(request: Any) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host not in LOCAL_HOSTS:
            seen.external.append(request.url)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            seen.failed.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.errors.append(f"page error: {exc}"))
    page.on("request", on_request)
    page.on("response", on_response)
    def on_failed(request: Any) -> None:
        # Leaving a page aborts its open live stream: that is the browser closing it, not a failure.
        if urlsplit(request.url).path == "/api/stream" and "ERR_ABORTED" in (request.failure or ""):
            return
        seen.failed.append(f"failed: {request.url} {request.failure}")

    page.on("requestfailed", on_failed)
    return seen


def settle(page: Any, timeout_ms: int = 15000) -> None:
    """Wait until the page has drawn its data: no 'Loading…' left and the status badge decided."""
    page.wait_for_function(
        """() => {
            const loading = [...document.querySelectorAll('.sm-chart-status')]
                .some((e) => e.textContent.trim() === 'Loading…');
            const badge = document.getElementById('live-status');
            return !loading && badge && badge.dataset.state !== 'connecting';
        }""",
        timeout=timeout_ms,
    )


def screenshot(page: Any, name: str, *, docs: bool = False) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ and return its path. With `docs`
    and SOLARMON_DOCS_SCREENSHOTS=1 it also goes to docs/img/ (the pictures of docs/DASHBOARDS.md:
    refresh them with that variable set, and commit them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("SOLARMON_DOCS_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_IMAGES / path.name)
    return path


# Accounts the browser tests sign in with (made in the running stack by `accounts`).
PASSWORDS = {"browser-operator": "operator-pass-123", "browser-admin": "admin-pass-456"}


@pytest.fixture(scope="session")
def accounts(solar_stack: Stack) -> dict[str, str]:
    """An operator and an admin account in the running stack (the app re-reads the users file)."""
    from solarmon.web.auth.users import UserStore

    users = UserStore(solar_stack.paths.root / "var" / "users.json")
    for name, password in PASSWORDS.items():
        if users.get(name) is None:
            users.add(name, password, name.split("-")[1])
    return PASSWORDS


def sign_in(page: Any, url: str, name: str, target: str = "/") -> None:
    """Fill and send the login form (the LCARS one for an LCARS target); wait for the page it leads to."""
    login = "/login/lcars" if target.rstrip("/").endswith("/lcars") else "/login"
    page.goto(f"{url}{login}?next={target}")
    page.fill("#login-username", name)
    page.fill("#login-password", PASSWORDS[name])
    page.click("#login-submit")
    page.wait_for_url(url + target)
