"""Fixtures of the daemon tests: config files, decoded readings from real frames, system tools."""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from solarmon.daemon.promfile import metric_name
from solarmon.inverter.codec import decode, decode_raw
from solarmon.inverter.frame import CrcState, ReplyFrame, encode_reply
from solarmon.inverter.readings import Reading
from tests.fixtures.simulator import fuse_usable
from tests.tools import missing_tool, require_tool

REPO = Path(__file__).resolve().parents[2]
# PI30.md §3's reference replies: what a 5 kW 48 V unit says.
REFERENCE_PAYLOADS = {
    "QPIGS": "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
             "00 00 00856 010",
    "QPIRI": "230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 54.0 0 1",
    "QMOD": "B",
    "QPIWS": "00000000000100000000000000000000",
    "QFLAG": "EakxyDbjuvz",
}


@pytest.fixture
def write_conf(tmp_path: Path) -> Callable[..., Path]:
    """Write an INI text (dedented) to tmp_path/<name> and return its path."""

    def write(text: str, name: str = "mpp-solar.conf") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture
def reference_readings() -> dict[str, Reading]:
    """The reference replies decoded by the real codec, keyed by command."""
    return {cmd: decode_raw(cmd, encode_reply(payload)) for cmd, payload in REFERENCE_PAYLOADS.items()}


@pytest.fixture
def promtool() -> str:
    """Path of promtool (Debian package prometheus, installed by scripts/setup.sh)."""
    return require_tool("promtool")


@pytest.fixture
def systemd_analyze() -> str:
    """Path of systemd-analyze (Debian package systemd)."""
    return require_tool("systemd-analyze")


class Simulator:
    """A running ``python -m solarmon.simulator`` with its device path and ground-truth log."""

    def __init__(self, proc: subprocess.Popen, port: Path, truth: Path, control: Path) -> None:
        self.proc = proc
        self.port = port
        self.truth = truth
        self.control = control
        self._offset = 0
        self._events: list[dict] = []

    def events(self) -> list[dict]:
        """Every truth-log event so far (read incrementally: the log grows to megabytes)."""
        with self.truth.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        self._events.extend(json.loads(line) for line in complete.splitlines() if line.strip())
        return self._events

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _wait_ready(proc: subprocess.Popen, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("ready "):
                return line.split(" ", 1)[1].strip()
            if not line and proc.poll() is not None:
                break
    raise RuntimeError(f"simulator did not get ready (exit {proc.poll()})")


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Callable[..., Simulator]]:
    """Start simulators: ``simulator(transport="pty"|"hidraw", faults="", baud=0, seed=1)``."""
    started: list[Simulator] = []

    def start(transport: str = "pty", faults: str = "", baud: int = 0, seed: int = 1,
              profile: str = "axpert-5k", name: str = "inv") -> Simulator:
        if transport == "hidraw" and (reason := fuse_usable()) is not None:
            missing_tool("FUSE", f"the hidraw simulation needs it: {reason}")
        port, truth = tmp_path / name, tmp_path / f"{name}-truth.jsonl"
        control = tmp_path / f"{name}-sim.sock"
        args = [sys.executable, "-m", "solarmon.simulator", "--port", str(port), "--transport", transport,
                "--baud", str(baud), "--seed", str(seed), "--profile", profile, "--truth-log", str(truth),
                "--control", str(control)]
        if faults:
            args += ["--faults", faults]
        log = (tmp_path / f"{name}-sim.log").open("w")
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        sim = Simulator(proc, port, truth, control)
        started.append(sim)
        _wait_ready(proc, 30)
        return sim

    yield start
    for sim in started:
        sim.stop()


def prom_values(text: str) -> dict[str, dict[str, float | str]]:
    """A .prom file's device values by command: ``{cmd: {metric name: number or myStr string}}``."""
    by_cmd: dict[str, dict[str, float | str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            cmd = sample.labels.get("cmd")
            if cmd is None or sample.name in ("mpp_solar_reading_timestamp_seconds", "mpp_solar_field_info"):
                continue
            value = sample.labels.get("myStr", sample.value)
            by_cmd.setdefault(cmd, {})[sample.name] = value
    return by_cmd


def expected_values(command: str, payload: str) -> dict[str, float | str]:
    """What the file must show for ``payload`` as ``command``'s reply: the codec's fields, by name."""
    reading = decode(command, ReplyFrame(payload=payload, crc=CrcState.OK, raw=b""))
    values: dict[str, float | str] = {}
    for field in reading.fields:
        name = metric_name(field.name)
        if isinstance(field.value, str):
            values.setdefault(name, field.value)
        elif field.value is not None:
            values.setdefault(name, float(field.value))
    return values


def sent_payloads(events: list[dict], command: str) -> list[str]:
    """Payloads the simulator sent intact for ``command`` (its truth log's valid exchanges)."""
    return [e["payload"] for e in events if e.get("event") == "exchange" and e.get("request") == command
            and e.get("valid")]


def wait_until(condition: Callable[[], object], timeout_s: float = 30.0, what: str = "condition") -> object:
    """Poll ``condition`` until it is truthy (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sim_control(sim: Simulator, message: dict) -> dict:
    """Send one message to the simulator's control socket and return its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(sim.control))
        sock.sendall(json.dumps(message).encode() + b"\n")
        return json.loads(sock.makefile("rb").readline())


def promtool_check(promtool: str, text: str) -> tuple[int, list[str]]:
    """Run ``promtool check metrics`` on ``text``: exit code and the problems it lists."""
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True,
                            timeout=60, check=False)
    return result.returncode, (result.stdout + result.stderr).decode().splitlines()
