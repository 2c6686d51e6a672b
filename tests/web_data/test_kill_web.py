"""kill -9 of the real web process (web_interface.py) while the daemon's files keep changing: the
history database passes integrity_check and lost at most the last few seconds of readings."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.web_data.conftest import QMOD, QPIGS, write_daemon_file

ROOT = Path(__file__).resolve().parents[2]
MAX_LOSS_S = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def newest_raw_ts(db: Path) -> int | None:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT max(ts) FROM raw").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # not created yet


@pytest.mark.timeout(120)
def test_kill_9_of_the_web_process(tmp_path):
    prom_dir, db = tmp_path / "prometheus", tmp_path / "history.db"
    prom_dir.mkdir()
    port = free_port()
    config = {
        "server": {"host": "127.0.0.1", "port": port, "threads": 8, "max_streams": 2},
        "data": {"prom_dir": str(prom_dir), "poll_interval_s": 0.05},
        "history": {"db_path": str(db), "timezone": "UTC"},
        "daemon": {"control_socket": str(tmp_path / "control.sock")},
    }
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([sys.executable, "web_interface.py", "-c", str(tmp_path / "web.yaml")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the web process did not answer in 60 s")
        last_written = 0.0
        seen_in_db = False
        deadline = time.monotonic() + 60
        battery = 50.0
        while time.monotonic() < deadline:
            last_written = time.time()
            battery = 48.0 + (battery + 0.37) % 8
            write_daemon_file(prom_dir, "main", {"QPIGS": QPIGS.replace("57.50", f"{battery:05.2f}"),
                                                 "QMOD": QMOD}, read_at=last_written)
            time.sleep(0.05)
            newest = newest_raw_ts(db)
            if newest is not None and newest >= int(last_written) - 2:
                if seen_in_db:
                    break  # the writer keeps up with the files: now it is mid-stream
                seen_in_db = True
        assert seen_in_db, "the web process never wrote the readings to its history"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    newest = conn.execute("SELECT max(ts) FROM raw").fetchone()[0]
    conn.close()
    assert newest >= int(last_written - MAX_LOSS_S)
