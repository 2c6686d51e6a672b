"""Child processes of the demo: start one with its log file, wait until it is ready, stop them all.

Each child runs in its own process group, so a Ctrl-C in the terminal reaches only the demo's
supervisor, which then stops the children itself, newest first, each with SIGTERM and a few
seconds' grace (then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

STOP_GRACE_S = 8.0


class PartFailed(RuntimeError):
    """A part did not start; the message says which and ends with its log's last lines."""


@dataclass
class Part:
    """One child process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 8) -> str:
        """The last lines of its log (for error messages)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Parts:
    """The running children, in start order."""

    folder: Path
    env: dict[str, str]
    started: list[Part] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], *, stdout: Path | None = None) -> Part:
        """Start `args` with stderr (and stdout, unless `stdout` is given) to `<folder>/<name>.log`,
        both begun afresh, so readiness checks never see an earlier run's lines."""
        log = self.folder / f"{name}.log"
        with log.open("wb") as err:
            out = stdout.open("wb") if stdout else None
            try:
                process = subprocess.Popen(args, stdout=out or err, stderr=err, stdin=subprocess.DEVNULL,
                                           env=self.env, cwd=self.folder, process_group=0)
            finally:
                if out is not None:
                    out.close()
        part = Part(name, process, log)
        self.started.append(part)
        return part

    def wait_until(self, part: Part, ready: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Wait until `ready()` holds; PartFailed when the part exits or the time is up."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            if not part.alive:
                raise PartFailed(f"the {part.name} exited before {what}:\n{part.tail()}")
            if time.monotonic() > deadline:
                raise PartFailed(
                    f"the {part.name} did not get to {what} within {timeout_s:.0f} s:\n{part.tail()}")
            time.sleep(0.1)

    def first_dead(self) -> Part | None:
        """A part that has exited on its own, if any."""
        return next((part for part in self.started if not part.alive), None)

    def stop_all(self) -> None:
        """SIGTERM every part, newest first; SIGKILL what has not exited after the grace time."""
        for part in reversed(self.started):
            if part.alive:
                part.process.send_signal(signal.SIGTERM)
            try:
                part.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                part.process.kill()
                part.process.wait(timeout=STOP_GRACE_S)
        self.started.clear()


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""


class Supervisor:
    """What a demo does with its parts: start them, wait for a signal or a part's end, stop them.

    A subclass sets `parts` and implements `_start()` (which may raise PartFailed, OSError,
    ValueError or one of `failures`) and `_stop()` (called once, whatever happened)."""

    name = "demo"
    failures: tuple[type[Exception], ...] = ()

    def __init__(self, parts: Parts, out: TextIO = sys.stdout) -> None:
        self.parts = parts
        self.out = out
        self._stopping = False

    def say(self, text: str) -> None:
        """One line (or block) of the demo's output."""
        print(text, file=self.out, flush=True)

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            raise Stopped(signal.Signals(signum).name)

    def run(self) -> int:
        """Start every part, wait for a signal or a part's end, stop everything; the exit status."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        status = 0
        try:
            self._start()
            while (dead := self.parts.first_dead()) is None:
                time.sleep(0.5)
            self.say(f"the {dead.name} stopped (exit status {dead.process.returncode}); "
                     f"its log: {dead.log}\n{dead.tail()}")
            status = 1
        except Stopped:
            pass
        except (PartFailed, ValueError, OSError, *self.failures) as exc:
            self.say(f"{self.name}: {exc}")
            status = 1
        finally:
            self._stopping = True
            self._stop()
        return status


def log_has(path: Path, text: str) -> Callable[[], bool]:
    """A readiness check: `text` has appeared in the file at `path`."""
    def check() -> bool:
        try:
            return text in path.read_text(errors="replace")
        except OSError:
            return False
    return check


def port_open(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    """A readiness check: something accepts TCP connections on host:port."""
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False
    return check


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lan_address() -> str | None:
    """The address other machines on the LAN reach this one at: the source address of the default
    route (a UDP socket's connect sends nothing), else the first non-loopback one of
    `hostname -I`; None without a network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the route, no packet leaves
            address = sock.getsockname()[0]
            if not address.startswith("127."):
                return address
        except OSError:
            pass
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return next((a for a in out.split() if "." in a and not a.startswith("127.")), None)


def child_env(repo: Path) -> dict[str, str]:
    """The environment of the children: the repository importable, output unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env
