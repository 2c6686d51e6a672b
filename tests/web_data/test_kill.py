"""kill -9 of a process writing the history: the database stays consistent and loses at most the
last few seconds (committed batches survive; WAL replays on the next open)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from solarmon.web.history import History

MAX_LOSS_S = 5.0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kill_after_lines", [3, 25])
def test_kill_9_while_writing(tmp_path, kill_after_lines):
    db = tmp_path / "history.db"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.web_data.writer_child", str(db)],
        cwd=root, stdout=subprocess.PIPE, text=True,
    )
    try:
        last_submitted = 0.0
        assert proc.stdout is not None
        for lines, line in enumerate(proc.stdout, start=1):
            _, ts, _, written = line.split()
            last_submitted = float(ts)
            if lines >= kill_after_lines and int(written) > 0:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    seconds, newest = conn.execute("SELECT count(DISTINCT ts), max(ts) FROM raw").fetchone()
    conn.close()
    assert seconds >= 1
    # Readings within one second share a row (integer timestamps): the loss is measured in time.
    assert newest >= int(last_submitted - MAX_LOSS_S)

    # The next start opens the same file, and writing goes on.
    history = History(db)
    history.start()
    try:
        assert history.status()["ok"]
        assert any(m["metric"] == "metric_0" for m in history.metrics("inverter:kill"))
    finally:
        history.stop()
