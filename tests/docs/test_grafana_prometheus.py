"""The Grafana dashboards' queries return data in a real Prometheus, scraping what grafana/ says.

A real Prometheus (grafana/prometheus.yml's two jobs, pointed at free ports) scrapes the web app's
/metrics, served by waitress over the daemon's real .prom file, and a real node_exporter whose
textfile collector reads that folder (grafana/prometheus-node-exporter.default's flag). Every
query of both dashboards, with the inverter picker set to "All", must return at least one series.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import waitress
import yaml

from tests.docs.conftest import REPO, Textfiles, make_app
from tests.tools import missing_tool

GRAFANA = REPO / "grafana"
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    """Poll `condition` until it returns something true; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            result = condition()
            if result:
                return result
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def get(url: str) -> bytes:
    """The body of a GET to a local URL."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def scrape_config(web_port: int, node_port: int, scrape_ms: int) -> dict[str, Any]:
    """grafana/prometheus.yml with its targets moved to this test's ports and a fast interval."""
    config = yaml.safe_load((GRAFANA / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": f"{scrape_ms}ms", "evaluation_interval": f"{scrape_ms}ms"}
    ports = {"solarmon-web": web_port, "solarmon-textfile": node_port}
    assert {job["job_name"] for job in config["scrape_configs"]} == set(ports)
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    return config


def textfile_flag() -> str:
    """The --collector.textfile.directory flag of the shipped node_exporter defaults (its folder)."""
    text = (GRAFANA / "prometheus-node-exporter.default").read_text(encoding="utf-8")
    args = next(line for line in text.splitlines() if line.startswith("ARGS="))
    return args.split("=", 1)[1].strip('"').split("=", 1)[0]


@contextlib.contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """A subprocess, terminated (then killed) when the block ends."""
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@contextlib.contextmanager
def web_server(app: Any, port: int) -> Iterator[None]:
    """The app's services and a waitress server on 127.0.0.1:port."""
    from solarmon.web.runtime import Runtime

    runtime = Runtime.for_app(app).start()
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=8)
    thread = threading.Thread(target=_serve, args=(server,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        runtime.stop()
        server.task_dispatcher.shutdown()
        server.close()
        thread.join(5)


def _serve(server: Any) -> None:
    """Run waitress until closed (closing the socket under select() raises: a normal end)."""
    with contextlib.suppress(OSError, ValueError):
        server.run()


class PromApi:
    """Instant queries against the test's Prometheus."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result vector of an instant query (raises on a PromQL error)."""
        body = json.loads(get(f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        assert body["status"] == "success", body
        return body["data"]["result"]


@pytest.fixture(scope="module")
def prometheus(textfiles: Textfiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromApi]:
    """Prometheus scraping the web app and node_exporter until at least three scrapes are in."""
    if PROMETHEUS is None:
        missing_tool("prometheus")
    if NODE_EXPORTER is None:
        missing_tool("prometheus-node-exporter")
    root = tmp_path_factory.mktemp("prometheus")
    web_port, node_port, prom_port = free_port(), free_port(), free_port()
    config = root / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(web_port, node_port, 500)))
    node_args = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{node_port}", "--collector.disable-defaults",
                 "--collector.textfile", f"{textfile_flag()}={textfiles.directory}"]
    prom_args = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={root / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"]
    app = make_app(textfiles, root)
    with web_server(app, web_port), process(node_args, root / "node.log"), \
            process(prom_args, root / "prometheus.log"):
        api = PromApi(prom_port)
        wait_for(lambda: get(f"{api.base}/-/ready"), "Prometheus to be ready")
        # Both jobs up, and enough samples for increase()/rate() over the range.
        wait_for(lambda: len(api.query("up == 1")) == 2, "both scrape jobs up")
        wait_for(lambda: api.query("count_over_time(up[1m]) >= 4"), "four scrapes")
        yield api


def dashboard_queries(flavour: str) -> list[tuple[str, str]]:
    """(panel title, PromQL with the inverter picker on All) for every target of a dashboard."""
    dashboard = json.loads((GRAFANA / f"solarmon-{flavour}.json").read_text(encoding="utf-8"))
    return [(panel["title"], target["expr"].replace("$inverter", ".*"))
            for panel in dashboard["panels"] for target in panel["targets"]]


def test_node_exporter_parses_every_textfile(prometheus: PromApi) -> None:
    errors = prometheus.query('node_textfile_scrape_error{job="solarmon-textfile"}')
    assert errors, "node_exporter's textfile collector did not run"
    assert all(float(series["value"][1]) == 0 for series in errors), errors


@pytest.mark.parametrize("flavour", ["web", "textfile"])
def test_every_dashboard_query_returns_data(prometheus: PromApi, flavour: str) -> None:
    empty = [f"{title}: {expr}" for title, expr in dashboard_queries(flavour) if not prometheus.query(expr)]
    assert not empty, f"solarmon-{flavour}.json queries without data:\n" + "\n".join(empty)


def test_the_inverter_pickers_find_the_section(prometheus: PromApi, textfiles: Textfiles) -> None:
    web = prometheus.query('solarmon_source_up{source=~"inverter:.*"}')
    assert {series["metric"]["source"] for series in web} == {f"inverter:{textfiles.section}"}
    files = prometheus.query("mpp_solar_up")
    assert {series["metric"]["inverter"] for series in files} == {textfiles.section}
