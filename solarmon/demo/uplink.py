"""A site's uplink in the fleet demo: a TCP relay between a site's agent and the central store that
can be cut and restored, as a mobile modem drops out.

While cut, open connections are closed and new ones are closed at once after accept (the agent
sees a connection reset, as on a dead link, and keeps its samples in its write-ahead log); when
restored, connections are relayed again and the agent catches up.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading

log = logging.getLogger(__name__)
BUFFER = 65536


class Uplink:
    """Relays 127.0.0.1:<port> to `target`; `cut()` / `restore()` switch the link; start()/stop()."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._up = True
        self._stopping = threading.Event()
        self.port = 0
        self.cuts = 0
        self.bytes_up = 0  # relayed from the site to the store (what the uplink carried)

    @property
    def up(self) -> bool:
        """True while the link relays."""
        return self._up

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 and relay in a background thread."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(0.2)  # accept() wakes up to see stop(): close() alone does not wake it
        self._server, self.port = server, int(server.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, name="uplink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop relaying and close every connection."""
        self._stopping.set()
        if self._server is not None:
            self._server.close()
        self._close_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def cut(self) -> None:
        """Drop the link: close what is open and refuse what comes until restore()."""
        self._up = False
        self.cuts += 1
        self._close_all()

    def restore(self) -> None:
        """Bring the link back."""
        self._up = True

    def _close_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for pair in pairs:
            for sock in pair:
                sock.close()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self._up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError as exc:
                log.warning("uplink: the central store does not answer: %s", exc)
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._relay, args=(pair,), name="uplink-relay", daemon=True).start()

    def _relay(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        peer = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            try:
                for sock in pair:
                    selector.register(sock, selectors.EVENT_READ)
                while self._up and not self._stopping.is_set():
                    for key, _ in selector.select(timeout=0.5):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(BUFFER)
                        if not data:
                            raise ConnectionError("closed")
                        peer[source].sendall(data)
                        if source is client:
                            self.bytes_up += len(data)
            except (OSError, ValueError, ConnectionError):
                pass
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            sock.close()
