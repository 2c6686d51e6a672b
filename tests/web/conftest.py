"""Fixtures of the web app tests: a real waitress server on a free port, and a reader scan helper."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import waitress

from solarmon.web.runtime import Runtime, get_context


class LiveServer:
    """The app served by waitress in a thread on 127.0.0.1 (a free port), with its services."""

    def __init__(self, app: Any, threads: int) -> None:
        self.app = app
        self.runtime = Runtime.for_app(app)
        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self._run, name="waitress-test", daemon=True)

    def _run(self) -> None:
        # The socket closing under select() at stop raises one of these: a normal end.
        with contextlib.suppress(OSError, ValueError):
            self.server.run()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> LiveServer:
        self.runtime.start()
        self.thread.start()
        return self

    def stop(self) -> None:
        # Streams end within a poll once the runtime stops; let their threads finish before the
        # server's trigger closes, then stop the worker threads.
        self.runtime.stop()
        streams = get_context(self.app).parts.streams
        deadline = time.monotonic() + 5
        while streams.describe()["open"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def live_server(app: Any, web_config: Any) -> Iterator[LiveServer]:
    """The test's app behind a real waitress server (threads as in its config)."""
    server = LiveServer(app, web_config.server.threads).start()
    yield server
    server.stop()


@pytest.fixture
def scan(app: Any) -> Any:
    """Read the prometheus folder now, in the test's thread (no background thread needed)."""
    reader = get_context(app).parts.reader
    return lambda: reader.scan(force=True)
