"""The users file: accounts with werkzeug password hashes and a role, in one private JSON file.

`{"users": {"alice": {"hash": "scrypt:...", "role": "admin", "created": ts, "changed": ts,
"generation": "<random>"}}}`. The file is re-read when it changes on disk, so `web_interface.py
user ...` takes effect in a running web app without a restart. `generation` changes with every
password or role change: sessions carry it, so changing a password signs the user out everywhere.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from solarmon.web.auth.files import PrivateJsonFile, SecurityFileError
from solarmon.web.auth.roles import check_role

USER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
# Refused as passwords (compared case-insensitively): the ones guessers try first, and this
# system's own words. A short list on purpose: length and these catch the careless choices.
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password123", "passw0rd", "p@ssw0rd", "12345678", "123456789",
    "1234567890", "87654321", "11111111", "00000000", "qwertyuiop", "qwerty123", "qwertz123",
    "azertyuiop", "asdfghjkl", "1q2w3e4r", "1qaz2wsx", "abcd1234", "abc12345", "iloveyou",
    "letmein1", "sunshine", "princess", "football", "baseball", "welcome1", "trustno1", "superman",
    "changeme", "changeit", "default1", "administrator", "admin123", "adminadmin", "rootroot",
    "raspberry", "raspberrypi", "solarmon", "solarmon1", "inverter", "voltronic", "mppsolar",
    "mpp-solar", "axpert123", "solarpower", "homeassistant", "mosquitto", "secret123",
})
# Checked against when a name is unknown, so a wrong name costs as long as a wrong password and
# does not tell an attacker which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-password-at-all")


@dataclass(frozen=True)
class User:
    """One account as the app sees it (never the hash)."""

    name: str
    role: str
    generation: str
    created: float
    changed: float


class UserError(ValueError):
    """A bad user name, password or role, or a user that does (not) exist; the message says which."""


def check_name(name: str) -> str:
    """A valid user name or UserError."""
    if not USER_NAME_RE.match(name or ""):
        raise UserError(f"user name {name[:40]!r} is not allowed: 1-64 letters, digits, _ . @ -, "
                        "starting with a letter or digit")
    return name


def check_password(password: str, name: str = "") -> str:
    """A password long enough, not absurdly long, not a guessable one, or UserError saying why.

    Guessable: only spaces, one of the passwords every guesser tries first (COMMON_PASSWORDS,
    whatever the case), or the user's own name (also backwards).
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise UserError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    if not password.strip():
        raise UserError("the password must not be only spaces")
    folded = password.strip().casefold()
    if folded in COMMON_PASSWORDS or len(set(folded)) == 1:
        raise UserError("that password is among the first any guesser tries; choose another")
    if name and folded in (name.casefold(), name.casefold()[::-1]):
        raise UserError("the password must not be the user name")
    return password


class UserStore:
    """Reads and changes the users file; thread-safe; re-reads the file when it changed on disk."""

    def __init__(self, path: Path) -> None:
        """Remember the file; nothing is read until first use."""
        self.path = path
        self._lock = threading.Lock()
        self._file = PrivateJsonFile(path, "users", self._check)

    def _check(self, users: dict[str, Any]) -> None:
        """Every entry has a hash and a known role (SecurityFileError naming the user otherwise)."""
        for name, entry in users.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str) \
                    or entry.get("role") not in ("viewer", "operator", "admin"):
                raise SecurityFileError(f"{self.path}: the entry of user {name!r} is damaged")

    def _load(self, *, strict: bool = False) -> dict[str, dict[str, Any]]:
        """The users (caller holds the lock); strict before a change."""
        return self._file.load(strict=strict)

    def _save(self, users: dict[str, dict[str, Any]]) -> None:
        """Write the users file (caller holds the lock)."""
        self._file.save(users)

    def users(self) -> list[User]:
        """Every account, sorted by name."""
        with self._lock:
            return [_user(name, entry) for name, entry in sorted(self._load().items())]

    def get(self, name: str) -> User | None:
        """The account called `name`, or None."""
        with self._lock:
            entry = self._load().get(name)
            return None if entry is None else _user(name, entry)

    def count(self) -> int:
        """How many accounts exist (0: the first admin still has to be created)."""
        with self._lock:
            return len(self._load())

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when `password` is theirs, else None (same cost for unknown names)."""
        with self._lock:
            entry = self._load().get(name)
        if entry is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(entry["hash"], password):
            return None
        return _user(name, entry)

    def add(self, name: str, password: str, role: str) -> User:
        """Create an account (UserError when the name is taken or a value is bad)."""
        check_name(name)
        check_password(password, name)
        check_role(role)
        now = time.time()
        entry = {"hash": generate_password_hash(password), "role": role, "created": now, "changed": now,
                 "generation": secrets.token_hex(8)}
        with self._lock:
            users = dict(self._load(strict=True))
            if name in users:
                raise UserError(f"user {name!r} exists already (use passwd to change the password)")
            users[name] = entry
            self._save(users)
        return _user(name, entry)

    def remove(self, name: str) -> None:
        """Delete an account (UserError when there is none)."""
        with self._lock:
            users = dict(self._load(strict=True))
            if users.pop(name, None) is None:
                raise UserError(f"there is no user {name!r}")
            self._save(users)

    def change(self, name: str, *, password: str | None = None, role: str | None = None) -> User:
        """Set a new password and/or role; the user's existing sessions end."""
        if password is not None:
            check_password(password, name)
        if role is not None:
            check_role(role)
        with self._lock:
            users = dict(self._load(strict=True))
            if name not in users:
                raise UserError(f"there is no user {name!r}")
            entry = dict(users[name])
            if password is not None:
                entry["hash"] = generate_password_hash(password)
            if role is not None:
                entry["role"] = role
            entry["changed"], entry["generation"] = time.time(), secrets.token_hex(8)
            users[name] = entry
            self._save(users)
        return _user(name, entry)


def _user(name: str, entry: dict[str, Any]) -> User:
    """A User from one file entry."""
    return User(name, entry["role"], str(entry.get("generation", "")), float(entry.get("created", 0)),
                float(entry.get("changed", 0)))
