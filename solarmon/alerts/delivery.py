"""Delivery: one worker thread per channel, so a dead or slow channel never holds up the others nor
the evaluation.

`submit()` only appends to the channel's queue and returns. The worker sends in order; a failed
message is retried after a backoff (`retry_initial_s`, doubling up to `retry_max_s`) and stays at
the head of the queue, so a `cleared` never overtakes its `fired`. After `max_attempts` it is
given up and logged. A full queue drops its oldest message (counted). Every outcome is reported to
`on_result` (the store's delivery log).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from solarmon.alerts.channels import Channel, DeliveryError
from solarmon.alerts.notify import Notification

LOG = logging.getLogger(__name__)
QUEUE_SIZE = 1000
STOP_TIMEOUT_S = 5.0

ResultCallback = Callable[[Notification, str, bool, int, str | None], None]


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts of one message, and when to give it up."""

    initial_s: float = 5.0
    max_s: float = 300.0
    max_attempts: int = 10

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failure (1-based)."""
        return min(self.max_s, self.initial_s * 2 ** (attempt - 1))


@dataclass
class ChannelStats:
    """Counters of one channel, for /api/status and /api/alerts."""

    delivered: int = 0
    failed: int = 0  # messages given up
    retries: int = 0
    dropped: int = 0
    queued: int = 0
    last_error: str | None = None
    last_error_ts: float | None = None
    last_ok_ts: float | None = None
    ok: bool = True  # False from a failed attempt until the next success


class ChannelWorker:
    """Sends one channel's messages in order on its own thread, retrying with backoff."""

    def __init__(self, channel: Channel, *, retry: RetryPolicy | None = None,
                 on_result: ResultCallback | None = None, queue_size: int = QUEUE_SIZE,
                 clock: Callable[[], float] = time.time) -> None:
        """Build cold: `start()` starts the thread."""
        self.channel = channel
        self.retry = retry or RetryPolicy()
        self._on_result = on_result
        self._queue: collections.deque[Notification] = collections.deque()
        self._queue_size = queue_size
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._clock = clock
        self._stats = ChannelStats()

    @property
    def name(self) -> str:
        """The channel's name."""
        return self.channel.name

    def start(self) -> None:
        """Start the worker thread (and the channel, if it has a start())."""
        start = getattr(self.channel, "start", None)
        if callable(start):
            start()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"alerts-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop after the current attempt; what is still queued is logged and dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._queue:
            LOG.warning("alerts: %d message(s) for %s not delivered before stopping", len(self._queue),
                        self.name)
        stop = getattr(self.channel, "stop", None)
        if callable(stop):
            stop()

    def submit(self, notification: Notification) -> None:
        """Queue one message; never blocks (a full queue loses its oldest message)."""
        with self._cond:
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self._stats.dropped += 1
            self._queue.append(notification)
            self._cond.notify_all()

    def stats(self) -> dict[str, Any]:
        """A JSON-able copy of the counters."""
        with self._cond:
            out = asdict(self._stats)
            out["queued"] = len(self._queue)
        return out

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until the queue is empty (tests, a clean stop); False after the timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _run(self) -> None:
        attempts = 0
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                message = self._queue[0]
            attempts += 1
            error = self._attempt(message)
            if error is None or attempts >= self.retry.max_attempts:
                self._finish(message, error, attempts)
                attempts = 0
                continue
            delay = self.retry.delay(attempts)
            LOG.info("alerts: %s failed (%s); attempt %d of %d in %.0f s", self.name, error, attempts + 1,
                     self.retry.max_attempts, delay)
            with self._cond:
                self._stats.retries += 1
                # Sleep on the condition so stop() ends the wait at once.
                self._cond.wait_for(lambda: self._stopping, timeout=delay)

    def _attempt(self, message: Notification) -> str | None:
        try:
            self.channel.send(message)
        except DeliveryError as exc:
            error = str(exc) or type(exc).__name__
        except Exception as exc:  # a channel bug is a failed delivery, never a dead worker
            LOG.exception("alerts: channel %s raised", self.name)
            error = f"{type(exc).__name__}: {exc}"
        else:
            with self._cond:
                was_ok = self._stats.ok
                self._stats.ok, self._stats.last_ok_ts = True, self._clock()
            if not was_ok:
                LOG.info("alerts: channel %s works again", self.name)
            return None
        with self._cond:
            if self._stats.ok:
                LOG.warning("alerts: channel %s failing: %s", self.name, error)
            self._stats.ok, self._stats.last_error, self._stats.last_error_ts = False, error, self._clock()
        return error

    def _finish(self, message: Notification, error: str | None, attempts: int) -> None:
        with self._cond:
            if self._queue and self._queue[0] is message:
                self._queue.popleft()
            if error is None:
                self._stats.delivered += 1
            else:
                self._stats.failed += 1
            self._cond.notify_all()
        if error is not None:
            LOG.error("alerts: gave up %s for %s/%s after %d attempts: %s", message.kind, message.rule,
                      message.source, attempts, error)
        if self._on_result is not None:
            try:
                self._on_result(message, self.name, error is None, attempts, error)
            except Exception:  # the delivery log is a record, not a reason to stop delivering
                LOG.exception("alerts: recording a delivery failed")


class Delivery:
    """Every channel's worker, and the routing of a rule's channel names to them."""

    def __init__(self, workers: Iterable[ChannelWorker],
                 groups: Mapping[str, list[str]] | None = None) -> None:
        """`groups` maps a name used in rules (`apprise`) to channel names (`apprise:phone`, ...)."""
        self.workers = {w.name: w for w in workers}
        self.groups = {name: list(members) for name, members in (groups or {}).items()}

    def names(self) -> list[str]:
        """Every name a rule may use: each channel and each group."""
        return [*self.workers, *[g for g in self.groups if g not in self.workers]]

    def resolve(self, channels: Iterable[str] | None) -> list[str]:
        """The channel names a rule's list means (None: all); unknown names raise KeyError."""
        if channels is None:
            return list(self.workers)
        out: list[str] = []
        for name in channels:
            members = self.groups.get(name, [name] if name in self.workers else None)
            if members is None:
                raise KeyError(name)
            out += [m for m in members if m not in out]
        return out

    def send(self, notification: Notification, channels: Iterable[str] | None) -> None:
        """Queue a message on each of the rule's channels (never blocks)."""
        for name in self.resolve(channels):
            self.workers[name].submit(notification)

    def start(self) -> None:
        """Start every worker; one that fails to start is logged, the others still run."""
        for worker in self.workers.values():
            try:
                worker.start()
            except Exception:
                LOG.exception("alerts: channel %s failed to start", worker.name)

    def stop(self) -> None:
        """Stop every worker."""
        for worker in self.workers.values():
            worker.stop()

    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters per channel."""
        return {name: worker.stats() for name, worker in self.workers.items()}

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until every queue is empty (tests)."""
        deadline = time.monotonic() + timeout_s
        return all(w.wait_idle(max(0.0, deadline - time.monotonic())) for w in self.workers.values())
