"""The ground-truth log: one JSON object per line for every request, reply, fault and world change.

Tests read it to prove what a client should have accepted or rejected. Each line has ``event``
(``start``, ``exchange``, ``late_tail``, ``gone``, ``back``, ``control``), ``t`` (seconds since the
simulator started, monotonic) and ``sim_time`` (the model's clock). An ``exchange`` line is
written before the first reply byte goes out, so a client that got a reply always finds its line.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any


class TruthLog:
    """Appends JSON lines to a file (or nowhere when ``path`` is None). Thread-safe."""

    def __init__(self, path: Path | None, origin: float | None = None) -> None:
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path is not None else None
        self._lock = threading.Lock()
        self.origin = time.monotonic() if origin is None else origin

    def write(self, event: str, **fields: Any) -> None:
        """Append one event (``fields`` must be JSON-able) and flush it to disk."""
        if self._file is None:
            return
        record = {"event": event, "t": round(time.monotonic() - self.origin, 4), **fields}
        line = json.dumps(record, separators=(",", ":"), default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file; later writes are dropped."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_truth_log(path: Path) -> list[dict[str, Any]]:
    """All events of a truth log, in order (for tests and tools)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def exchanges(events: list[dict[str, Any]], command: str | None = None) -> list[dict[str, Any]]:
    """The ``exchange`` events among ``events`` (only those for ``command`` when given), in order."""
    return [
        event
        for event in events
        if event["event"] == "exchange" and (command is None or event.get("request") == command)
    ]
