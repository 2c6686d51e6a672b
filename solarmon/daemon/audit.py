"""The audit log: one JSON line per setting attempt (time, device, command, result), never lost.

Settings change a battery's charging: who changed what, and whether the inverter took it, must be
answerable later. Lines are appended and flushed to disk before the caller gets its reply.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class AuditLog:
    """Appends JSON lines to ``path`` (created with its folder on first write)."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.wall_clock = wall_clock
        self._lock = threading.Lock()

    def record(self, *, device: str, command: str, result: str, message: str = "",
               confirm: bool = False, verified: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write one entry and return it. ``result`` is "ok" or the error kind (nak, timeout, ...)."""
        now = self.wall_clock()
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
            "device": device, "command": command, "confirm": confirm, "result": result,
        }
        if message:
            entry["message"] = message
        if verified is not None:
            entry["verified"] = verified
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every entry so far (for tests and the status request)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
