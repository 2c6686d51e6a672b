"""Client of the daemon's control socket, and the bearer token that guards POST /api/command.

The daemon owns the inverter; the web app only forwards one JSON request per connection over the
Unix socket (docs/INTERFACES.md "Daemon") and relays the reply. Failures map onto three exceptions
the API turns into statuses: the daemon is not there (503), it did not answer in time (504), it
answered something that is not a reply (502).
"""

from __future__ import annotations

import hmac
import json
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_REPLY_BYTES = 1 << 20  # a PI30 reply decodes to a few kB; anything near this is not a reply
MAX_TOKEN_BYTES = 4096
PING_TIMEOUT_S = 1.0  # the daemon answers a status request from memory, at once


class ControlError(Exception):
    """Talking to the daemon failed; `status` is the HTTP status the API answers with."""

    status = 502
    kind = "daemon_error"


class DaemonUnavailable(ControlError):
    """No daemon listens on the control socket (not running, or the socket path is wrong)."""

    status = 503
    kind = "daemon_unavailable"


class DaemonTimeout(ControlError):
    """The daemon accepted the request but did not reply in time."""

    status = 504
    kind = "daemon_timeout"


class ControlClient:
    """Sends one request to the daemon's control socket and returns its parsed reply."""

    def __init__(self, socket_path: str | os.PathLike[str], timeout_s: float = 30.0) -> None:
        """Remember where the socket is; nothing is opened until `request()`."""
        self.socket_path = str(socket_path)
        self.timeout_s = timeout_s

    def available(self) -> bool:
        """True when something that looks like the daemon's socket exists (cheap, for /api/status)."""
        try:
            return stat.S_ISSOCK(os.stat(self.socket_path).st_mode)
        except OSError:
            return False

    def ping(self, timeout_s: float = PING_TIMEOUT_S) -> dict[str, Any]:
        """Ask the daemon itself (`{"request": "status"}`, answered without touching a device) for
        /api/status: a socket file left behind by a killed daemon is not a running daemon."""
        health: dict[str, Any] = {"ok": False, "socket": self.socket_path, "error": None}
        try:
            reply = self.request({"request": "status"}, timeout_s=timeout_s)
        except ControlError as exc:
            return {**health, "error": f"{exc.kind}: {exc}"}
        if reply.get("ok") is not True:
            return {**health, "error": f"the daemon answered {reply.get('error') or 'an error'}"}
        devices = reply.get("devices")
        return {**health, "ok": True, "devices": sorted(devices) if isinstance(devices, dict) else []}

    def request(self, payload: dict[str, Any], *, timeout_s: float | None = None) -> dict[str, Any]:
        """Send `payload` as one JSON line; return the daemon's JSON reply (raises ControlError)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        line = json.dumps(payload, separators=(",", ":")).encode() + b"\n"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout_s)
        try:
            try:
                sock.connect(self.socket_path)
            except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as exc:
                raise DaemonUnavailable(
                    f"the daemon is not running (no control socket at {self.socket_path})") from exc
            except PermissionError as exc:
                raise DaemonUnavailable(
                    f"no permission to use the daemon's control socket {self.socket_path}") from exc
            except OSError as exc:
                raise DaemonUnavailable(f"cannot reach the daemon at {self.socket_path}: {exc}") from exc
            try:
                sock.sendall(line)
                raw = self._read_line(sock)
            except TimeoutError as exc:
                raise DaemonTimeout(f"the daemon did not answer within {timeout_s:g} s") from exc
            except OSError as exc:
                raise ControlError(f"the daemon closed the connection: {exc}") from exc
        finally:
            sock.close()
        try:
            reply = json.loads(raw)
        except ValueError as exc:
            raise ControlError("the daemon's reply is not JSON") from exc
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            raise ControlError("the daemon's reply has no \"ok\" field")
        return reply

    @staticmethod
    def _read_line(sock: socket.socket) -> bytes:
        """Read up to the first newline (or EOF); refuse replies larger than MAX_REPLY_BYTES."""
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            newline = chunk.find(b"\n")
            if newline >= 0:
                chunks.append(chunk[:newline])
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise ControlError("the daemon's reply is too large")
        if not chunks:
            raise ControlError("the daemon closed the connection without replying")
        return b"".join(chunks)


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a request's bearer token: allowed, or refused with status + reason."""

    allowed: bool
    status: int = 200
    error: str = ""
    message: str = ""


def read_token_file(path: Path) -> str:
    """Read a token file that only its owner may read (mode 0600 or stricter); raises PermissionError."""
    info = path.stat()
    if info.st_mode & 0o077:
        raise PermissionError(f"token file {path} is mode {stat.S_IMODE(info.st_mode):04o}; "
                              "it must be readable by its owner only (chmod 600)")
    if info.st_size > MAX_TOKEN_BYTES:
        raise PermissionError(f"token file {path} is too large to be a token")
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < 16:
        raise PermissionError(f"token file {path} holds fewer than 16 characters; use a long random token")
    return token


def check_bearer(token_file: Path | None, authorization: str | None) -> TokenCheck:
    """Decide whether a request carrying `authorization` may send commands.

    The token file is read on every command so that replacing it takes effect without a restart;
    commands are rare, so the cost does not matter.
    """
    if token_file is None:
        return TokenCheck(False, 403, "commands_disabled",
                          "commands are off: set daemon.command_token_file in web.yaml")
    try:
        expected = read_token_file(token_file)
    except FileNotFoundError:
        return TokenCheck(False, 403, "commands_disabled",
                          f"commands are off: the token file {token_file} does not exist")
    except (PermissionError, OSError, UnicodeDecodeError) as exc:
        return TokenCheck(False, 403, "commands_disabled", f"commands are off: {exc}")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return TokenCheck(False, 401, "unauthorized",
                          "send the command token as 'Authorization: Bearer <token>'")
    # compare_digest keeps the comparison time independent of where the strings differ.
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return TokenCheck(False, 401, "unauthorized", "the bearer token is wrong")
    return TokenCheck(True)
