"""Private files of the security layer: read JSON, write it atomically with mode 0600.

The users file, the token store and the secret key hold secrets (hashes, the session key): they are
created readable by their owner only, replaced atomically (temp file + rename, so a crash never
leaves half a file), and refused when someone made them readable by others.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from solarmon.atomicfile import PRIVATE_MODE, write_atomic
from solarmon.web.config import ConfigError

LOG = logging.getLogger(__name__)

SECRET_KEY_BYTES = 32
SERVICE_USER_ENV = "SOLARMON_WEB_USER"  # as in mosquitto/setup.sh
DEFAULT_SERVICE_USER = "solarmon-web"  # the web app's system user (manage_web.sh install)


class SecurityFileError(ConfigError):
    """A security file is unreadable, unsafe (mode) or not in the expected format.

    A configuration error: web_interface.py exits 2 with the message, systemd does not restart it.
    """


def check_private(path: Path) -> None:
    """Raise SecurityFileError when `path` is readable or writable by group or others."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecurityFileError(f"{path} is mode {mode:04o}; it holds secrets and must be readable by "
                                f"its owner only (chmod 600 {path})")


def owner_for(path: Path) -> tuple[int, int] | None:
    """Who should own a secret file written by root, or None (not root: it stays the writer's).

    `sudo web_interface.py user add` and `manage_web.sh install` run as root, but the web service
    runs as its own user and must read (and rewrite) these 0600 files: a replaced file keeps its
    owner; a new one goes to $SOLARMON_WEB_USER (default solarmon-web) when that user exists.
    """
    if os.geteuid() != 0:
        return None
    try:
        info = path.stat()
        return info.st_uid, info.st_gid
    except FileNotFoundError:
        pass
    try:
        user = pwd.getpwnam(os.environ.get(SERVICE_USER_ENV) or DEFAULT_SERVICE_USER)
    except KeyError:
        return None
    return user.pw_uid, user.pw_gid


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, mode 0600 from its first byte, owned by the service."""
    write_atomic(path, data, PRIVATE_MODE, owner=owner_for(path))


def read_json(path: Path, top_key: str) -> dict[str, Any]:
    """The mapping under `top_key` in a private JSON file ({} when the file does not exist)."""
    try:
        check_private(path)
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SecurityFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SecurityFileError(f"{path}: not valid JSON ({exc}); fix or restore it") from exc
    body = data.get(top_key) if isinstance(data, dict) else None
    if not isinstance(body, dict):
        raise SecurityFileError(f"{path}: expected {{\"{top_key}\": {{...}}}} at the top level")
    return body


def write_json(path: Path, top_key: str, body: dict[str, Any]) -> None:
    """Write `{top_key: body}` to a private JSON file atomically."""
    write_private(path, json.dumps({top_key: body}, indent=1, sort_keys=True).encode() + b"\n")


class PrivateJsonFile:
    """One private JSON file read through a cache that follows the file's changes on disk.

    `load()` re-reads when the file's mtime or size changed. When a running app finds the file
    damaged (a bad hand edit), it keeps serving the last good content and logs the error once;
    `load(strict=True)` — used before every change — raises instead, so a change is never written
    over a file someone is still repairing. The caller holds its own lock.
    """

    def __init__(self, path: Path, top_key: str,
                 validate: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Remember the file, its top-level key and an optional check of its body."""
        self.path, self.top_key, self.validate = path, top_key, validate
        self._body: dict[str, Any] = {}
        self._stamp: tuple[int, int] | None = None
        self._good = False  # the last read succeeded
        self._ever_good = False  # some read succeeded: there is content to fall back on

    def load(self, *, strict: bool = False) -> dict[str, Any]:
        """The file's body (a cached dict: copy before changing it)."""
        try:
            info = self.path.stat()
            stamp: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp is None or stamp != self._stamp or (strict and not self._good):
            try:
                body = read_json(self.path, self.top_key)
                if self.validate is not None:
                    self.validate(body)
            except SecurityFileError as exc:
                if strict or not self._ever_good:
                    raise
                if self._good or stamp != self._stamp:  # once per damaged version, not per request
                    LOG.error("%s; still using its last good content", exc)
                self._stamp, self._good = stamp, False
                return self._body
            self._body, self._stamp, self._good, self._ever_good = body, stamp, True, True
        return self._body

    def save(self, body: dict[str, Any]) -> None:
        """Write the body atomically (0600) and remember it as the file's content."""
        write_json(self.path, self.top_key, body)
        info = self.path.stat()
        self._body, self._stamp = body, (info.st_mtime_ns, info.st_size)
        self._good = self._ever_good = True


def load_or_create_secret(path: Path) -> bytes:
    """The session signing key from `path`; a new random one is written (0600) at first start."""
    try:
        check_private(path)
        key = path.read_bytes().strip()
    except FileNotFoundError:
        key = secrets.token_hex(SECRET_KEY_BYTES).encode()
        write_private(path, key + b"\n")
        return key
    if len(key) < 32:
        raise SecurityFileError(f"{path} holds fewer than 32 characters; delete it to get a new key")
    return key
