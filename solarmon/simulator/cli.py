"""Command line of the simulator: ``python -m solarmon.simulator --port PATH --transport pty|hidraw ...``.

Wires the parts together and runs until SIGTERM/SIGINT. Prints ``ready PATH`` (flushed) on
stdout once a client can open PATH, and removes PATH (and unmounts, on hidraw) on the way out.
Options: see ``--help`` and docs/SIMULATOR.md.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

from solarmon.simulator.clock import ScaledClock
from solarmon.simulator.control import ControlServer
from solarmon.simulator.device import DEFAULT_TURNAROUND_S, Device
from solarmon.simulator.faults import FaultPlan, parse_fault_spec
from solarmon.simulator.inverter import Inverter
from solarmon.simulator.parallel import LAYOUTS, ParallelSystem, check_layout
from solarmon.simulator.pi18 import Pi18Inverter
from solarmon.simulator.ports import HidrawPort, PtyPort
from solarmon.simulator.profiles import ALIASES, DEFAULT_PROFILE, PROFILES, Profile, get_profile
from solarmon.simulator.state import StateError, load_state, save_state
from solarmon.simulator.truth import TruthLog

MOUNT_TIMEOUT_S = 10.0
STATE_SAVE_EVERY_S = 30.0
MOUNT_REFUSED = "is /dev/fuse usable?"  # in the error when the mount never came up (fixtures skip on it)
log = logging.getLogger("solarmon.simulator")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so docs and tests can inspect it)."""
    parser = argparse.ArgumentParser(
        prog="python -m solarmon.simulator",
        description="A PI30 inverter (or a PI30 parallel / three-phase system, or a PI18 unit) "
                    "on a pty or a FUSE hidraw node.",
    )
    parser.add_argument(
        "--port", required=True, type=Path, help="path of the device symlink to create"
    )
    parser.add_argument("--transport", choices=("pty", "hidraw"), default="pty")
    names = sorted([*PROFILES, *ALIASES])
    parser.add_argument(
        "--profile", default=DEFAULT_PROFILE, help=f"inverter model: {', '.join(names)}"
    )
    parser.add_argument("--protocol", choices=("pi30", "pi18"), default="pi30",
                        help="the firmware's protocol (pi18: InfiniSolar V family)")
    parser.add_argument("--units", type=int, default=1,
                        help="PI30 units on one parallel bus, answering QPGSn (1-9)")
    parser.add_argument("--layout", choices=LAYOUTS, default="parallel",
                        help="with --units: a parallel or a three-phase system (three-phase: 3-9 units)")
    parser.add_argument("--baud", type=int, default=2400, help="UART pace of replies (0 = unpaced)")
    parser.add_argument(
        "--turnaround", type=float, default=DEFAULT_TURNAROUND_S, help="firmware reply delay (s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same world")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (0 = frozen)"
    )
    parser.add_argument(
        "--start", type=datetime.fromisoformat, help="simulated start time (ISO, local)"
    )
    parser.add_argument("--faults", default="", help="fault spec, e.g. noreply:0.02,gone@30s:5s")
    parser.add_argument(
        "--truth-log", type=Path, help="JSON lines of every request, reply and fault"
    )
    parser.add_argument("--control", type=Path, help="Unix socket taking JSON control messages")
    parser.add_argument(
        "--state", type=Path,
        help="model state file: carry on from it when it exists, write it every 30 s and at exit",
    )
    parser.add_argument(
        "--mount-dir", type=Path, help="hidraw: where to mount the FUSE file system"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr at INFO level")
    return parser


def _firmware(args: argparse.Namespace, profile: Profile, clock: ScaledClock) -> Inverter:
    """The simulated firmware the options ask for: one PI30 unit, a PI30 system, or a PI18 unit."""
    if args.protocol == "pi18":
        return Pi18Inverter(profile, args.seed, clock)
    if args.units != 1 or args.layout != "parallel":
        return ParallelSystem(profile, args.seed, clock, args.units, args.layout)
    return Inverter(profile, args.seed, clock)


def _announce(path: Path) -> None:
    sys.stdout.write(f"ready {path}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the simulator; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    try:
        profile = get_profile(args.profile)
        rules = parse_fault_spec(args.faults)
        if args.baud < 0 or args.speed < 0:
            raise ValueError("--baud and --speed must not be negative")
        if args.units != 1 or args.layout != "parallel":
            check_layout(args.units, args.layout)
            if args.protocol != "pi30":
                raise ValueError("--units and --layout need --protocol pi30 (QPGSn is PI30's)")
    except ValueError as exc:
        parser.error(str(exc))
    link = args.port.absolute()
    if link.exists() and not link.is_symlink():
        parser.error(f"--port {link} exists and is not a symlink: refusing to replace it")
    paths = (("--port", link), ("--truth-log", args.truth_log), ("--control", args.control),
             ("--state", args.state))
    for option, path in paths:
        if path is not None and not path.absolute().parent.is_dir():
            parser.error(f"{option} {path}: directory {path.absolute().parent} does not exist")
    truth = TruthLog(args.truth_log)
    clock = ScaledClock(args.start or datetime.now().replace(microsecond=0), args.speed)
    inverter = _firmware(args, profile, clock)
    if args.state is not None and args.state.exists():
        try:
            # The model resumes at the state's time and runs on to the clock's on the first tick.
            load_state(inverter.model, args.state)
        except StateError as exc:
            parser.error(f"--state {args.state}: {exc}")
    plan = FaultPlan(rules, random.Random(args.seed ^ 0xFA11))
    sink: list[Device] = []  # the port reads before the device exists: feed through this

    def on_bytes(data: bytes) -> None:
        sink[0].feed(data)

    port: PtyPort | HidrawPort
    port = (
        PtyPort(link, on_bytes)
        if args.transport == "pty"
        else HidrawPort(link, on_bytes, args.mount_dir)
    )
    device = Device(
        inverter, port, plan, truth, baud=args.baud, turnaround_s=args.turnaround, seed=args.seed
    )
    sink.append(device)
    control = ControlServer(args.control.absolute(), device) if args.control else None
    truth.write(
        "start",
        profile=profile.name,
        protocol=args.protocol,
        units=args.units,
        layout=args.layout,
        seed=args.seed,
        speed=args.speed,
        baud=args.baud,
        transport=args.transport,
        port=str(link),
        sim_time=inverter.model.now.isoformat(),
        faults=args.faults,
    )
    device.start()
    if control is not None:
        control.start()
    saver = _StateSaver(inverter, args.state) if args.state is not None else None
    if saver is not None:
        saver.start()
    try:
        if isinstance(port, PtyPort):
            return _run_pty(port, link)
        return _run_hidraw(port, link)
    finally:
        if control is not None:
            control.close()
        device.stop()
        if saver is not None:
            saver.stop()
        port.close()
        truth.write("stop")
        truth.close()


class _StateSaver:
    """Writes the model's state every STATE_SAVE_EVERY_S and once more at stop."""

    def __init__(self, inverter: Inverter, path: Path) -> None:
        self._inverter = inverter
        self._path = path.absolute()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-state", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._save()

    def _run(self) -> None:
        while not self._stop.wait(STATE_SAVE_EVERY_S):
            self._save()

    def _save(self) -> None:
        try:
            with self._inverter.lock:
                self._inverter.model.advance_to(self._inverter.clock.now())
                save_state(self._inverter.model, self._path)
        except OSError as exc:
            log.warning("cannot write the state file %s: %s", self._path, exc)


def _run_pty(port: PtyPort, link: Path) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    port.start()
    _announce(link)
    while not stop.wait(1.0):
        pass
    return 0


def _run_hidraw(port: HidrawPort, link: Path) -> int:
    mounted = threading.Event()
    giving_up = threading.Event()

    def announce_when_mounted() -> None:
        if port.wait_mounted(MOUNT_TIMEOUT_S, giving_up):
            mounted.set()
            _announce(link)
        elif not giving_up.is_set():
            log.error(
                "the FUSE mount at %s did not come up within %.0f s",
                port.mount_dir,
                MOUNT_TIMEOUT_S,
            )

    watcher = threading.Thread(target=announce_when_mounted, name="sim-mount-watch", daemon=True)
    watcher.start()
    # libfuse's loop owns this thread and handles SIGTERM/SIGINT by unmounting and returning.
    try:
        status = port.serve()
    except OSError as exc:
        giving_up.set()
        log.error("cannot mount the hidraw node at %s: %s", port.mount_dir, exc)
        return 1
    giving_up.set()
    watcher.join(timeout=2.0)
    if not mounted.is_set():
        log.error(
            "could not serve the hidraw node (libfuse status %s): is /dev/fuse usable?", status
        )
        return 1
    return 0
