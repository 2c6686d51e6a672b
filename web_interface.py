#!/usr/bin/env python3
"""Entry point of the web app: parse arguments, load web.yaml, build the app, start, serve.

`web_interface.py user|token ...` manages accounts and API tokens instead (docs/SECURITY.md).

Thin on purpose: everything it wires lives in solarmon.web. Exit status 2 on a configuration
error (the message names the file and key), 0 after a clean stop (SIGTERM or Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from solarmon.confighelper import ConfigError
from solarmon.web import create_app
from solarmon.web.auth.cli import add_arguments as add_account_arguments
from solarmon.web.auth.cli import run as run_account_command
from solarmon.web.config import load_config
from solarmon.web.runtime import Runtime

DEFAULT_CONFIG = Path(__file__).resolve().parent / "web.yaml"


class _Stop(Exception):
    """Raised by the signal handler to leave waitress' loop."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: the config file, and host/port overrides for demos and tests."""
    parser = argparse.ArgumentParser(description="solarmon web interface (dashboard + JSON API)")
    parser.add_argument("-c", "--config", type=Path, default=DEFAULT_CONFIG, help="web.yaml to use")
    parser.add_argument("--host", help="override server.host")
    parser.add_argument("--port", type=int, help="override server.port")
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")
    add_account_arguments(parser)  # `user ...` and `token ...` (solarmon/web/auth/cli.py)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Load the configuration, build and start the app, serve until SIGTERM or Ctrl-C."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
        if args.area is not None:  # user/token management: no app, no server
            return run_account_command(args, config)
        # Building starts nothing; it is where parts read their own sections (alert rules...).
        app = create_app(config)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(config.server.log_level)
    if args.check:
        print(f"{args.config}: ok")
        return 0
    from solarmon.web.runtime import create_server  # waitress: --check starts nothing

    runtime = Runtime.for_app(app)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    try:
        # waitress with the app's limits: body size, timeouts, connections per address.
        server = create_server(app, config.server, host, port)
    except OSError as exc:
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    def on_signal(signum: int, _frame: object) -> None:
        # Runs in the main thread, inside waitress' loop: leaving the loop by an exception makes
        # waitress join its worker threads, which end their streams once `stopping` is set.
        logging.getLogger(__name__).info("signal %d: stopping", signum)
        runtime.stopping.set()
        raise _Stop

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runtime.start()
    logging.getLogger(__name__).info("serving on http://%s:%s/", server.effective_host, server.effective_port)
    print(f"listening on http://{server.effective_host}:{server.effective_port}/", flush=True)
    try:
        server.run()
    except _Stop:
        pass
    finally:
        runtime.stop()
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
