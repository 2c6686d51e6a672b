"""Fixtures of the security tests: an app with one account per role, signed-in clients, tokens.

Passwords are hashed with werkzeug's real scrypt (a login costs tens of milliseconds), so the access
table signs each role in once per module and hands every test fresh clients carrying that
session's cookie (sessions are signed cookies: one client signing out does not end another's).
Login slow-downs are recorded by a fake `sleep` instead of waiting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from solarmon.web.runtime import get_context

PASSWORDS = {"viewer": "viewer-password-1", "operator": "operator-password-2", "admin": "admin-password-3"}
SESSION_COOKIE = "solarmon_session"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (meta tag or hidden field)."""
    match = CSRF_RE.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1) or match.group(2)


def login(client: Any, name: str, password: str, *, path: str = "/login") -> Any:
    """Sign in through the real login form (GET for the CSRF token, then POST)."""
    token = csrf_of(client.get(path).get_data(as_text=True))
    return client.post(path, data={"username": name, "password": password, "csrf_token": token, "next": "/"})


@dataclass
class Secured:
    """An app with accounts `viewer`, `operator`, `admin` and one active token per role."""

    app: Any
    security: Any
    tokens: dict[str, str] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)

    def client(self, role: str | None = None) -> Any:
        """A fresh test client; signed in as `role` (through the login form) unless None."""
        client = self.app.test_client()
        if role is not None:
            response = login(client, role, PASSWORDS[role])
            assert response.status_code == 302, response.get_data(as_text=True)
        return client


def make_secured(app: Any) -> Secured:
    """Accounts and tokens for every role in `app`, and a recording sleep."""
    security = get_context(app).parts.security
    secured = Secured(app, security)
    security.sleep = secured.sleeps.append
    for role, password in PASSWORDS.items():
        security.users.add(role, password, role)
        secured.tokens[role] = security.tokens.create(f"{role}-token", role, "tests")[1]
    return secured


@pytest.fixture
def web_config_overrides() -> dict[str, dict[str, Any]]:
    """Security tests run without the old command token file (its own tests are in tests/web)."""
    return {"daemon": {"command_token_file": ""}}


@pytest.fixture
def secured(app: Any) -> Secured:
    """The test's app with an account and a token per role."""
    return make_secured(app)


@pytest.fixture
def bearer() -> Callable[[str], dict[str, str]]:
    """Headers carrying a bearer token."""
    return lambda token: {"Authorization": f"Bearer {token}"}
