"""Fixtures of the docs tests: the Markdown files, and the metric names the system really exports.

`exported` runs the real parts once per session: the simulator on a pty, the daemon's `--once`
cycle writing its .prom file, the web app reading that file and answering GET /metrics, and the
MQTT part's house.prom / weather.prom writer. The names come from parsing what they wrote with
prometheus_client's own text parser, so a renamed family is noticed here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
# Folders that hold other people's Markdown (packages) or generated output.
SKIP_DIRS = frozenset({".venv", "node_modules", ".git", "artifacts", "var", ".pytest_cache", ".ruff_cache"})


def markdown_files() -> list[Path]:
    """Every Markdown file of the project (not of its dependencies)."""
    found = []
    for path in sorted(REPO.rglob("*.md")):
        if not SKIP_DIRS.intersection(path.relative_to(REPO).parts):
            found.append(path)
    return found


def section(text: str, heading: str) -> str:
    """The text under a `#`-heading up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, flags=re.MULTILINE)
    assert match, f"heading {heading!r} not found"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def sample_names(text: str) -> set[str]:
    """Every series name of a Prometheus text exposition, also of families without samples yet.

    A counter family `x` is queried as `x_total`; one that has counted nothing yet (no error of any
    kind) has a HELP line but no sample, and its name is still a valid query.
    """
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
        names.update(sample.name for sample in family.samples)
    return names


@dataclass(frozen=True)
class Exported:
    """What the running system exported: texts and their sample names, per producer."""

    daemon_text: str
    web_text: str
    sensors_text: str

    @property
    def daemon(self) -> set[str]:
        """Names in the daemon's mpp-solar-<section>.prom."""
        return sample_names(self.daemon_text)

    @property
    def web(self) -> set[str]:
        """Names on the web app's /metrics."""
        return sample_names(self.web_text)

    @property
    def sensors(self) -> set[str]:
        """Names in house.prom, weather.prom and battery.prom."""
        return sample_names(self.sensors_text)


@dataclass(frozen=True)
class Textfiles:
    """A folder as the running system leaves it: the daemon's real file, house.prom, weather.prom."""

    directory: Path
    section: str


@pytest.fixture(scope="session")
def textfiles(tmp_path_factory: pytest.TempPathFactory) -> Textfiles:
    """Run the simulator and one `daemon --once` cycle, and the sensor textfile writer, once."""
    from solarmon.mqtt.payload import SensorValue
    from solarmon.mqtt.promfile import SensorSnapshot, write_snapshot
    from solarmon.simulator.runner import SimulatorProcess

    root = tmp_path_factory.mktemp("textfiles")
    prom_dir = root / "prometheus"
    with SimulatorProcess(root / "ttySIM", transport="pty") as sim:
        conf = root / "mpp-solar.conf"
        conf.write_text(f"[SETUP]\ncontrol_socket =\naudit_log = audit.jsonl\n\n[docs]\nport = {sim.port}\n"
                        "porttype = serial\ncommand = QPIGS\nprom_output_dir = prometheus\n")
        run = subprocess.run([sys.executable, "-m", "solarmon.daemon", "-C", str(conf), "--once"], cwd=REPO,
                             capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0, f"daemon --once failed: {run.stderr[-2000:]}"
    now = time.time()
    sensors = (("house", "living_room/temperature", "°C"), ("weather", "temperature", "°C"),
               ("battery", "cell1", "V"))
    for source, name, unit in sensors:
        write_snapshot(prom_dir / f"{source}.prom", SensorSnapshot(
            source, [SensorValue(source, name, 21.5, unit, now)], accepted=1, rejected={"non_finite": 1}))
    return Textfiles(prom_dir, "docs")


def make_app(textfiles: Textfiles, root: Path) -> Any:
    """A web app over the textfile folder, with its database and token under `root`."""
    from solarmon.web import create_app
    from tests.fixtures.webapp import TOKEN

    token = root / "command.token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    return create_app({"data": {"prom_dir": str(textfiles.directory)},
                       "history": {"db_path": str(root / "history.db")},
                       "security": {"users_file": str(root / "users.json"),
                                    "secret_key_file": str(root / "secret_key"),
                                    "token_store": str(root / "tokens.json"),
                                    "audit_log": str(root / "web-audit.jsonl")},
                       "daemon": {"control_socket": str(root / "none.sock"),
                                  "command_token_file": str(token)}})


@pytest.fixture(scope="session")
def exported(textfiles: Textfiles, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """What the daemon, the web app's /metrics and the sensor writer export, as texts."""
    from solarmon.web.runtime import Runtime, get_context

    app = make_app(textfiles, tmp_path_factory.mktemp("webapp"))
    runtime = Runtime.for_app(app).start()
    try:
        get_context(app).parts.reader.scan(force=True)
        response = app.test_client().get("/metrics")
    finally:
        runtime.stop()
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    directory = textfiles.directory
    sensors = "".join((directory / f"{name}.prom").read_text() for name in ("house", "weather", "battery"))
    return Exported((directory / f"mpp-solar-{textfiles.section}.prom").read_text(),
                    response.get_data(as_text=True), sensors)
