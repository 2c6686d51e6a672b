"""Entry point: ``python -m solarmon.daemon -C mpp-solar.conf [--once | --detect]``: config, logging, daemon.

Logging goes to ``log_file`` (reopened after logrotate moves it) or to stderr, which is the
journal under systemd (then without our own timestamps: the journal has its own).

``--detect`` asks each section's unit what protocol it speaks (queries only: QPI, ^P005PI, QPIRI,
QPGS0), prints it as JSON and writes ``mpp-solar-<section>.detected.json``; the daemon must not be
running (it owns the port).

Exit codes: 0 clean stop (or, with --once / --detect, every device answered), 1 a device failed in
--once / --detect or the daemon could not start, 2 a bad config or command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import logging.handlers
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from solarmon.confighelper import ConfigError
from solarmon.daemon.config import Config, DeviceConfig, load_config
from solarmon.daemon.protocols import detect, write_detection
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link
from solarmon.inverter.readings import Reading

EXIT_CONFIG = 2

FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: Path | None, level: int = logging.INFO,
                  logger: logging.Logger | None = None) -> None:
    """Replace ``logger``'s (default: the root logger's) handlers with one for ``log_file`` (or stderr).

    WatchedFileHandler notices a rotated-away file and opens the new one, so logrotate needs no
    copytruncate and no signal to the daemon. Raises OSError when the file cannot be opened.
    """
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
    else:
        handler = logging.StreamHandler()
        under_journal = bool(os.environ.get("JOURNAL_STREAM"))
        handler.setFormatter(logging.Formatter(JOURNAL_FORMAT if under_journal else FILE_FORMAT))
    root = logger or logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m solarmon.daemon", description=__doc__.splitlines()[0])
    parser.add_argument("-C", "--config", default="mpp-solar.conf", help="config file (mppsolar format)")
    parser.add_argument("--once", action="store_true", help="poll every device once, write files, exit")
    parser.add_argument("--detect", action="store_true",
                        help="ask each unit its protocol (queries only), print and write it down, exit")
    parser.add_argument("--section", help="with --detect: only this section")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def run_detect(config: Config, section: str | None) -> int:
    """``--detect``: the protocol of each section's unit, printed and written down."""
    devices = [d for d in config.devices if section is None or d.name == section]
    if not devices:
        print(f"mpp-solar daemon: no section {section!r} in {config.path}", file=sys.stderr)
        return EXIT_CONFIG
    status = 0
    for device in devices:
        def asker(protocol: str, device: DeviceConfig = device) -> Callable[[str], Reading]:
            def ask(command: str) -> Reading:
                with open_link(dataclasses.replace(device, protocol=protocol)) as link:
                    return link.query(command)
            return ask

        found = detect(asker("pi30"), asker("pi18"))
        write_detection(device.prom_output_dir / f"mpp-solar-{device.name}.detected.json", device.name, found)
        print(json.dumps({"section": device.name, **found.as_dict()}))
        status = status or (0 if found.protocol else 1)
    return status


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
    if args.detect:
        return run_detect(config, args.section)
    daemon = Daemon(config, open_link)
    if args.once:
        return daemon.run_once()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        """SIGTERM / SIGINT: ask the main loop to stop."""
        # Only set a flag: the main loop does the stopping outside the signal handler.
        daemon.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return daemon.run()


if __name__ == "__main__":
    sys.exit(main())
