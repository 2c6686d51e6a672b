"""GET /api/stream: Server-Sent Events pushing each new sample as the reader applies it.

Each open stream holds one waitress thread for as long as the dashboard stays open, so streams are
bounded (`server.max_streams`, validated below `server.threads`): one more gets an immediate 503
JSON refusal with Retry-After — never a hang — and the JSON API keeps its threads. An idle stream
sends a keep-alive comment every `server.keepalive_s`, which is also how a closed browser tab is
noticed (the write fails and waitress closes the generator). `Runtime.stop()` ends every stream.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response

from solarmon.web.api import ApiError, need
from solarmon.web.runtime import WebContext, get_context

bp = Blueprint("stream", __name__, url_prefix="/api")

RETRY_MS = 5000  # how long a browser's EventSource waits before reconnecting
POLL_S = 0.5  # how often a waiting stream checks for shutdown


class StreamLimiter:
    """Counts open streams and refuses one more than `limit` (thread-safe)."""

    def __init__(self, limit: int) -> None:
        """A limiter allowing `limit` streams at once."""
        self.limit = limit
        self._lock = threading.Lock()
        self._open = 0
        self._refused = 0
        self._served = 0

    def acquire(self) -> bool:
        """Take a slot; False (and counted as refused) when all are taken."""
        with self._lock:
            if self._open >= self.limit:
                self._refused += 1
                return False
            self._open += 1
            self._served += 1
            return True

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self._open = max(0, self._open - 1)

    def describe(self) -> dict[str, int]:
        """Open, maximum, refused and served streams (for /api/status and /metrics)."""
        with self._lock:
            return {"open": self._open, "max": self.limit, "refused": self._refused, "served": self._served}


def init_app(app: Flask, ctx: WebContext) -> None:
    """Register the blueprint and the per-app stream limiter."""
    ctx.parts.streams = StreamLimiter(ctx.config.server.max_streams)
    app.register_blueprint(bp)


def format_event(kind: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One SSE message; JSON never contains a raw newline, so `data:` is a single line."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@bp.get("/stream")
def stream() -> Response:
    """Open a live stream: the current snapshot of every source, then each new sample."""
    from solarmon.web.state import TooManySubscribersError

    ctx = get_context()
    state = need(ctx, "state")
    limiter: StreamLimiter = ctx.parts.streams
    if not limiter.acquire():
        raise ApiError(503, "too_many_streams",
                       f"{limiter.limit} live streams are open already; close a dashboard or retry later",
                       headers={"Retry-After": str(RETRY_MS // 1000)})
    try:
        subscription = state.subscribe()
    except TooManySubscribersError as exc:
        limiter.release()
        raise ApiError(503, "too_many_streams", str(exc),
                       headers={"Retry-After": str(RETRY_MS // 1000)}) from exc
    released = threading.Event()

    def cleanup() -> None:
        # Called by the generator's end and by the response's close, whichever comes first.
        if not released.is_set():
            released.set()
            subscription.close()
            limiter.release()

    keepalive_s = ctx.config.server.keepalive_s

    def generate() -> Iterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n\n"
            for snap in state.snapshots().values():
                yield format_event("snapshot", snap.to_json())
            last_write = time.monotonic()
            while not ctx.stopping.is_set():
                event = subscription.get(timeout=min(POLL_S, keepalive_s))
                now = time.monotonic()
                if event is None:
                    if now - last_write >= keepalive_s:
                        yield ": keep-alive\n\n"
                        last_write = now
                    continue
                yield format_event(event.kind, {"source": event.source, "ts": event.ts, **event.data},
                                   event.seq)
                last_write = now
        finally:
            cleanup()

    response = Response(generate(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(cleanup)
    return response
