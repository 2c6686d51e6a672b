"""The fleet demo's uplink relay: relays, cuts (open and new connections), restores."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from solarmon.demo.uplink import Uplink


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def uplink() -> Iterator[Uplink]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    link = Uplink(("127.0.0.1", server.server_address[1]))
    link.start()
    yield link
    link.stop()
    server.shutdown()
    server.server_close()


def _echo(port: int, payload: bytes) -> bytes:
    """What comes back; b"" when the link closed or reset the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        try:
            sock.sendall(payload)
            return sock.recv(4096)
        except ConnectionError:
            return b""


def test_it_relays_both_ways(uplink: Uplink) -> None:
    assert _echo(uplink.port, b"sample 1") == b"sample 1"


def test_a_cut_closes_open_connections_and_refuses_new_ones_until_restored(uplink: Uplink) -> None:
    with socket.create_connection(("127.0.0.1", uplink.port), timeout=3) as open_one:
        open_one.sendall(b"a")
        assert open_one.recv(16) == b"a"
        uplink.cut()
        open_one.settimeout(3)
        try:
            open_one.sendall(b"b")
            assert open_one.recv(16) == b""  # closed by the cut: nothing relayed
        except ConnectionError:
            pass
    assert not uplink.up
    assert uplink.cuts == 1
    assert _echo(uplink.port, b"during") == b""  # accepted and closed at once: no relay
    uplink.restore()
    assert _echo(uplink.port, b"after") == b"after"
