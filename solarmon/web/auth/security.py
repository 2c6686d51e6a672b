"""The security layer's per-app object and the helpers every view uses: who is asking, audit, and
which role a PI30 command needs. Below the auth package's views and the web app's API (they import
this module; it imports neither), so the package has no import cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Response, jsonify, make_response, request

from solarmon.inverter.policy import CommandClass, classify
from solarmon.web.auth import guard
from solarmon.web.auth.audit import AuditLog
from solarmon.web.auth.ratelimit import LoginLimiter
from solarmon.web.auth.roles import Identity, current_identity
from solarmon.web.auth.sessions import RevokedSessions
from solarmon.web.auth.tokens import TokenStore
from solarmon.web.auth.users import UserStore
from solarmon.web.config import SecurityConfig
from solarmon.web.params import ApiError
from solarmon.web.runtime import get_context


@dataclass
class Security:
    """The security layer's per-app parts: stores, limiter, audit log, config."""

    config: SecurityConfig
    users: UserStore
    tokens: TokenStore
    limiter: LoginLimiter
    audit: AuditLog
    legacy_token_path: Path | None = None
    daemon_audit_path: Path | None = None
    sleep: Callable[[float], None] = field(default=time.sleep)
    sessions: RevokedSessions | None = None

    def legacy_token_file(self) -> Path | None:
        """The old daemon.command_token_file, still accepted as an admin token (docs/SECURITY.md)."""
        return self.legacy_token_path

    def commands_possible(self) -> bool:
        """True when someone could send a command: an operator or admin account, or such a token."""
        if self.legacy_token_path is not None:
            return True
        if any(user.role in ("operator", "admin") for user in self.users.users()):
            return True
        return any(t.active and t.role in ("operator", "admin") for t in self.tokens.tokens())

    def refuse(self, status: int, error: str, message: str,
               headers: dict[str, str] | None = None) -> Response:
        """A refusal: JSON under /api/ and /metrics, a short text page elsewhere."""
        if request.path.startswith(guard.TOKEN_PATHS):
            response = jsonify({"error": error, "message": message})
        else:
            response = make_response(f"{status}: {message}\n")
            response.mimetype = "text/plain"
        response.status_code = status
        if status == 401 and request.path.startswith(guard.TOKEN_PATHS):
            response.headers["WWW-Authenticate"] = 'Bearer realm="solarmon"'
        response.headers.update(headers or {})
        return response


def current_security() -> Security:
    """The Security of the app handling this request."""
    return get_context().parts.security


def audit_event(action: str, *, target: str = "", result: str = "ok", detail: str = "",
                identity: Identity | None = None) -> None:
    """Append an audit record for the current request (who, address, when, what, result)."""
    who = identity or current_identity()
    current_security().audit.record(action, who=who.describe(), via=who.kind, role=who.role,
                             address=request.remote_addr or "", target=target, result=result, detail=detail)


def command_role(command: str) -> str:
    """The role a PI30 command needs: operator for queries and settings, admin for the rest."""
    kind = classify(command)
    return "operator" if kind in (CommandClass.QUERY, CommandClass.SETTING) else "admin"


def authorize_command(command: str) -> None:
    """Raise ApiError 403 (and audit it) unless the caller's role may send `command`."""
    needed = command_role(command)
    identity = current_identity()
    if not identity.has_role(needed):
        audit_event("command", target=command, result="forbidden", detail=f"needs {needed}")
        raise ApiError(403, "forbidden", f"{command} needs the {needed} role; you are "
                       f"{identity.describe()} ({identity.role or 'no role'})")

