"""Real parts of a fleet for the tests: VictoriaMetrics, a Prometheus agent, a TCP link that can be
cut, a site web app serving /metrics, and throwaway TLS certificates.

Every process listens on a free localhost port in a private folder and is stopped by its fixture.
The tools come through tests/tools.py (skip on a laptop without them, fail on CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from solarmon.fleet.agent import agent_command, render_agent_config
from solarmon.fleet.settings import SiteSettings, load_settings
from tests.fixtures.broker import free_port
from tests.tools import require_tool

READY_TIMEOUT_S = 30.0


def wait_for(predicate: Callable[[], Any], timeout_s: float, step_s: float = 0.1) -> Any:
    """The first truthy value of `predicate()` within the timeout, else None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    return None


def http_get(url: str, *, token: str | None = None, timeout_s: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of a GET; a refused connection is status 0."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a child we started, then kill it if it does not go."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class VictoriaMetrics:
    """Debian's victoria-metrics on a free port with its data in a private folder."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_tool("victoria-metrics")
        self.workdir = workdir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its HTTP root (the remote-write endpoint is url + /api/v1/write)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetrics:
        """Start it and wait for /health."""
        self.port = free_port()
        log = (self.workdir / "vm.log").open("ab")
        self.process = subprocess.Popen([self.binary, f"-storageDataPath={self.workdir / 'data'}",
                                         f"-httpListenAddr=127.0.0.1:{self.port}", "-loggerLevel=ERROR"],
                                        stdout=log, stderr=log)
        log.close()
        if not wait_for(lambda: http_get(self.url + "/health")[0] == 200, READY_TIMEOUT_S):
            stop_process(self.process)
            raise RuntimeError(f"victoria-metrics did not start: {(self.workdir / 'vm.log').read_text()}")
        return self

    def stop(self) -> None:
        """Stop it."""
        stop_process(self.process)

    def export(self, match: str, start_s: float = 0, end_s: float | None = None) -> list[dict[str, Any]]:
        """Every raw sample of the series `match` selects, as stored: [{metric, values, timestamps}].
        New samples are made searchable first (/internal/force_flush), and no cache is involved."""
        http_get(self.url + "/internal/force_flush")
        query = {"match[]": match, "start": f"{start_s:.3f}"}
        if end_s is not None:
            query["end"] = f"{end_s:.3f}"
        status, body = http_get(f"{self.url}/api/v1/export?{urllib.parse.urlencode(query)}")
        assert status == 200, body
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def timestamps(self, match: str, start_s: float = 0, end_s: float | None = None) -> list[float]:
        """The sorted sample times (s) of the one series `match` selects (none: [])."""
        series = self.export(match, start_s, end_s)
        assert len(series) <= 1, series
        return sorted(ts / 1000 for ts in series[0]["timestamps"]) if series else []


class Agent:
    """Debian's prometheus in agent mode (or vmagent) with the config solarmon.fleet writes."""

    def __init__(self, workdir: Path, settings: SiteSettings) -> None:
        self.binary = require_tool(settings.agent.kind)
        self.workdir = workdir
        self.settings = settings
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.config = workdir / "agent.yml"
        self.storage = workdir / "wal-data"

    def start(self) -> Agent:
        """Write the config (secrets read from their files directly) and start; wait for /-/ready."""
        self.config.write_text(render_agent_config(self.settings, None))
        command = agent_command(self.settings, self.config, self.storage, binary=self.binary,
                                listen=f"127.0.0.1:{self.port}")
        log = (self.workdir / "agent.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        log.close()
        ready = "/health" if self.settings.agent.kind == "vmagent" else "/-/ready"
        if not wait_for(lambda: http_get(f"http://127.0.0.1:{self.port}{ready}")[0] == 200, READY_TIMEOUT_S):
            stop_process(self.process)
            raise RuntimeError(f"the agent did not start: {(self.workdir / 'agent.log').read_text()[-3000:]}")
        return self

    def stop(self) -> None:
        """Stop it."""
        stop_process(self.process)

    def wal_bytes(self) -> int:
        """The size of its write-ahead log on disk."""
        return sum(p.stat().st_size for p in (self.storage / "wal").rglob("*") if p.is_file())


@dataclass
class Site:
    """One site's web app behind waitress, its scrape token and the /metrics requests (arrival
    time, User-Agent: which agent scraped)."""

    url: str
    token: str
    token_file: Path
    scrapes: list[tuple[float, str]]

    def scrapes_by(self, agent: str, start_s: float, end_s: float) -> list[float]:
        """Arrival times of the requests of one agent (`Prometheus`, `vm_promscrape`) in (start, end)."""
        return [t for t, who in self.scrapes if who.startswith(agent) and start_s < t < end_s]


def site_settings(site: str, *, remote_write_url: str, metrics_url: str, token_file: Path,
                  interval_s: int = 1, kind: str = "prometheus", **central: Any) -> SiteSettings:
    """SiteSettings as fleet-site.yaml would give them (no auth to the private VictoriaMetrics)."""
    data = {"site": site,
            "central": {"remote_write_url": remote_write_url, "auth": "none", **central},
            "scrape": {"metrics_url": metrics_url, "token_file": str(token_file), "interval_s": interval_s},
            # Seconds, not the production's 30 s: the test waits for the first send after the outage.
            "agent": {"kind": kind, "min_backoff_s": 0.2, "max_backoff_s": 2}}
    return load_settings(data, "test fleet-site.yaml")


def make_cert_authority(workdir: Path, host: str = "127.0.0.1") -> dict[str, Path]:
    """A throwaway CA and a server certificate for `host` (an IP SAN), made with openssl."""
    openssl = require_tool("openssl")
    paths = {name: workdir / name for name in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")}

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=solarmon test fleet CA",
        "-keyout", str(paths["ca.key"]), "-out", str(paths["ca.crt"]))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}", "-keyout", str(paths["server.key"]),
        "-out", str(paths["server.csr"]))
    ext = workdir / "san.ext"
    ext.write_text(f"subjectAltName=IP:{host},DNS:localhost\n")
    run("x509", "-req", "-in", str(paths["server.csr"]), "-CA", str(paths["ca.crt"]), "-CAkey",
        str(paths["ca.key"]), "-CAcreateserial", "-days", "2", "-extfile", str(ext),
        "-out", str(paths["server.crt"]))
    for key in ("ca.key", "server.key"):
        os.chmod(paths[key], 0o600)
    return paths


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """A private VictoriaMetrics for the module."""
    vm = VictoriaMetrics(tmp_path_factory.mktemp("vm")).start()
    yield vm
    vm.stop()
