"""A local stand-in for Open-Meteo: an HTTP server replaying scripted replies (recorded-style bodies
in tests/weather/data/), recording every request's query string."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from solarmon.weather.config import WeatherConfig

DATA = Path(__file__).parent / "data"


def body(name: str) -> bytes:
    """A response body from tests/weather/data/."""
    return (DATA / name).read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "application/json; charset=utf-8"}
    )
    delay_s: float = 0.0


class FakeOpenMeteo:
    """Replies from `script` in order, then `default`; `requests` holds each query (parsed)."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.default = Reply(200, body("current_winter_morning.json"))
        self.requests: list[dict[str, list[str]]] = []
        # Optional: picks the reply from the parsed query (None: the script / default as usual).
        # By default an hourly (forecast) request gets the clear summer day, as Open-Meteo would
        # answer it with hourly data whatever the current-conditions script says.
        self.responder: Callable[[dict[str, list[str]]], Reply | None] | None = (
            lambda query: Reply(200, body("hourly_clear_south.json")) if "hourly" in query else None
        )
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a delayed (timeout) reply must not hold up teardown
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/forecast"

    def queue(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def _next(self, path: str) -> Reply:
        with self.lock:
            split = urlsplit(path)
            self.paths.append(split.path)
            query = parse_qs(split.query)
            self.requests.append(query)
            routed = self.responder(query) if self.responder is not None else None
            if routed is not None:
                return routed
            return self.script.popleft() if self.script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = fake._next(self.path)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler


@pytest.fixture
def open_meteo() -> Iterator[FakeOpenMeteo]:
    fake = FakeOpenMeteo()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def weather_config(open_meteo: FakeOpenMeteo) -> WeatherConfig:
    """Built directly (not via the YAML validator) so timeouts and backoff can be tiny."""
    return WeatherConfig(
        base_url=open_meteo.url, timeout_s=0.3, retries=2, backoff_s=0.01, tilt_deg=45, azimuth_deg=-10
    )
