"""sd_notify over NOTIFY_SOCKET, by hand: a datagram to the socket systemd names in the environment.

Without systemd (no NOTIFY_SOCKET) every call is a no-op, so the daemon runs the same from a shell.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

LOG = logging.getLogger(__name__)


class Notifier:
    """Sends READY=1, WATCHDOG=1, STATUS=..., STOPPING=1 to systemd's notify socket."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is Linux's abstract namespace, spelled with a leading NUL byte on the wire.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog_for_us = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and watchdog_for_us else None

    @property
    def enabled(self) -> bool:
        """True when systemd listens (the daemon was started as Type=notify)."""
        return bool(self.address)

    def send(self, *assignments: str) -> bool:
        """Send ``assignments`` (e.g. "READY=1") as one datagram; False when not sent."""
        if not self.address:
            return False
        message = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message)
        except OSError as exc:
            # systemd gone or the socket unreadable: keep running, the watchdog will tell.
            LOG.debug("sd_notify %r failed: %s", assignments, exc)
            return False
        return True

    def ready(self, status: str) -> bool:
        """Tell systemd start-up is done."""
        return self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        """Keep-alive ping; only sent when all workers made progress (the caller checks)."""
        return self.send("WATCHDOG=1")

    def status(self, status: str) -> bool:
        """One line shown by ``systemctl status``."""
        return self.send(f"STATUS={status}")

    def stopping(self) -> bool:
        """Tell systemd a clean stop has begun."""
        return self.send("STOPPING=1", "STATUS=stopping")
