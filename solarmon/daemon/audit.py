"""The audit log: one JSON line per setting attempt (time, device, command, result), never lost.

Settings change a battery's charging: who changed what, and whether the inverter took it, must be
answerable later. Lines are appended and flushed to disk before the caller gets its reply.

The record is the daemon's own, independent of the web app: the file is mode 0640 (its group, the
web app's, may read it for the audit page, not write it), whatever the umask; a looser file is
tightened. Its folder (`var/`, shared with the web app's group) gets the sticky bit, so nobody
but the daemon can delete or replace the daemon's file in it; a folder the daemon does not own and
cannot make safe is named in a warning.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)
FILE_MODE = 0o640
FOLDER_MODE = 0o750  # for a folder the daemon creates itself


class AuditLog:
    """Appends JSON lines to ``path`` (created with its folder on first write)."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._checked = False  # the file's mode and its folder were checked

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
            if not self._checked:
                self._secure_folder()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                if not self._checked:
                    self._secure_file(handle.fileno())
                    self._checked = True
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        return entry

    def _secure_folder(self) -> None:
        """Create the folder 0750, or give a shared writable one the sticky bit (or warn)."""
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            return
        info = folder.stat()
        mode = stat.S_IMODE(info.st_mode)
        if not mode & (stat.S_IWGRP | stat.S_IWOTH) or mode & stat.S_ISVTX:
            return
        if info.st_uid == os.geteuid():
            os.chmod(folder, mode | stat.S_ISVTX)
            LOG.info("%s: sticky bit set (others who may write the folder cannot replace the audit "
                     "log)", folder)
        else:
            LOG.warning("%s is writable by others (mode %04o) and not sticky: they could replace the audit "
                        "log %s; chmod +t it or move audit_log to a folder of the daemon's own",
                        folder, mode, self.path.name)

    def _secure_file(self, fd: int) -> None:
        """Tighten an existing file made with a looser mode (group or others could write it)."""
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & ~FILE_MODE:
            os.fchmod(fd, FILE_MODE)
            LOG.info("%s: mode %04o tightened to %04o", self.path, mode, FILE_MODE)

    def entries(self) -> list[dict[str, Any]]:
        """Every entry so far (for tests and the status request)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
