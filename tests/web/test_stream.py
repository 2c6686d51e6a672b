"""GET /api/stream over a real waitress server: events as files change, keep-alives, the bound."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from tests.fixtures.webapp import SAMPLE_VALUES, write_prom

pytestmark = pytest.mark.timeout(60)


class SseClient:
    """A minimal EventSource: reads events (and comments) line by line from a real socket."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.conn.request("GET", "/api/stream", headers={"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()

    def next_block(self) -> dict[str, str]:
        """The next event or comment block as {field: value} ("comment" for `:` lines)."""
        block: dict[str, str] = {}
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("stream closed")
            line = line.decode().rstrip("\n")
            if not line:
                if block:
                    return block
                continue
            name, _, value = line.partition(":")
            block["comment" if name == "" else name] = value.strip()

    def next_event(self, kind: str) -> dict:
        """Skip to the next event of `kind`; return its JSON data."""
        while True:
            block = self.next_block()
            if block.get("event") == kind:
                return json.loads(block["data"])

    def close(self) -> None:
        # The response holds its own reference to the socket: both must close for a real FIN.
        self.response.close()
        self.conn.close()


def test_a_stream_sends_the_snapshot_then_each_new_sample(live_server, web_paths):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    wait_for_data(live_server.port)
    sse = SseClient(live_server.port)
    try:
        assert sse.response.status == 200
        assert sse.response.getheader("Content-Type").startswith("text/event-stream")
        assert sse.next_block() == {"retry": "5000"}
        snapshot = sse.next_event("snapshot")
        assert snapshot["source"] == "inverter:main"
        assert snapshot["values"]["battery_voltage"] == 52.4
        write_prom(web_paths.prom_dir, "main", {**SAMPLE_VALUES, "battery_voltage": 53.1})
        sample = sse.next_event("sample")
        assert sample["source"] == "inverter:main"
        assert sample["values"]["battery_voltage"] == 53.1
        assert sample["units"]["battery_voltage"] == "V"
    finally:
        sse.close()


def test_an_idle_stream_gets_keep_alives(live_server):
    sse = SseClient(live_server.port)
    try:
        sse.next_block()  # retry
        assert sse.next_block() == {"comment": "keep-alive"}
    finally:
        sse.close()


def get_json(port: int, path: str) -> tuple[int, dict, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read()), response
    finally:
        conn.close()


def wait_for_data(port: int) -> None:
    """Until the reader thread has read the first file (it polls every 50 ms in tests)."""
    deadline = time.monotonic() + 10
    while get_json(port, "/api/data")[0] != 200:
        assert time.monotonic() < deadline, "the reader never delivered the file"
        time.sleep(0.05)


def test_streams_are_bounded_and_the_json_api_keeps_answering(live_server, web_config, web_paths):
    write_prom(web_paths.prom_dir, "main", SAMPLE_VALUES)
    wait_for_data(live_server.port)
    streams = [SseClient(live_server.port) for _ in range(web_config.server.max_streams)]
    try:
        for sse in streams:
            assert sse.next_block() == {"retry": "5000"}
        status, body, response = get_json(live_server.port, "/api/stream")
        assert status == 503
        assert body["error"] == "too_many_streams"
        assert response.getheader("Retry-After") == "5"
        status, body, _ = get_json(live_server.port, "/api/data")
        assert (status, body["device"]) == (200, "main")
        status, body, _ = get_json(live_server.port, "/api/status")
        assert body["streams"]["open"] == web_config.server.max_streams
        assert body["streams"]["refused"] == 1
    finally:
        for sse in streams:
            sse.close()
    # A closed tab is noticed at the next keep-alive write, and its slot is free again.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if get_json(live_server.port, "/api/status")[1]["streams"]["open"] == 0:
            break
        time.sleep(0.1)
    sse = SseClient(live_server.port)
    try:
        assert sse.response.status == 200
    finally:
        sse.close()


def test_stopping_the_runtime_ends_open_streams(live_server):
    sse = SseClient(live_server.port)
    sse.next_block()
    live_server.runtime.stop()

    def read_to_the_end() -> None:
        for _ in range(100):
            sse.next_block()

    with pytest.raises(EOFError):
        read_to_the_end()
    sse.close()


@pytest.mark.timeout(90)
def test_sigterm_stops_the_real_server_with_streams_open(tmp_path):
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "prometheus").mkdir()
    config = tmp_path / "web.yaml"
    config.write_text(f"server: {{host: 127.0.0.1, port: {port}, threads: 8, max_streams: 4, "
                      "keepalive_s: 30}\nhistory: {db_path: h.db}\n")
    process = subprocess.Popen([sys.executable, str(repo / "web_interface.py"), "-c", str(config)], cwd=repo,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("listening on ")
        streams = [SseClient(port) for _ in range(3)]
        for sse in streams:
            assert sse.next_block() == {"retry": "5000"}
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert time.monotonic() - started < 10  # streams end within a poll, not at the keep-alive
        for sse in streams:
            sse.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
