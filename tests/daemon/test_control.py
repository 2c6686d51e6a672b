"""The control socket server: parsing, framing, permissions and ownership of the socket path.

The device side is a plain function here (the end-to-end tests put real workers behind it).
"""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
from pathlib import Path

import pytest

from solarmon.daemon.control import MAX_LINE_BYTES, ControlServer, SocketInUse, parse_request


def echo_dispatch(request: dict) -> dict:
    if request.get("device") == "missing":
        raise KeyError("missing")
    return {"ok": True, "command": request["command"], "confirm": request.get("confirm", False)}


@pytest.fixture
def server(tmp_path: Path):
    srv = ControlServer(tmp_path / "run" / "ctl.sock", echo_dispatch, lambda: {"inverter": {"up": True}})
    srv.start()
    yield srv
    srv.stop()


def connect(path: Path) -> tuple[socket.socket, object]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(path))
    return sock, sock.makefile("rb")


def ask(sock: socket.socket, reader, payload: bytes) -> dict:
    sock.sendall(payload)
    return json.loads(reader.readline())


@pytest.mark.parametrize(("line", "error"), [
    (b"not json\n", "not a JSON line"),
    (b"[1, 2]\n", "a request is a JSON object"),
    (b"{}\n", "missing \"command\""),
    (b'{"command": ""}\n', "missing \"command\""),
    (b'{"command": 5}\n', "missing \"command\""),
    (b'{"command": "QP IGS"}\n', "printable ASCII without spaces"),
    (b'{"command": "Q\\u00e9"}\n', "printable ASCII"),
    (b'{"command": "' + b"Q" * 33 + b'"}\n', "at most 32"),
    (b'{"command": "POP02", "confirm": "yes"}\n', "\"confirm\" must be true or false"),
    (b'{"command": "QPIGS", "device": 1}\n', "\"device\" must be a section name"),
    (b"\xff\xfe\n", "not a JSON line"),
])
def test_bad_requests_are_refused_with_a_reason(line: bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error.replace("(", r"\(")):
        parse_request(line)


def test_good_requests_parse() -> None:
    assert parse_request(b'{"command": " QPIRI "}\n')["command"] == " QPIRI "
    assert parse_request(b'{"request": "status"}\n') == {"request": "status"}
    assert parse_request(b'{"command": "PF", "confirm": true, "device": "a"}')["confirm"] is True


def test_socket_mode_is_0660(server: ControlServer) -> None:
    mode = server.path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660


def test_requests_and_replies_on_one_connection(server: ControlServer) -> None:
    sock, reader = connect(server.path)
    with sock:
        assert ask(sock, reader, b'{"command": "QPIGS", "id": 7}\n') == {
            "id": 7, "ok": True, "command": "QPIGS", "confirm": False}
        reply = ask(sock, reader, b"garbage\n")
        assert (reply["ok"], reply["error"]) == (False, "invalid")
        # The connection survives a bad line; the next request is answered.
        assert ask(sock, reader, b'{"command": "POP02", "confirm": true}\n')["confirm"] is True
        reply = ask(sock, reader, b'{"command": "QPIGS", "device": "missing", "id": "x"}\n')
        assert reply == {"id": "x", "ok": False, "error": "invalid", "message": "unknown device 'missing'"}
        status = ask(sock, reader, b'{"request": "status"}\n')
        assert status == {"ok": True, "devices": {"inverter": {"up": True}}}


def test_pipelined_requests_are_answered_in_order(server: ControlServer) -> None:
    sock, reader = connect(server.path)
    with sock:
        sock.sendall(b"".join(b'{"command": "Q%d", "id": %d}\n' % (i, i) for i in range(50)))
        ids = [json.loads(reader.readline())["id"] for _ in range(50)]
    assert ids == list(range(50))


def test_overlong_line_is_refused_and_the_connection_closed(server: ControlServer) -> None:
    sock, reader = connect(server.path)
    with sock:
        sock.sendall(b'{"command": "' + b"Q" * (MAX_LINE_BYTES + 10) + b'"}\n')
        reply = json.loads(reader.readline())
        assert reply["error"] == "invalid"
        assert "longer than" in reply["message"]
        assert reader.readline() == b""


def test_concurrent_clients_each_get_their_own_replies(server: ControlServer) -> None:
    results: dict[int, list[str]] = {}

    def client(n: int) -> None:
        sock, reader = connect(server.path)
        with sock:
            results[n] = [ask(sock, reader, json.dumps({"command": f"Q{n}X{i}"}).encode() + b"\n")["command"]
                          for i in range(100)]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {n: [f"Q{n}X{i}" for i in range(100)] for n in range(4)}


def test_a_live_socket_is_never_stolen(server: ControlServer) -> None:
    second = ControlServer(server.path, echo_dispatch, dict)
    with pytest.raises(SocketInUse, match="already running"):
        second.start()
    sock, reader = connect(server.path)  # the first server still answers
    with sock:
        assert ask(sock, reader, b'{"command": "QMOD"}\n')["ok"] is True


