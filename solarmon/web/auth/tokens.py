"""API tokens for scripts and curl: created and revoked by an admin, stored hashed, each with a role.

A token is `smt_<id>_<secret>`; the store keeps the SHA-256 of the whole string (a random 256-bit
secret needs no slow hash: nothing can be guessed from its digest), the name, the role, who made it
and when, and when it was revoked. Revoked tokens stay listed (for the audit trail) but never match.
The file is re-read when it changes on disk.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solarmon.web.auth.files import PrivateJsonFile
from solarmon.web.auth.roles import check_role

TOKEN_PREFIX = "smt_"  # noqa: S105 - a prefix, not a secret
TOKEN_RE = re.compile(r"^smt_([0-9a-f]{8})_([A-Za-z0-9_\-]{20,100})$")
TOKEN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@ \-]{0,63}$")


class TokenError(ValueError):
    """A bad token name or role, or an unknown token id."""


@dataclass(frozen=True)
class TokenInfo:
    """One stored token, without its secret."""

    token_id: str
    name: str
    role: str
    created: float
    created_by: str
    revoked: float | None
    last_used: float | None

    @property
    def active(self) -> bool:
        """False once revoked."""
        return self.revoked is None


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """The token file: create, verify, revoke, list. Thread-safe."""

    def __init__(self, path: Path) -> None:
        """Remember the file; nothing is read until first use."""
        self.path = path
        self._lock = threading.Lock()
        self._file = PrivateJsonFile(path, "tokens")
        self._used: dict[str, float] = {}  # last use, in memory: a write per request would be wasteful

    def _load(self, *, strict: bool = False) -> dict[str, dict[str, Any]]:
        """The tokens (caller holds the lock); strict before a change."""
        return self._file.load(strict=strict)

    def _save(self, tokens: dict[str, dict[str, Any]]) -> None:
        """Write the file (caller holds the lock)."""
        self._file.save(tokens)

    def create(self, name: str, role: str, created_by: str, *,
               secret: str | None = None) -> tuple[TokenInfo, str]:
        """A new token: (its info, the token string — shown once, never stored).

        `secret` imports an existing token string (the old command_token_file); it must be at
        least 16 characters.
        """
        if not TOKEN_NAME_RE.match(name or ""):
            raise TokenError(f"token name {name[:40]!r} is not allowed: "
                             "1-64 letters, digits, spaces, _ . @ -")
        check_role(role)
        with self._lock:
            tokens = dict(self._load(strict=True))
            token_id = secrets.token_hex(4)
            while token_id in tokens:
                token_id = secrets.token_hex(4)
            token = secret if secret is not None else f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            if len(token) < 16:
                raise TokenError("an imported token must have at least 16 characters")
            entry = {"name": name, "role": role, "hash": digest(token), "created": time.time(),
                     "created_by": created_by, "revoked": None}
            tokens[token_id] = entry
            self._save(tokens)
        return _info(token_id, entry, None), token

    def verify(self, token: str) -> TokenInfo | None:
        """The active token matching `token`, or None (unknown, malformed or revoked)."""
        wanted = digest(token)
        with self._lock:
            tokens = self._load()
            match = TOKEN_RE.match(token)
            # Our own tokens carry their id; imported ones are looked up by digest.
            candidates = [match.group(1)] if match and match.group(1) in tokens else list(tokens)
            for token_id in candidates:
                entry = tokens.get(token_id)
                if entry and hmac.compare_digest(str(entry.get("hash", "")), wanted):
                    if entry.get("revoked") is not None:
                        return None
                    self._used[token_id] = time.time()
                    return _info(token_id, entry, self._used.get(token_id))
        return None

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token at once (TokenError when there is no such token)."""
        with self._lock:
            tokens = dict(self._load(strict=True))
            entry = tokens.get(token_id)
            if entry is None:
                raise TokenError(f"there is no token {token_id!r}")
            if entry.get("revoked") is None:
                tokens[token_id] = entry = {**entry, "revoked": time.time()}
                self._save(tokens)
            return _info(token_id, entry, self._used.get(token_id))

    def tokens(self) -> list[TokenInfo]:
        """Every token, newest first."""
        with self._lock:
            rows = [_info(tid, entry, self._used.get(tid)) for tid, entry in self._load().items()]
        return sorted(rows, key=lambda t: t.created, reverse=True)


def _info(token_id: str, entry: dict[str, Any], last_used: float | None) -> TokenInfo:
    """A TokenInfo from one file entry."""
    return TokenInfo(token_id, str(entry.get("name", "")), str(entry.get("role", "viewer")),
                     float(entry.get("created", 0)), str(entry.get("created_by", "")),
                     entry.get("revoked"), last_used)
