"""Serve a simulated JK or Daly BMS on a pty.

``python -m solarmon.simulator.bms_cli --type jkbms --port PATH``

Prints ``ready PATH`` once the port's symlink exists (as the inverter simulator does, so
:class:`solarmon.simulator.runner.SimulatorProcess` can start it) and serves until SIGTERM. The
pack's clock runs at ``--speed`` times real time. ``--control PATH`` opens a Unix socket taking
one JSON object per line, each answered by one JSON line:

``{"op": "ping"}`` · ``{"op": "snapshot"}`` (the pack's state) ·
``{"op": "trip", "protection": "cell_overvoltage"}`` · ``{"op": "clear"}`` ·
``{"op": "set", "current_a": 40.0}`` (held; ``null`` back to the day/night profile) ·
``{"op": "corrupt", "kind": "crc", "count": 2}`` (the next replies fail on the wire) ·
``{"op": "advance", "seconds": 600}`` (move the pack's clock).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from solarmon.simulator.bms_firmware import Firmware, firmware_for
from solarmon.simulator.bms_model import BmsPack
from solarmon.simulator.ports import PtyPort

TURNAROUND_S = 0.01
STEP_S = 1.0  # the pack advances in steps of at most this much simulated time


class BmsSimulator:
    """One firmware on one pty; the pack's clock follows the wall clock times ``speed``."""

    def __init__(self, firmware: Firmware, link: Path, *, speed: float = 1.0) -> None:
        self.firmware = firmware
        self.speed = speed
        self.lock = threading.Lock()
        self.port = PtyPort(link, self._on_bytes)
        self._last = time.monotonic()

    def advance(self, seconds: float | None = None) -> None:
        """Move the pack's clock by ``seconds`` (default: the wall time since last, times speed)."""
        now = time.monotonic()
        due = (now - self._last) * self.speed if seconds is None else seconds
        self._last = now
        while due > 0:
            step = min(STEP_S * max(1.0, self.speed), due)
            self.firmware.pack.step(step)
            due -= step

    def _on_bytes(self, data: bytes) -> None:
        with self.lock:
            self.advance()
            replies = self.firmware.feed(data)
        for reply in replies:
            time.sleep(TURNAROUND_S)
            self.port.send(reply)

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """One control message -> its reply."""
        op = message.get("op")
        with self.lock:
            pack = self.firmware.pack
            if op == "ping":
                return {"ok": True}
            if op == "snapshot":
                self.advance()
                return {"ok": True, "state": pack.snapshot()}
            if op == "trip":
                pack.trip(str(message.get("protection")))
            elif op == "clear":
                pack.clear()
            elif op == "set":
                value = message.get("current_a")
                pack.held_current_a = None if value is None else float(value)
                pack.current_a = pack.held_current_a or 0.0
            elif op == "corrupt":
                self.firmware.corrupt(str(message.get("kind")), int(message.get("count", 1)))
            elif op == "advance":
                self.advance(float(message.get("seconds", 0)))
            else:
                return {"ok": False, "error": f"unknown op {op!r}"}
        return {"ok": True}


def _serve_control(path: Path, simulator: BmsSimulator, stop: threading.Event) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                try:
                    reply = simulator.handle(json.loads(line))
                except (ValueError, TypeError) as error:
                    reply = {"ok": False, "error": str(error)}
                stream.write(json.dumps(reply).encode() + b"\n")
                stream.flush()
    server.close()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="solarmon.simulator.bms_cli", description=__doc__.split("\n")[0])
    parser.add_argument("--type", choices=("jkbms", "dalybms"), default="jkbms")
    parser.add_argument("--port", type=Path, required=True, help="symlink to create for the pty")
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--capacity", type=float, default=280.0, help="the pack's capacity, Ah")
    parser.add_argument("--soc", type=float, default=60.0, help="starting state of charge, %%")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--control", type=Path, help="Unix socket for control messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT."""
    args = build_parser().parse_args(argv)
    pack = BmsPack(cells=args.cells, capacity_ah=args.capacity, soc=args.soc / 100, seed=args.seed)
    simulator = BmsSimulator(firmware_for(args.type, pack), args.port, speed=args.speed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    simulator.port.start()
    control = None
    if args.control is not None:
        control = threading.Thread(target=_serve_control, args=(args.control, simulator, stop), daemon=True)
        control.start()
        while not args.control.exists():
            time.sleep(0.01)
    sys.stdout.write(f"ready {args.port}\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        simulator.port.close()
        if control is not None:
            control.join(timeout=2.0)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
