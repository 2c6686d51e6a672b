"""Issue 14.7: readings made while the web app is down reach the history through the daemon's
.prom journal. The real daemon polls the simulator; the real web process (web_interface.py) is
stopped for 10 s and started again; the history must then hold the down period, second by second,
and a second restart must add nothing twice."""

from __future__ import annotations

import itertools
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.web_data.test_kill_web import free_port

ROOT = Path(__file__).resolve().parents[2]
DOWN_S = 10.0
PAUSE_S = 1.0
MAX_GAP_S = 3  # cycles are ~1 s apart; a gap of more than a few seconds is lost data


def battery_seconds(db: Path) -> list[int]:
    """The seconds with a stored battery_voltage sample of the simulated inverter, in order."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return [ts for (ts,) in conn.execute(
            "SELECT ts FROM raw WHERE series = (SELECT id FROM series WHERE source = 'inverter:inv'"
            " AND metric = 'battery_voltage') ORDER BY ts")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()


def start_web(conf: Path, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "web_interface.py", "-c", str(conf)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log.open("a"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("the web process did not answer in 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_for_rows_after(db: Path, when: float, timeout_s: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seconds = battery_seconds(db)
        if seconds and seconds[-1] >= when:
            return seconds
        time.sleep(0.2)
    pytest.fail(f"no history rows after {when} within {timeout_s} s")


@pytest.mark.timeout(180)
def test_a_web_restart_leaves_no_gap_in_the_history(simulator, tmp_path: Path) -> None:
    sim = simulator(transport="pty")
    prom_dir, db = tmp_path / "prom", tmp_path / "history.db"
    daemon_conf = tmp_path / "mpp-solar.conf"
    daemon_conf.write_text(
        f"[SETUP]\npause = {PAUSE_S}\ncontrol_socket = ctl.sock\naudit_log = audit.jsonl\n"
        f"[inv]\nport = {sim.port}\nporttype = serial\nprom_output_dir = {prom_dir}\ndev = sim\n"
    )
    port = free_port()
    web_conf = tmp_path / "web.yaml"
    web_conf.write_text(yaml.safe_dump({
        "server": {"host": "127.0.0.1", "port": port, "threads": 8, "max_streams": 2},
        "data": {"prom_dir": str(prom_dir), "poll_interval_s": 0.1},
        "history": {"db_path": str(db), "timezone": "UTC"},
        "daemon": {"control_socket": str(tmp_path / "ctl.sock")},
    }))
    daemon = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(daemon_conf)], cwd=ROOT,
                              stderr=(tmp_path / "daemon.log").open("w"))
    web = None
    try:
        web = start_web(web_conf, port, tmp_path / "web.log")
        wait_for_rows_after(db, time.time() + 2)
        stop(web)
        down_from = time.time()
        time.sleep(DOWN_S)
        down_to = time.time()
        web = start_web(web_conf, port, tmp_path / "web.log")
        seconds = wait_for_rows_after(db, time.time() + 2)
        stop(web)
        # Restarting again replays the same journal: nothing new, nothing twice (keys are unique
        # anyway; the count of rows in the window must not change).
        window = [s for s in seconds if down_from - 5 <= s <= down_to + 2]
        web = start_web(web_conf, port, tmp_path / "web.log")
        again = [s for s in battery_seconds(db) if down_from - 5 <= s <= down_to + 2]
    finally:
        if web is not None:
            stop(web)
        stop(daemon)
    inside = [s for s in seconds if down_from <= s <= down_to]
    gaps = [b - a for a, b in itertools.pairwise(window)]
    assert len(inside) >= DOWN_S / PAUSE_S * 0.7, f"{len(inside)} rows for {DOWN_S:.0f} s down: {window}"
    assert max(gaps) <= MAX_GAP_S, f"a {max(gaps)} s gap in the history around the restart: {window}"
    assert again == window
    log = (tmp_path / "web.log").read_text()
    assert "replayed" in log
    assert "Traceback" not in log
