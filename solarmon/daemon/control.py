"""The control socket: a Unix stream socket (mode 0660) taking one JSON request per line.

Each connection gets its own thread (at most `max_connections` at once; one more is told
`{"ok": false, "error": "busy"}` and closed, without a thread) that parses and checks a
request, hands it to the device's worker queue (shared with polling, so nothing interleaves on
the wire) and writes the reply as one JSON line, in request order. Any ``"id"`` in a request is
echoed in its reply. Requests:

- ``{"command": "QPIRI"}`` / ``{"command": "POP02", "confirm": true, "device": "inverter"}``
- ``{"command": "MCHGC060", "units": "all"}`` (or ``"units": 1``): a per-unit setting sent to
  each unit of a parallel system (``solarmon.daemon.unit_actions``)
- ``{"request": "status"}``: health of every device, answered without touching a device.

A connection that sends nothing for `idle_timeout_s` is closed. A request nested deeper than
MAX_JSON_DEPTH is refused before it is parsed (a 2,000-deep line would otherwise exhaust
Python's recursion limit).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
MAX_COMMAND_CHARS = 32
SOCKET_MODE = 0o660
MAX_CONNECTIONS = 32  # clients served at once (the web app uses one per request)
IDLE_TIMEOUT_S = 60.0  # a connection silent this long is closed
MAX_JSON_DEPTH = 8  # a request is a flat object: anything deeper is refused before parsing

# Returns the reply, or raises KeyError for an unknown device.
Dispatch = Callable[[dict[str, Any]], dict[str, Any]]


class SocketInUse(Exception):
    """Another live process answers on the control socket path."""


def json_depth(text: str) -> int:
    """How deeply `text`'s JSON arrays and objects nest (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_request(line: bytes) -> dict[str, Any]:
    """Decode and check one request line; raise ValueError with a message for the client."""
    try:
        text = line.decode("utf-8")
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ValueError(f"not a request: nested deeper than {MAX_JSON_DEPTH} levels")
        request = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a JSON line: {exc}") from None
    except RecursionError:  # belt and braces: the depth check above should catch it first
        raise ValueError("not a request: nested too deeply") from None
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object, e.g. {\"command\": \"QPIGS\"}")
    if request.get("request") == "status":
        return request
    command = request.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ValueError("missing \"command\" (a PI30 command string) or {\"request\": \"status\"}")
    command = command.strip()
    printable = command.isascii() and command.isprintable() and " " not in command
    if len(command) > MAX_COMMAND_CHARS or not printable:
        raise ValueError(f"\"command\" must be printable ASCII without spaces, at most {MAX_COMMAND_CHARS}")
    if "confirm" in request and not isinstance(request["confirm"], bool):
        raise ValueError("\"confirm\" must be true or false")
    if "device" in request and not isinstance(request["device"], str):
        raise ValueError("\"device\" must be a section name")
    if "units" in request:
        units = request["units"]
        if units != "all" and (not isinstance(units, int) or isinstance(units, bool) or not 0 <= units <= 8):
            raise ValueError("\"units\" must be \"all\" or a unit number 0-8")
    return request


def _with_id(request: Mapping[str, Any] | None, reply: dict[str, Any]) -> dict[str, Any]:
    if request is not None and "id" in request:
        return {"id": request["id"]} | reply
    return reply


