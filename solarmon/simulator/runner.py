"""Start and stop the simulator as a subprocess (tests, benchmarks, the demo).

    with SimulatorProcess(tmp_path / "inverter", transport="hidraw", seed=1) as sim:
        ...  # open sim.port; sim.control({"op": "pin", ...}); sim.truth()

``start()`` returns once the simulator printed ``ready PATH``; ``stop()`` sends SIGTERM, waits,
and kills only if it does not exit. A failed start raises :class:`SimulatorError` with the
simulator's stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from solarmon.simulator.truth import read_truth_log

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


class SimulatorError(RuntimeError):
    """The simulator did not start, or its control socket refused a message."""


class SimulatorProcess:
    """One simulator subprocess. Build, then ``start()``; always ``stop()`` (or use ``with``)."""

    def __init__(
        self,
        port: Path,
        *,
        transport: str = "pty",
        profile: str | None = None,
        baud: int = 2400,
        seed: int = 0,
        speed: float = 1.0,
        start: str | None = None,
        faults: str = "",
        truth_log: Path | None = None,
        control: Path | bool = True,
        turnaround_s: float | None = None,
        extra_args: tuple[str, ...] = (),
        python: str = sys.executable,
    ) -> None:
        self.port = Path(port)
        self.transport = transport
        self.truth_log = truth_log
        # Unix socket paths are limited to ~107 bytes: a short private directory keeps them valid.
        # The directory is made by start(), so an object that never starts leaves nothing behind.
        self._socket_dir = (
            Path(tempfile.gettempdir()) / f"solarmon-sim-{secrets.token_hex(6)}" if control is True else None
        )
        self.control_path: Path | None = (
            self._socket_dir / "control.sock" if self._socket_dir is not None else (control or None)
        )
        args = [python, "-m", "solarmon.simulator", "--port", str(self.port), "--transport", transport]
        args += ["--baud", str(baud), "--seed", str(seed), "--speed", str(speed)]
        if profile:
            args += ["--profile", profile]
        if start:
            args += ["--start", start]
        if faults:
            args += ["--faults", faults]
        if truth_log is not None:
            args += ["--truth-log", str(truth_log)]
        if self.control_path is not None:
            args += ["--control", str(self.control_path)]
        if turnaround_s is not None:
            args += ["--turnaround", str(turnaround_s)]
        self.args = [*args, *extra_args]
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> SimulatorProcess:
        """Start the subprocess and wait for its ``ready`` line."""
        if self._socket_dir is not None:
            self._socket_dir.mkdir(mode=0o700, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self._stderr_file, cwd=REPO_ROOT, env=env
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, remaining))
            chunk = os.read(self.process.stdout.fileno(), 1) if ready else b""
            if not chunk:
                self.stop()
                why = "exited" if self.process.poll() is not None else "timed out"
                raise SimulatorError(f"simulator {why} before 'ready': {self.stderr()[-2000:]}")
            line += chunk
        if not line.startswith(b"ready "):
            self.stop()
            raise SimulatorError(f"unexpected first line {line!r}: {self.stderr()[-2000:]}")
        return self

    def stderr(self) -> str:
        """Everything the simulator wrote to stderr so far."""
        self._stderr_file.seek(0)
        return self._stderr_file.read().decode(errors="replace")

    @property
    def pid(self) -> int:
        """The subprocess's pid."""
        assert self.process is not None
        return self.process.pid

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``); the exit status, None if never started."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout_s)
        if process.stdout is not None:
            process.stdout.close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        return process.returncode

    def control(self, message: dict[str, Any], timeout_s: float = 10.0) -> dict[str, Any]:
        """Send one control message and return the reply; SimulatorError when it says ``ok: false``."""
        if self.control_path is None:
            raise SimulatorError("this simulator was started without a control socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(self.control_path))
            sock.sendall(json.dumps(message).encode() + b"\n")
            with sock.makefile("rb") as stream:
                reply = json.loads(stream.readline())
        if not reply.get("ok"):
            raise SimulatorError(f"control {message!r} refused: {reply.get('error')}")
        return reply

    def truth(self) -> list[dict[str, Any]]:
        """The truth log's events so far (empty without ``truth_log``)."""
        return read_truth_log(self.truth_log) if self.truth_log is not None else []

    def __enter__(self) -> SimulatorProcess:
        if self.process is None:
            self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            self._stderr_file.close()


class BmsSimulatorProcess(SimulatorProcess):
    """A simulated BMS subprocess (:mod:`solarmon.simulator.bms_cli`) with the same start/stop/control."""

    def __init__(self, port: Path, *, bms_type: str = "jkbms", cells: int = 16, soc: float = 60.0,
                 seed: int = 0, speed: float = 1.0, python: str = sys.executable) -> None:
        super().__init__(port, seed=seed, speed=speed, python=python)
        self.args = [python, "-m", "solarmon.simulator.bms_cli", "--type", bms_type, "--port", str(self.port),
                     "--cells", str(cells), "--soc", str(soc), "--seed", str(seed), "--speed", str(speed)]
        if self.control_path is not None:
            self.args += ["--control", str(self.control_path)]

