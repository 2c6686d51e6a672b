"""`./manage_web.sh fleet-demo`: a real VictoriaMetrics, a hub and three sites (simulator, daemon,
web app, Prometheus agent each); the village's uplink drops, the hub shows it stale, it catches up
without losing a sample, and Ctrl-C stops every part (issue 19)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from solarmon.demo.parts import free_port
from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "manage_web.sh"


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait(condition: Callable[[], Any], timeout_s: float, what: str, process: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the fleet demo exited while waiting for {what}"
        try:
            result = condition()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def sites(port: int) -> dict[str, dict[str, Any]]:
    return {s["site"]: s for s in get_json(f"http://127.0.0.1:{port}/api/fleet?nocache=1")["sites"]}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_fleet_demo_shows_three_sites_and_a_lost_uplink_that_catches_up() -> None:
    require_tool("victoria-metrics", "apt-get install victoria-metrics")
    require_tool("prometheus", "apt-get install prometheus")
    folder = Path(tempfile.mkdtemp(prefix="smfleet-"))
    port = free_port()
    env = os.environ | {"FLEET_DEMO_DIR": str(folder), "FLEET_DEMO_PORT": str(port)}
    # The schedule of the village's uplink, shortened: down 25 s after the start for 35 s; the hub
    # calls a site stale after 15 s without news.
    args = ["bash", str(MANAGE), "fleet-demo", "--outage-after", "25", "--outage", "35",
            "--stale-after", "15"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        def all_up() -> dict[str, dict[str, Any]] | None:
            found = sites(port)
            live = set(found) == {"cabin", "farm", "village"} and all(
                s["status"] == "up" and s["pv_w"] is not None and s["soc_percent"] is not None
                for s in found.values())
            return found if live else None
        found = wait(all_up, 120, "three sites up with values", process)
        assert found["farm"]["load_w"] >= 0
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/fleet", timeout=5).read().decode()
        assert "fleet" in page.lower()

        stale = wait(lambda: (v := sites(port)["village"])["status"] == "stale" and v, 90,
                     "the village stale while its uplink is down", process)
        assert stale["stale_reason"] in ("no_recent_sample", "both")
        others = sites(port)
        assert others["cabin"]["status"] == others["farm"]["status"] == "up"
        cut_at = time.time() - stale["sample_age_s"]

        wait(lambda: sites(port)["village"]["status"] == "up", 120, "the village back and caught up", process)
        store = re.search(r'promql_url: "([^"]+)"', (folder / "hub" / "web.yaml").read_text()).group(1)
        time.sleep(12)  # VictoriaMetrics shows what arrived after its search latency (about 10 s)
        # Every scrape during the outage arrived: the village has as many samples over the outage
        # as the cabin, whose link never dropped (a scrape every 5 s on both).
        window = f"{int(time.time() - cut_at + 5)}s"
        counts = {}
        for site in ("cabin", "village"):
            query = urllib.parse.urlencode({"query": f'count_over_time(up{{site="{site}"}}[{window}])'})
            result = get_json(f"{store}/api/v1/query?{query}")["data"]["result"]
            counts[site] = int(result[0]["value"][1])
        assert counts["village"] >= counts["cabin"] - 1, counts
        assert counts["cabin"] >= 12, counts
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    assert "fleet demo stopped" in output, output[-2000:]
    assert "village: uplink down" in output
    assert "village: uplink back" in output
    leftovers = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True, check=False)
    assert leftovers.stdout == ""
    shutil.rmtree(folder, ignore_errors=True)

