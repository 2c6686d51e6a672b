"""What the server itself refuses, driven against web_interface.py in its own process (issue 14).

- Point 11: slow clients. Hundreds of connections from one address, each sending part of a header
  and one more line now and then, must neither make the app unreachable for others nor stay open
  for ever. All on loopback: the attacker speaks from 127.0.0.2, the victim from 127.0.0.1
  (Linux routes all of 127/8 to lo).
- Point 12: a body larger than the API takes is refused before it is read, not spooled to disk.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.served import ServedApp

pytestmark = pytest.mark.timeout(120)

ATTACKERS = 300
ATTACKER_ADDRESS = "127.0.0.2"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedApp]:
    """web_interface.py with a 2 s request timeout (the default is 15 s: too slow for a test)."""
    app = ServedApp(tmp_path, {"server": {"request_timeout_s": 2}}).start()
    yield app
    app.stop()


def open_slow(port: int, count: int) -> list[socket.socket]:
    """`count` connections from ATTACKER_ADDRESS, each with a request line and half a header."""
    socks = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((ATTACKER_ADDRESS, 0))
        sock.settimeout(2)
        sock.connect(("127.0.0.1", port))
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: solarmon\r\nX-Slow: 1")
        socks.append(sock)
    return socks


def still_open(sock: socket.socket) -> bool:
    """True when the server has neither closed nor answered this connection."""
    sock.settimeout(0.01)
    try:
        sock.recv(4096, socket.MSG_PEEK)
    except (TimeoutError, BlockingIOError):
        return True  # nothing to read: still open, still waiting
    except OSError:
        return False  # reset
    return False  # closed (b"") or answered


def dribble(socks: list[socket.socket]) -> None:
    """One more header line on every connection still open (keeps waitress's idle timer at 0)."""
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.sendall(b"\r\nX-More: 1")


def get_status(port: int, timeout_s: float) -> int:
    """GET /api/status from 127.0.0.1 (another address than the attacker's)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", "/api/status")
        return conn.getresponse().status
    finally:
        conn.close()


def test_slow_clients_from_one_address_neither_lock_others_out_nor_stay(served: ServedApp) -> None:
    socks = open_slow(served.port, ATTACKERS)
    try:
        time.sleep(0.5)  # let the server accept (or refuse) them all
        dribble(socks)
        # Everyone else still gets an answer at once (waitress's cap here is 100 connections).
        started = time.monotonic()
        assert get_status(served.port, timeout_s=5) == 200
        answered_in = time.monotonic() - started
        held = sum(still_open(s) for s in socks)
        assert held <= 32, f"{held} slow connections held open from one address (cap 32)"
        # The ones admitted keep sending a line every 0.5 s, yet are closed once their request
        # has taken longer than server.request_timeout_s (2 s) to arrive.
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and any(still_open(s) for s in socks):
            dribble(socks)
            time.sleep(0.5)
        left = sum(still_open(s) for s in socks)
        assert left == 0, f"{left} slow connections still open after 8 s"
        print(f"\nslow clients: {ATTACKERS} opened, {held} held, other address answered in "
              f"{answered_in * 1000:.0f} ms, all closed by the request timeout")
    finally:
        for sock in socks:
            sock.close()
    assert "refusing connections from 127.0.0.2" in served.log()
    assert get_status(served.port, timeout_s=5) == 200


def send_headers(port: int, headers: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(headers)
    return sock


def read_status_line(sock: socket.socket, timeout_s: float) -> bytes:
    """The first line of the server's answer, or b'' when none came within `timeout_s`."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(4096).split(b"\r\n", 1)[0]
    except (TimeoutError, ConnectionResetError):
        return b""


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_large_anonymous_body_is_refused_before_it_is_read(served: ServedApp, framing: str) -> None:
    length = (b"Content-Length: 300000000\r\n" if framing == "content-length"
              else b"Transfer-Encoding: chunked\r\n")
    sock = send_headers(served.port, b"POST /api/command HTTP/1.1\r\nHost: solarmon\r\n"
                        b"Content-Type: application/json\r\n" + length + b"\r\n")
    sent = 0
    chunk = b"A" * 65536
    try:
        for _ in range(32):  # 2 MiB at most, against a body announced as 300 MB (or endless)
            payload = chunk if framing == "content-length" else b"%x\r\n%s\r\n" % (len(chunk), chunk)
            try:
                sock.sendall(payload)
            except OSError:  # the server answered and closed: that is the point
                break
            sent += len(chunk)
        status = read_status_line(sock, timeout_s=5)
    finally:
        sock.close()
    assert status.startswith(b"HTTP/1.1 413"), f"no refusal after {sent} body bytes: {status!r}"
    assert sent <= 2 * 1024 * 1024
