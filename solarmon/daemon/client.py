"""Send one request to a running daemon's control socket from the shell.

``python -m solarmon.daemon.client -C mpp-solar.conf QPIRI`` (what ``manage_daemon.sh command``
runs) prints the JSON reply. Exit codes: 0 ok, 1 the daemon answered with an error, 2 bad config
or arguments, 3 no daemon listening.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

from solarmon.daemon.config import ConfigError, load_config

EXIT_ERROR_REPLY = 1
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3


def request(path: Path, payload: dict[str, Any], timeout_s: float = 130.0) -> dict[str, Any]:
    """One request, one reply line, over a fresh connection. Raises OSError when nobody listens."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(json.dumps(payload).encode() + b"\n")
        with sock.makefile("rb") as reader:
            line = reader.readline()
    if not line:
        raise ConnectionError(f"the daemon closed {path} without a reply")
    return json.loads(line)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, send, print; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m solarmon.daemon.client",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("-C", "--config", default="mpp-solar.conf")
    parser.add_argument("--device", help="section name (default: the first device)")
    parser.add_argument("--confirm", action="store_true", help="confirm a dangerous setting")
    parser.add_argument("command", help="a PI30 command (QPIRI, POP02...), or 'status'")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if config.setup.control_socket is None:
        print(f"{config.path}: control_socket is empty: the daemon has no control socket", file=sys.stderr)
        return EXIT_CONFIG
    payload: dict[str, Any] = ({"request": "status"} if args.command == "status"
                               else {"command": args.command, "confirm": args.confirm})
    if args.device:
        payload["device"] = args.device
    try:
        reply = request(config.setup.control_socket, payload)
    except OSError as exc:
        print(f"no daemon on {config.setup.control_socket}: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print(json.dumps(reply, indent=2, ensure_ascii=False))
    return 0 if reply.get("ok") else EXIT_ERROR_REPLY


if __name__ == "__main__":
    sys.exit(main())
