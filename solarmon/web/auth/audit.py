"""The web app's audit log: one JSON line per login, logout, command, user or token change.

`{"ts", "time", "who", "via" (session|token|anonymous), "role", "address", "action", "target",
"result", "detail"}`. Appended under a lock with one write per line (O_APPEND), so lines never mix;
read back newest first for the admin's audit page, skipping a damaged line instead of failing.

Nobody can flood it (issue 14, point 13):
- every field is cut to `MAX_FIELD_CHARS` (`detail` to `MAX_DETAIL_CHARS`), so a 30 kB URL
  costs a 200-character target;
- refusals (failed or refused logins, denied requests, forbidden commands) are budgeted per client
  address: `REFUSAL_BURST` at once, then one per `60 / REFUSAL_PER_MINUTE` s; the ones over budget
  are counted and the next refusal written from that address says how many were left out;
- the file is rotated by size: past `max_bytes` it becomes `<name>.1` (`.1` becomes `.2`, ...),
  and `keep` old files are kept. `read()` looks through them all, newest first.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from solarmon.web.auth.files import owner_for

LOG = logging.getLogger(__name__)
MAX_FIELD_CHARS = 200
MAX_DETAIL_CHARS = 500
MAX_BYTES = 5 << 20  # a file grows to 5 MiB, then it is rotated
KEEP = 5  # rotated files kept: web-audit.jsonl.1 .. .5
REFUSAL_BURST = 30  # refusals from one address written at once...
REFUSAL_PER_MINUTE = 10.0  # ...then this many a minute
MAX_ADDRESSES = 10_000  # addresses whose refusal budget is tracked
REFUSAL_RESULTS = frozenset({"failed", "rate_limited", "forbidden"})


def is_refusal(action: str, result: str) -> bool:
    """True for records of something refused (these are budgeted per address)."""
    return action == "denied" or result in REFUSAL_RESULTS


def _cut(value: Any, limit: int) -> str:
    """`value` as text of at most `limit` characters (an ellipsis marks a cut)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RefusalBudget:
    """A token bucket per address: how many refusals may still be written; thread-unsafe (the
    audit log's lock guards it)."""

    def __init__(self, burst: int = REFUSAL_BURST, per_minute: float = REFUSAL_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Full buckets for everyone to start with."""
        self.burst, self.rate_s, self.clock = burst, per_minute / 60.0, clock
        self._buckets: dict[str, tuple[float, float, int]] = {}  # address -> (tokens, at, suppressed)

    def take(self, address: str) -> tuple[bool, int]:
        """(write it?, how many were left out before it) for one refusal from `address`."""
        now = self.clock()
        tokens, at, suppressed = self._buckets.get(address, (float(self.burst), now, 0))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate_s)
        if tokens < 1.0:
            if len(self._buckets) >= MAX_ADDRESSES and address not in self._buckets:
                self._forget(now)
            self._buckets[address] = (tokens, now, suppressed + 1)
            return False, 0
        if len(self._buckets) >= MAX_ADDRESSES and address not in self._buckets:
            self._forget(now)
        self._buckets[address] = (tokens - 1.0, now, 0)
        return True, suppressed

    def _forget(self, now: float) -> None:
        """Drop full buckets (nothing to remember); if still too many, the oldest go."""
        full = [a for a, (tokens, at, _) in self._buckets.items()
                if tokens + (now - at) * self.rate_s >= self.burst]
        for address in full:
            del self._buckets[address]
        while len(self._buckets) >= MAX_ADDRESSES:
            del self._buckets[min(self._buckets, key=lambda a: self._buckets[a][1])]


class AuditLog:
    """Appends audit records to a JSON-lines file, rotates it, and reads the newest back."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES, keep: int = KEEP,
                 budget: RefusalBudget | None = None) -> None:
        """Remember the file; it is created (0600) on the first record."""
        self.path = path
        self.max_bytes, self.keep = max_bytes, keep
        self.budget = budget or RefusalBudget()
        self.suppressed_total = 0  # refusals left out by the budget
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        """The log and its rotated files, newest first (only those that exist)."""
        names = [self.path] + [self.path.with_name(f"{self.path.name}.{n}") for n in range(1, self.keep + 1)]
        return [p for p in names if p.exists()]

    def record(self, action: str, *, who: str, via: str, role: str = "", address: str = "",
               target: str = "", result: str = "ok", detail: str = "") -> dict[str, Any] | None:
        """Append one record; None when it was a refusal over its address's budget.

        A failure to write is logged, never raised (the action happened).
        """
        now = time.time()
        entry = {"ts": round(now, 3), "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
                 "who": _cut(who, MAX_FIELD_CHARS), "via": _cut(via, MAX_FIELD_CHARS),
                 "role": _cut(role, MAX_FIELD_CHARS), "address": _cut(address, MAX_FIELD_CHARS),
                 "action": _cut(action, MAX_FIELD_CHARS), "target": _cut(target, MAX_FIELD_CHARS),
                 "result": _cut(result, MAX_FIELD_CHARS), "detail": _cut(detail, MAX_DETAIL_CHARS)}
        with self._lock:
            if is_refusal(action, result):
                write, left_out = self.budget.take(address)
                if not write:
                    self.suppressed_total += 1
                    if self.suppressed_total % 1000 == 1:
                        LOG.warning("audit log: refusals from %s over budget are counted, not written "
                                    "(%d so far)", entry["address"], self.suppressed_total)
                    return None
                if left_out:
                    entry["detail"] = _cut(f"{left_out} similar refusals from this address not logged; "
                                           f"{entry['detail']}", MAX_DETAIL_CHARS)
            line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
            try:
                self._append(line)
            except OSError as exc:
                LOG.error("cannot write the audit log %s: %s (record: %s)", self.path, exc,
                          line.decode().strip())
        return entry

    def _append(self, line: bytes) -> None:
        """Write one line, rotating first when it would pass max_bytes (caller holds the lock)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size and size + len(line) > self.max_bytes:
            self._rotate()
        owner = owner_for(self.path)  # a log root creates must stay writable for the service
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if owner is not None:
                os.fchown(fd, *owner)
            os.write(fd, line)
        finally:
            os.close(fd)

    def _rotate(self) -> None:
        """<log>.{keep-1} -> .{keep}, ..., <log> -> <log>.1 (the oldest beyond `keep` is dropped)."""
        def rotated(n: int) -> Path:
            return self.path.with_name(f"{self.path.name}.{n}")

        rotated(self.keep).unlink(missing_ok=True)
        for n in range(self.keep - 1, 0, -1):
            if rotated(n).exists():
                os.replace(rotated(n), rotated(n + 1))
        if self.keep > 0:
            os.replace(self.path, rotated(1))
        else:
            self.path.unlink()
        LOG.info("audit log %s rotated (%d old files kept)", self.path, self.keep)

    def read(self, limit: int = 200, action: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` records (newest first), optionally of one action only, from the log
        and then its rotated files."""
        found: list[dict[str, Any]] = []
        for path in self.files():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # rotated away while we looked
                continue
            newest: deque[dict[str, Any]] = deque(maxlen=limit - len(found))
            for line in raw.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and (action is None or entry.get("action") == action):
                    newest.append(entry)
            found.extend(reversed(newest))
            if len(found) >= limit:
                break
        return found
