"""Signed-out sessions, remembered on the server so a copied cookie stops working at sign-out.

Sessions live in signed cookies; each login gets a random session id (`sid`) in its cookie.
Signing out puts the id here until the login would have expired anyway (`auth_at` +
`session_hours`), in a private JSON file (`security.revoked_sessions_file`, mode 0600:
`{"revoked": {"<sid>": <expires unix time>}}`), so a restart does not bring it back. The guard
refuses a cookie whose id is listed, or that has no id (made before this check existed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from solarmon.web.auth.files import PrivateJsonFile, SecurityFileError

MAX_REVOKED = 10_000  # signed-out sessions remembered at once (expired ones are dropped first)


class RevokedSessions:
    """The ids of signed-out sessions that have not expired yet; thread-safe."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        """Remember the file; nothing is read until first use."""
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._file = PrivateJsonFile(path, "revoked", self._check)

    def _check(self, body: dict[str, Any]) -> None:
        """Every entry is an id with an expiry time."""
        for sid, expires in body.items():
            if not isinstance(expires, int | float):
                raise SecurityFileError(f"{self.path}: the entry of session {sid[:12]!r} is damaged")

    def is_revoked(self, sid: str) -> bool:
        """True when the session `sid` was signed out (and would not have expired yet)."""
        with self._lock:
            return sid in self._file.load()

    def revoke(self, sid: str, expires: float) -> bool:
        """Remember `sid` as signed out until `expires`; False when the list is full (then the
        caller ends the user's sessions another way)."""
        now = self.clock()
        with self._lock:
            body = {s: e for s, e in self._file.load(strict=True).items() if e > now}
            if len(body) >= MAX_REVOKED:
                return False
            body[sid] = round(expires, 3)
            self._file.save(body)
        return True
