"""Command line of the demo: ``python -m solarmon.demo run --dir var/demo [--port 5000] [--days 30]
[--time 12:00]`` (what ``./manage_web.sh demo`` runs with DEMO_DIR, DEMO_PORT, DEMO_DAYS, DEMO_TIME)."""

from __future__ import annotations

import argparse
from pathlib import Path

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run; returns the exit status."""
    args = build_parser().parse_args(argv)
    options = DemoOptions(folder=args.dir, port=args.port, days=args.days, time_of_day=args.time or None)
    return run_demo(options)
