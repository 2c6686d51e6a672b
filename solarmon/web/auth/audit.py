"""The web app's audit log: one JSON line per login, logout, command, user or token change.

`{"ts", "time", "who", "via" (session|token|anonymous), "role", "address", "action", "target",
"result", "detail"}`. Appended under a lock with one write per line (O_APPEND), so lines never mix;
read back newest first for the admin's audit page, skipping a damaged line instead of failing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from solarmon.web.auth.files import owner_for

LOG = logging.getLogger(__name__)
MAX_READ_BYTES = 8 << 20  # the audit page reads at most the last 8 MiB of the log


class AuditLog:
    """Appends audit records to a JSON-lines file and reads the newest back."""

    def __init__(self, path: Path) -> None:
        """Remember the file; it is created (0600) on the first record."""
        self.path = path
        self._lock = threading.Lock()

    def record(self, action: str, *, who: str, via: str, role: str = "", address: str = "",
               target: str = "", result: str = "ok", detail: str = "") -> dict[str, Any]:
        """Append one record; a failure to write is logged, never raised (the action happened)."""
        now = time.time()
        entry = {"ts": round(now, 3), "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
                 "who": who, "via": via, "role": role, "address": address, "action": action,
                 "target": target, "result": result, "detail": detail[:500]}
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                owner = owner_for(self.path)  # a log root creates must stay writable for the service
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                if owner is not None:
                    os.fchown(fd, *owner)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
            except OSError as exc:
                LOG.error("cannot write the audit log %s: %s (record: %s)", self.path, exc,
                          line.decode().strip())
        return entry

    def read(self, limit: int = 200, action: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` records (newest first), optionally of one action only."""
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - MAX_READ_BYTES))
                raw = handle.read()
        except FileNotFoundError:
            return []
        if len(raw) >= MAX_READ_BYTES:
            raw = raw.split(b"\n", 1)[-1]  # the first line was cut by the seek
        found: deque[dict[str, Any]] = deque(maxlen=limit)
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and (action is None or entry.get("action") == action):
                found.append(entry)
        return list(reversed(found))
