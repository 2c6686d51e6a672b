"""Login rate limiting: tries are counted when admitted, per address-and-account pair, per account
and per address; a few at once at most.

A try is counted the moment it is admitted (`admit`), under one lock, as a failure until the
password proved right (`success` takes it back): sixty tries sent at once therefore meet the same
limits as sixty sent one after another. Counts live in a sliding window of `window_s`:

- after `slow_after` failures of a pair or an address each further try waits `delay_s` before it
  is answered (a password guesser gets a few tries a second at most);
- after `max_pair` failures of one account from one address, `max_address` from one address
  (whatever the accounts), or `max_account` of one account from all addresses together (a higher
  ceiling), tries are refused with 429 until the oldest failure leaves the window. A guesser on
  one machine thus locks the account for that machine only, not for its owner elsewhere;
- at most `max_checks_account` tries of one account and `max_checks_address` from one address
  are checked at the same time; one more is refused at once (429, retry after 1 s).

A successful login clears the pair's and the account's failures (not the address's other ones:
one good account must not reset a guesser's count). `release` ends a try's check. The clock is
a parameter so tests step time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 10_000  # keys kept at most: a flood of made-up names must not eat the memory
MAX_CHECKS_ACCOUNT = 2  # password checks of one account running at once
MAX_CHECKS_ADDRESS = 4  # password checks from one address running at once


@dataclass(frozen=True)
class Ticket:
    """One admitted try: which counters it is in, and when it was counted."""

    account: str
    address: str
    at: float


@dataclass(frozen=True)
class Verdict:
    """What to do with a login try: refuse (retry after), or go ahead after waiting `delay_s`."""

    allowed: bool
    delay_s: float = 0.0
    retry_after_s: int = 0
    reason: str = ""
    ticket: Ticket | None = None


class LoginLimiter:
    """Counts login tries per pair, account and address, and checks in progress; thread-safe."""

    def __init__(self, *, slow_after: int = 3, delay_s: float = 1.0, max_pair: int = 5,
                 max_account: int = 50, max_address: int = 20, window_s: float = 900.0,
                 max_checks_account: int = MAX_CHECKS_ACCOUNT, max_checks_address: int = MAX_CHECKS_ADDRESS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Set the limits (see the module docstring); nothing is counted yet."""
        self.slow_after, self.delay_s, self.window_s = slow_after, delay_s, window_s
        self.max_pair, self.max_account, self.max_address = max_pair, max_account, max_address
        self.max_checks_account, self.max_checks_address = max_checks_account, max_checks_address
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._checking: Counter[str] = Counter()

    @staticmethod
    def _keys(account: str, address: str) -> tuple[str, str, str]:
        """The counter keys of a try: (pair, account, address)."""
        name = account.lower()
        return f"p:{address}\x00{name}", f"u:{name}", f"a:{address}"

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

    def admit(self, account: str, address: str) -> Verdict:
        """Whether a try for `account` from `address` may be checked now; if so it is counted.

        An allowed verdict carries a ticket: pass it to `success` when the password was right,
        and to `release` when the check is over (always, e.g. in a `finally`).
        """
        now = self.clock()
        pair, user, addr = self._keys(account, address)
        with self._lock:
            counts = [(self._recent(pair, now), self.max_pair, "account from this address"),
                      (self._recent(addr, now), self.max_address, "address"),
                      (self._recent(user, now), self.max_account, "account")]
            for times, limit, what in counts:
                if len(times) >= limit:
                    retry = max(1, int(times[0] + self.window_s - now + 0.999))
                    return Verdict(False, retry_after_s=retry,
                                   reason=f"too many failed logins for this {what}")
            for key, limit, what in ((user, self.max_checks_account, "account"),
                                     (addr, self.max_checks_address, "address")):
                if self._checking[key] >= limit:
                    return Verdict(False, retry_after_s=1,
                                   reason=f"other logins for this {what} are being checked")
            worst = max(len(counts[0][0]), len(counts[1][0]))
            if len(self._failures) >= MAX_TRACKED:
                self._prune(now)
            for key in (pair, user, addr):
                self._failures.setdefault(key, deque()).append(now)
                self._checking[key] += 1
        return Verdict(True, delay_s=self.delay_s if worst >= self.slow_after else 0.0,
                       ticket=Ticket(account, address, now))

    def success(self, ticket: Ticket) -> None:
        """The password was right: forget the pair's and the account's failures, and this try."""
        pair, user, addr = self._keys(ticket.account, ticket.address)
        with self._lock:
            self._failures.pop(pair, None)
            self._failures.pop(user, None)
            times = self._failures.get(addr)
            if times is not None and ticket.at in times:
                times.remove(ticket.at)
                if not times:
                    del self._failures[addr]

    def release(self, ticket: Ticket) -> None:
        """The try's check is over (right or wrong): another may start."""
        with self._lock:
            for key in self._keys(ticket.account, ticket.address):
                self._checking[key] -= 1
                if self._checking[key] <= 0:
                    del self._checking[key]

    def checking(self) -> int:
        """How many counters have checks in progress (0 when idle; for tests)."""
        with self._lock:
            return len(self._checking)

    def _prune(self, now: float) -> None:
        """Drop expired keys; if still full, the oldest keys go (caller holds the lock)."""
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) >= MAX_TRACKED:
            oldest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[oldest]
