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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
