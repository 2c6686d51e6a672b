"""Entry point: ``python -m solarmon.daemon -C mpp-solar.conf [--once]``.

Exit codes: 0 clean stop (or, with --once, every device answered), 1 a device failed in --once or
the daemon could not start, 2 a bad config or command line.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from solarmon.daemon.config import ConfigError, load_config
from solarmon.daemon.logsetup import setup_logging
from solarmon.daemon.service import Daemon

EXIT_CONFIG = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m solarmon.daemon", description=__doc__.splitlines()[0])
    parser.add_argument("-C", "--config", default="mpp-solar.conf", help="config file (mppsolar format)")
    parser.add_argument("--once", action="store_true", help="poll every device once, write files, exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Load the config, then run the daemon (or one cycle); returns the exit code."""
    args = parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    setup_logging(None, level)  # config warnings go to stderr before the log file is known
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"mpp-solar daemon: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        setup_logging(config.setup.log_file, level)
    except OSError as exc:
        print(f"mpp-solar daemon: config error: {config.path} [SETUP] log_file: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from solarmon.daemon.linkfactory import open_link  # the inverter link loads only when needed

    daemon = Daemon(config, open_link)
    if args.once:
        return daemon.run_once()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only set a flag: the main loop does the stopping outside the signal handler.
        daemon.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return daemon.run()


if __name__ == "__main__":
    sys.exit(main())
