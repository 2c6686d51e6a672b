"""Roles, the identity of a request, and the access marks views carry.

Three roles, each including the ones below it: `viewer` (reads), `operator` (queries and the
settings the daemon allows), `admin` (dangerous settings, users, tokens, the audit page). A request
is made by an `Identity`: anonymous, a signed-in user (session cookie) or an API token.

Views declare who may call them with one decorator, which the request guard
(`solarmon.web.auth.guard`) reads before the view runs, so the check also holds for endpoints
added later: `@require_role("operator")`, `@read_access` (anyone when `security.public_read` is
true, else a viewer), `@public` (the login page, static assets). A view without a mark and
without a row in the guard's table is refused and fails tests/security.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import g

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")
ROLE_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES, start=1)}
# Access levels of an endpoint, besides the roles: open to all, or open to all when public_read.
PUBLIC = "public"
READ = "read"
ACCESS_ATTRIBUTE = "_solarmon_access"
IDENTITY_KEY = "solarmon_identity"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Identity:
    """Who makes a request: `kind` anonymous | session | token; `name` the user or token name."""

    kind: str = "anonymous"
    name: str = ""
    role: str = ""
    token_id: str = ""

    @property
    def authenticated(self) -> bool:
        """True for a signed-in user or a valid API token."""
        return self.kind != "anonymous"

    def has_role(self, role: str) -> bool:
        """True when this identity's role is `role` or above (anonymous has none)."""
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]

    def describe(self) -> str:
        """`user alice`, `token backup-script`, or `anonymous` (for logs and the audit log)."""
        if self.kind == "session":
            return f"user {self.name}"
        if self.kind == "token":
            return f"token {self.name}"
        return "anonymous"


ANONYMOUS = Identity()


def check_role(role: str) -> str:
    """`role` if it is one of ROLES, else ValueError naming the allowed ones."""
    if role not in ROLE_RANK:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def current_identity() -> Identity:
    """The identity of the request being handled (anonymous before the guard ran)."""
    return g.get(IDENTITY_KEY, ANONYMOUS)


def _mark(level: str) -> Callable[[F], F]:
    """A decorator that records `level` on a view function for the guard."""

    def decorate(view: F) -> F:
        setattr(view, ACCESS_ATTRIBUTE, level)
        return view

    return decorate


def require_role(role: str) -> Callable[[F], F]:
    """Decorator: only `role` or above may call the view (401 anonymous, 403 too low a role).

    Put it under the route decorator, e.g. `@bp.post("/alerts/<id>/ack")` then
    `@require_role("operator")`. Page views redirect an anonymous browser to the login page.
    """
    return _mark(check_role(role))


def read_access(view: F) -> F:
    """Decorator: a read-only view — everyone when security.public_read is true, else a viewer."""
    return _mark(READ)(view)


def public(view: F) -> F:
    """Decorator: always open (the login page); use sparingly."""
    return _mark(PUBLIC)(view)
