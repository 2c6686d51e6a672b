"""Login rate limiting: failed logins per account and per address are slowed, then refused.

Failures are counted in a sliding window. After `slow_after` failures of an account or an address,
each further try waits `delay_s` before it is answered (a password guesser gets a few tries a
second at most); after `max_account` failures of an account, or `max_address` from one address,
tries are refused with 429 until the oldest failure leaves the window. A successful login clears
the account's failures (not the address's: one good account must not reset a guesser's count).
The clock is a parameter so tests step time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 10_000  # keys kept at most: a flood of made-up names must not eat the memory


@dataclass(frozen=True)
class Verdict:
    """What to do with a login try: refuse (retry after), or allow after waiting `delay_s`."""

    allowed: bool
    delay_s: float = 0.0
    retry_after_s: int = 0
    reason: str = ""


class LoginLimiter:
    """Counts failed logins per account and per address; thread-safe."""

    def __init__(self, *, slow_after: int = 3, delay_s: float = 1.0, max_account: int = 5,
                 max_address: int = 20, window_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Set the limits (see the module docstring); nothing is counted yet."""
        self.slow_after, self.delay_s = slow_after, delay_s
        self.max_account, self.max_address, self.window_s = max_account, max_address, window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        """The failures of `key` still in the window (caller holds the lock)."""
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, account: str, address: str) -> Verdict:
        """Whether a login try for `account` from `address` may go ahead now, and how slowly."""
        now = self.clock()
        with self._lock:
            by_account = self._recent(f"u:{account.lower()}", now)
            by_address = self._recent(f"a:{address}", now)
            for times, limit, what in ((by_account, self.max_account, "account"),
                                       (by_address, self.max_address, "address")):
                if len(times) >= limit:
                    retry = max(1, int(times[0] + self.window_s - now + 0.999))
                    return Verdict(False, retry_after_s=retry,
                                   reason=f"too many failed logins for this {what}")
            worst = max(len(by_account), len(by_address))
        return Verdict(True, delay_s=self.delay_s if worst >= self.slow_after else 0.0)

    def failure(self, account: str, address: str) -> None:
        """Count one failed login of `account` from `address`."""
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._prune(now)
            for key in (f"u:{account.lower()}", f"a:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def success(self, account: str) -> None:
        """A good password: forget the account's failures."""
        with self._lock:
            self._failures.pop(f"u:{account.lower()}", None)

    def _prune(self, now: float) -> None:
        """Drop expired keys; if still full, the oldest keys go (caller holds the lock)."""
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) >= MAX_TRACKED:
            oldest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[oldest]
