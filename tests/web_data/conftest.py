"""Fixtures of the web data path tests: real .prom files made by the real writers (mppsolar's own
prom_file output, this project's daemon renderer), a live state, readers and started histories."""

from __future__ import annotations

import binascii
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from solarmon.atomicfile import write_atomic
from solarmon.daemon.promfile import HealthSample, TimedReading, render
from solarmon.inverter import codec, frame
from solarmon.web.history import History
from solarmon.web.promreader import PromReader
from solarmon.web.state import LiveState

# Reference replies (PI30.md §3).
QPIGS = ("000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
         "00 00 00856 010")
QPIRI = "230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 54.0 0 1"
QMOD = "B"
T0 = 1_780_000_000  # a fixed Unix time (2026-05-28) for histories written in tests


class FakeClock:
    """A clock the test moves by hand (retention, ages); callable like time.time."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def raw_reply(payload: str) -> bytes:
    """A reply frame as the inverter sends it: "(" + payload + CRC + CR."""
    body = b"(" + payload.encode()
    crc = binascii.crc_hqx(body, 0)
    return body + bytes([crc >> 8, crc & 0xFF]) + b"\r"


def write_mppsolar_files(directory: Path, section: str, replies: dict[str, str]) -> list[Path]:
    """Write one file per command with mppsolar 0.16.56's own decoder and prom_file output."""
    from mppsolar.outputs.prom_file import prom_file
    from mppsolar.protocols.pi30 import pi30

    proto = pi30()
    paths = []
    for command, payload in replies.items():
        data = proto.decode(raw_reply(payload), command)
        prom_file().output(data=data, prom_output_dir=str(directory), name=section, dev="usb0")
        # mppsolar names the file without the section when its config has none ("unnamed").
        stem = command.lower() if section == "unnamed" else f"{section}-{command.lower()}"
        paths.append(directory / f"mpp-solar-{stem}.prom")
    return paths


def write_daemon_file(directory: Path, section: str, replies: dict[str, str], *, up: bool = True,
                      read_at: float | None = None) -> Path:
    """Write the file this project's daemon writes, from replies decoded by the project's codec."""
    read_at = time.time() if read_at is None else read_at
    readings = [
        TimedReading(codec.decode(cmd, frame.decode_reply(raw_reply(payload), command=cmd)), read_at)
        for cmd, payload in replies.items()
    ]
    health = HealthSample(up=up, last_success_wall=read_at if up else 0.0, poll_duration_s=0.6,
                          consecutive_failures=0 if up else 3, errors={"timeout": 0 if up else 3})
    path = directory / f"mpp-solar-{section}.prom"
    write_atomic(path, render(section, "usb0", readings, health))
    return path


@pytest.fixture
def prom_dir(tmp_path: Path) -> Path:
    path = tmp_path / "prometheus"
    path.mkdir()
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def live() -> LiveState:
    return LiveState()


@pytest.fixture
def reader(prom_dir: Path, live: LiveState) -> Iterator[PromReader]:
    """A reader (not started: tests call scan() unless they start it themselves)."""
    rdr = PromReader(prom_dir, live, poll_interval_s=0.05)
    yield rdr
    rdr.stop()


@pytest.fixture
def make_history(tmp_path: Path) -> Iterator[Callable[..., History]]:
    """Build and start histories (default file tmp_path/history.db); all are stopped at the end."""
    made: list[History] = []

    def make(path: Path | None = None, **kwargs: object) -> History:
        hist = History(path or tmp_path / "history.db", **kwargs)  # type: ignore[arg-type]
        hist.start()
        made.append(hist)
        return hist

    yield make
    for hist in made:
        hist.stop()


@pytest.fixture
def history(make_history: Callable[..., History], clock: FakeClock) -> History:
    return make_history(clock=clock)


def touch_later(path: Path, seconds: float = 1.0) -> None:
    """Move a file's mtime forward (file systems with coarse mtimes would hide a rewrite)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + int(seconds * 1e9)))