class _Handler(socketserver.StreamRequestHandler):
    """One client connection: read a line, answer a line, until the client closes."""

    server: _Server

    def setup(self) -> None:
        """Socket reads time out after the server's idle timeout."""
        self.timeout = self.server.idle_timeout_s
        super().setup()

    def handle(self) -> None:
        """Answer each line of the connection in order; close it when idle too long."""
        while not self.server.stopping.is_set():
            try:
                line = self.rfile.readline(MAX_LINE_BYTES + 1)
            except TimeoutError:
                LOG.debug("control client idle for %g s: closed", self.server.idle_timeout_s)
                return
            except OSError:
                return
            if not line:
                return
            if len(line) > MAX_LINE_BYTES:
                self._send({"ok": False, "error": "invalid",
                            "message": f"request longer than {MAX_LINE_BYTES} bytes"})
                return  # the rest of the line cannot be trusted to be a new request
            if not line.strip():
                continue
            self._send(self.server.answer(line))

    def _send(self, reply: dict[str, Any]) -> None:
        try:
            self.wfile.write(json.dumps(reply, ensure_ascii=False, default=str).encode() + b"\n")
            self.wfile.flush()
        except OSError:
            LOG.debug("control client went away before its reply")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: a burst of clients waits, it is not refused
    # The path is ours to clean; socketserver's bind would fail on a stale file anyway.
    allow_reuse_address = False

    def __init__(self, path: str, dispatch: Dispatch, status: Callable[[], dict[str, Any]],
                 reply_timeout_s: float, max_connections: int = MAX_CONNECTIONS,
                 idle_timeout_s: float = IDLE_TIMEOUT_S) -> None:
        self.dispatch = dispatch
        self.status = status
        self.reply_timeout_s = reply_timeout_s
        self.max_connections = max_connections
        self.idle_timeout_s = idle_timeout_s
        self.stopping = threading.Event()
        self.refused_total = 0
        self._active = 0
        self._count_lock = threading.Lock()
        super().__init__(path, _Handler, bind_and_activate=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on a thread of its own, or refuse it when too many are open."""
        with self._count_lock:
            full = self._active >= self.max_connections
            if not full:
                self._active += 1
        if not full:
            super().process_request(request, client_address)
            return
        self.refused_total += 1
        if self.refused_total % 100 == 1:
            LOG.warning("control socket: %d connections open, refusing more (%d refused so far)",
                        self.max_connections, self.refused_total)
        with contextlib.suppress(OSError):
            request.settimeout(1.0)
            request.sendall(json.dumps({"ok": False, "error": "busy", "message":
                                        f"{self.max_connections} control connections are open; "
                                        "try again"}).encode() + b"\n")
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection, then free its place."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self._active -= 1

    def active(self) -> int:
        """Connections being served now."""
        with self._count_lock:
            return self._active

    def answer(self, line: bytes) -> dict[str, Any]:
        """The reply to one request line (never raises for a bad request)."""
        request: dict[str, Any] | None = None
        try:
            request = parse_request(line)
            if request.get("request") == "status":
                return _with_id(request, {"ok": True, "devices": self.status()})
            return _with_id(request, self.dispatch(request))
        except ValueError as exc:
            return _with_id(request, {"ok": False, "error": "invalid", "message": str(exc)})
        except KeyError as exc:
            return _with_id(request, {"ok": False, "error": "invalid", "message": f"unknown device {exc}"})
        except FutureTimeout:
            return _with_id(request, {"ok": False, "error": "timeout", "message":
                                      f"no answer from the device queue within {self.reply_timeout_s:g} s"})


def _claim_path(path: Path) -> None:
    """Remove a stale socket file, but never steal the socket of a running daemon."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_socket():
        raise SocketInUse(f"{path} exists and is not a socket; refusing to replace it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody listens: a leftover of a crash
            return
    raise SocketInUse(f"another process answers on {path}; is the daemon already running?")


class ControlServer:
    """Owns the socket file and the accept thread."""

    def __init__(self, path: Path, dispatch: Dispatch, status: Callable[[], dict[str, Any]], *,
                 reply_timeout_s: float = 120.0, max_connections: int = MAX_CONNECTIONS,
                 idle_timeout_s: float = IDLE_TIMEOUT_S) -> None:
        self.path = path
        self.dispatch = dispatch
        self.status = status
        self.reply_timeout_s = reply_timeout_s
        self.max_connections = max_connections
        self.idle_timeout_s = idle_timeout_s
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind (mode 0660) and listen under a temporary name, then rename the socket into place,
        so its path appears only once it accepts connections (a client that sees the file never
        gets "connection refused" from the moment between bind and listen); serve on a thread.
        Raises SocketInUse or OSError."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _claim_path(self.path)
        pending = self.path.with_name(f".{self.path.name}~")
        pending.unlink(missing_ok=True)  # a leftover of a start that crashed before the rename
        old_umask = os.umask(0o117)  # no window in which the socket is world-writable
        try:
            self._server = _Server(str(pending), self.dispatch, self.status, self.reply_timeout_s,
                                   self.max_connections, self.idle_timeout_s)
        finally:
            os.umask(old_umask)
        os.chmod(pending, SOCKET_MODE)
        os.rename(pending, self.path)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="control-socket", daemon=True)
        self._thread.start()
        LOG.info("control socket on %s", self.path)

    def stop(self) -> None:
        """Stop accepting, close the socket and remove its file."""
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = None
