"""Fixtures for the alert tests: a real HTTP webhook receiver on localhost, apprise URL files,
and an app with alert rules over the shared web fixtures (tests/fixtures/webapp.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


class Receiver:
    """A webhook endpoint (apprise's json://): records every POSTed JSON body; can be told to fail."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_next = 0  # answer 500 to this many requests first
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver.cond:
                    receiver.attempts += 1
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                    else:
                        receiver.bodies.append(json.loads(raw))
                    receiver.cond.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The apprise URL that posts JSON here (no retries inside apprise: our worker retries)."""
        return f"json://127.0.0.1:{self.port}/hook?cto=2&rto=2"

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 10.0) -> bool:
        """True once predicate(bodies) holds."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.bodies), timeout=timeout_s)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A live webhook receiver."""
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def dead_url() -> str:
    """An apprise URL to a localhost port nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"json://127.0.0.1:{port}/hook?cto=1&rto=1"


def write_url_file(path: Path, lines: list[str], mode: int = 0o600) -> Path:
    """An apprise URL file with `lines` and `mode`."""
    path.write_text("# alert targets\n" + "\n".join(lines) + "\n")
    path.chmod(mode)
    return path


@pytest.fixture
def url_file(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write_url_file under tmp_path."""
    return lambda lines, mode=0o600: write_url_file(tmp_path / "alerts.urls", lines, mode)


def wait_until(predicate: Callable[[], Any], timeout_s: float = 10.0, step_s: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy (returned) or the timeout (None)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    return None