def test_a_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "ctl.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens: what a crash leaves behind
    srv = ControlServer(path, echo_dispatch, dict)
    srv.start()
    try:
        sock, reader = connect(path)
        with sock:
            assert ask(sock, reader, b'{"command": "QMOD"}\n')["ok"] is True
    finally:
        srv.stop()
    assert not path.exists()


def test_a_regular_file_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "ctl.sock"
    path.write_text("precious")
    with pytest.raises(SocketInUse, match="not a socket"):
        ControlServer(path, echo_dispatch, dict).start()
    assert path.read_text() == "precious"


def test_a_deeply_nested_line_gets_an_error_reply_and_the_connection_goes_on(server: ControlServer) -> None:
    """Issue 14, 14e: 2,000 levels of brackets once raised an uncaught RecursionError."""
    sock, reader = connect(server.path)
    with sock:
        for line in (b"[" * 2000 + b"]" * 2000 + b"\n", b'{"a":' * 600 + b"1" + b"}" * 600 + b"\n"):
            assert len(line) <= MAX_LINE_BYTES
            reply = ask(sock, reader, line)
            assert reply["ok"] is False
            assert reply["error"] == "invalid"
        assert ask(sock, reader, b'{"command": "QPIGS"}\n')["ok"] is True


def test_strings_with_brackets_are_not_nesting() -> None:
    line = json.dumps({"command": "QPIGS", "id": '[[[[[[[[[[[[{{{{{{{{{{"]]]'}).encode() + b"\n"
    assert parse_request(line)["command"] == "QPIGS"


MAX_CONNECTIONS = 32  # the daemon's default (control.MAX_CONNECTIONS)


def test_idle_connections_are_capped_without_a_thread_each(tmp_path: Path) -> None:
    """3,000 idle connections once meant 3,000 threads; now at most MAX_CONNECTIONS are served."""
    srv = ControlServer(tmp_path / "ctl.sock", echo_dispatch, dict)
    srv.start()
    before = threading.active_count()
    socks = []
    try:
        for _ in range(MAX_CONNECTIONS + 100):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            for _retry in range(500):  # the listen backlog is short: wait for the accept loop
                try:
                    sock.connect(str(srv.path))
                    break
                except BlockingIOError:
                    time.sleep(0.01)
            socks.append(sock)
        last = socks[-1].makefile("rb").readline()
        assert json.loads(last)["error"] == "busy"
        grown = threading.active_count() - before
        print(f"\ncontrol socket: {len(socks)} idle connections -> {grown} more threads")
        assert grown <= MAX_CONNECTIONS
    finally:
        for sock in socks:
            sock.close()
    # Freed places are served again, once the server has seen those connections close: until then
    # a new one is refused as busy (and closed, so a send may also meet a broken pipe).
    deadline = time.monotonic() + 10
    while True:
        sock, reader = connect(srv.path)
        with sock:
            try:
                reply = ask(sock, reader, b'{"command": "QPIGS"}\n')
            except (BrokenPipeError, ConnectionResetError):
                reply = {"error": "busy"}
        if reply.get("error") != "busy" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert reply["ok"] is True
    srv.stop()


def test_an_idle_connection_is_closed(tmp_path: Path) -> None:
    srv = ControlServer(tmp_path / "ctl.sock", echo_dispatch, dict, idle_timeout_s=0.5)
    srv.start()
    try:
        sock, reader = connect(srv.path)
        with sock:
            assert ask(sock, reader, b'{"command": "QPIGS"}\n')["ok"] is True
            started = time.monotonic()
            assert reader.readline() == b""  # closed by the server
            assert 0.3 < time.monotonic() - started < 5
    finally:
        srv.stop()


def test_the_socket_path_appears_only_once_it_listens(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that waits for the file, then connects, is never refused: the socket is bound and
    listening under a temporary name before it is renamed into place (a test that waited for the
    file met the moment between bind and listen on a loaded CI machine)."""
    from solarmon.daemon import control

    path = tmp_path / "ctl.sock"
    seen_at_listen: list[bool] = []
    listen = control._Server.server_activate

    def activate(server: control._Server) -> None:
        seen_at_listen.append(path.exists())
        listen(server)

    monkeypatch.setattr(control._Server, "server_activate", activate)
    srv = ControlServer(path, echo_dispatch, dict)
    srv.start()
    try:
        assert seen_at_listen == [False]
        assert stat.S_IMODE(path.stat().st_mode) == 0o660
        sock, reader = connect(path)
        with sock:
            assert ask(sock, reader, b'{"command": "QPIGS"}\n')["ok"] is True
        assert [p.name for p in tmp_path.iterdir()] == ["ctl.sock"]  # no temporary name left
    finally:
        srv.stop()
    assert not path.exists()
