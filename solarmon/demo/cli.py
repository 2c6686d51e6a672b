"""Command line of the demo: ``python -m solarmon.demo run --dir var/demo [--port 5000] [--days 30]
[--time 12:00]`` (what ``./manage_web.sh demo`` runs with DEMO_DIR, DEMO_PORT, DEMO_DAYS, DEMO_TIME),
and ``python -m solarmon.demo fleet --dir var/fleet-demo [--port 5000] [--outage-after S]
[--outage S] [--outage-every S] [--stale-after S]`` (``./manage_web.sh fleet-demo``:
FLEET_DEMO_DIR, FLEET_DEMO_PORT)."""

from __future__ import annotations

import argparse
from pathlib import Path

from solarmon.demo.fleet import FleetOptions, run_fleet_demo
from solarmon.demo.run import DemoOptions, clock_offset_s, run_demo


def _days(text: str) -> float:
    value = float(text)
    if not 0 < value <= 365:
        raise argparse.ArgumentTypeError(f"days must be in (0, 365], got {text}")
    return value


def _time_of_day(text: str) -> str:
    try:
        clock_offset_s(text, 0.0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 1..65535, got {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"seconds must be in [1, 86400], got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(prog="python -m solarmon.demo",
                                     description="The whole solarmon system on the simulator.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start every part; Ctrl-C or SIGTERM stops them")
    run.add_argument("--dir", type=Path, required=True, help="the demo folder (configs, logs, history)")
    run.add_argument("--port", type=_port, default=5000, help="the web app's port (default 5000)")
    run.add_argument("--days", type=_days, default=30.0, help="days of history to generate (default 30)")
    run.add_argument("--time", type=_time_of_day, default=None,
                     help="HH:MM: the simulated clock shows this time at the start (default: real time)")
    fleet = sub.add_parser("fleet", help="a central store, a hub and three sites; Ctrl-C stops them")
    fleet.add_argument("--dir", type=Path, required=True, help="the fleet demo's folder")
    fleet.add_argument("--port", type=_port, default=5000, help="the hub's port (default 5000)")
    fleet.add_argument("--outage-after", type=_seconds, default=120.0,
                       help="seconds until the village's uplink first drops (default 120)")
    fleet.add_argument("--outage", type=_seconds, default=240.0, help="how long it stays down (default 240)")
    fleet.add_argument("--outage-every", type=_seconds, default=1200.0,
                       help="seconds from one drop to the next (default 1200)")
    fleet.add_argument("--stale-after", type=_seconds, default=60.0,
                       help="the hub calls a site stale after this many seconds without news (default 60)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "fleet":
        return run_fleet_demo(FleetOptions(folder=args.dir, port=args.port, outage_after_s=args.outage_after,
                                           outage_s=args.outage, outage_every_s=args.outage_every,
                                           stale_after_s=int(args.stale_after)))
    options = DemoOptions(folder=args.dir, port=args.port, days=args.days, time_of_day=args.time or None)
    return run_demo(options)
