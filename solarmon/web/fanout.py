"""The fan-out of live-state events to live-stream subscribers (dashboards, the alert service).

Each subscriber has its own bounded queue: a slow one loses its oldest events, it never blocks the
writer (`LiveState.apply`), which offers every event under its lock so all subscribers see them
in one order.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Any, Protocol

SUBSCRIBER_QUEUE_SIZE = 256


class _Owner(Protocol):
    """What a subscription needs from the state that made it."""

    def _unsubscribe(self, sub: Subscription) -> None: ...


@dataclass(frozen=True)
class Event:
    """One event for live-stream subscribers. `kind` is "sample" or "health"; `seq` increases."""

    seq: int
    kind: str
    source: str
    ts: float
    data: dict[str, Any]


class TooManySubscribersError(RuntimeError):
    """Raised by `LiveState.subscribe` when the configured number of subscribers is reached."""


class Subscription:
    """A live-stream subscriber's bounded queue. Iterate with `get(timeout)`; `close()` when done."""

    def __init__(self, owner: _Owner, maxsize: int) -> None:
        self._owner = owner
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=maxsize)
        self._dropped = 0
        self._closed = False

    @property
    def dropped(self) -> int:
        """How many events this subscriber lost because it read too slowly."""
        return self._dropped

    @property
    def closed(self) -> bool:
        """True after `close()`."""
        return self._closed

    def offer(self, event: Event) -> None:
        """Queue `event` without blocking; drop the oldest queued event when full."""
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._dropped += 1
                except queue.Empty:
                    continue

    def get(self, timeout: float | None = None) -> Event | None:
        """Return the next event, or None after `timeout` seconds without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Unsubscribe; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._owner._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
