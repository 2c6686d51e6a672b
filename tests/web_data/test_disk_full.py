"""A full disk under the history: one ERROR when writing starts to fail, one line when it works
again, every failure counted, nothing lost that was queued (issue 14.8).

The file system is real: a 2 MB tmpfs mounted for the test, filled to the last byte by a filler
file, so SQLite meets a real ENOSPC. Mounting needs root (CI runs as root); without it the test is
skipped, or fails when SOLARMON_REQUIRE_TOOLS=1 says that every tool must be there.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.web.history import History
from solarmon.web.state import SourceUpdate

SRC = "inverter:main"


def _unavailable(reason: str) -> None:
    if os.environ.get("SOLARMON_REQUIRE_TOOLS", "0") not in ("", "0"):
        pytest.fail(f"a real full disk is required: {reason}")
    pytest.skip(reason)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        _unavailable("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        _unavailable(f"mount -t tmpfs failed: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the file system says ENOSPC; return it."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as fh:
        for size in (4096, 1):
            with pytest.raises(OSError) as raised:  # noqa: PT012 (the loop ends by raising)
                while True:
                    fh.write(b"\0" * size)
            assert raised.value.errno == errno.ENOSPC
    return filler


@pytest.mark.timeout(60)
def test_a_full_disk_logs_once_counts_every_failure_and_recovers(tiny_fs: Path, caplog) -> None:
    history = History(tiny_fs / "history.db", commit_interval_s=0.1)
    history.start()
    try:
        t0 = time.time() - 3600
        history.submit(SourceUpdate(SRC, t0, {"battery_voltage": 52.0}))
        assert history.flush()
        filler = fill(tiny_fs)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            # 3 s of readings at 10 a second, each a new row: the writer retries every 0.1 s.
            for i in range(1, 31):
                history.submit(SourceUpdate(SRC, t0 + i, {"battery_voltage": 52.0 + i / 100,
                                                          **{f"pad_{i}_{k}": float(k) for k in range(40)}}))
                time.sleep(0.1)
            status = history.status()
            assert status["ok"] is False
            failures = history._writer.stats.errors
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert failures >= 5, f"only {failures} failures counted: the disk was not full?"
            assert len(errors) == 1, [r.getMessage() for r in errors]
            filler.unlink()
            assert history.flush()
        recovered = [r for r in caplog.records if "works again" in r.getMessage()]
        assert len(recovered) == 1
        assert "failures while it failed" in recovered[0].getMessage()
        assert history.status()["ok"] is True
        rows = list(history.export_rows(SRC, ["battery_voltage"], t0, t0 + 31))
        assert len(rows) == 31  # every reading queued while the disk was full was written after
    finally:
        history.stop()
