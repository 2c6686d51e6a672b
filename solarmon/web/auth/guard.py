"""The request guard: who is asking (bearer token, session cookie, or nobody), may they, and CSRF.

Runs before every view (`Security.before_request`): it identifies the request, looks up the
endpoint's access level — the view's mark (`require_role`, `read_access`, `public` in roles.py),
else a row of `ENDPOINT_ACCESS` — and refuses with 401 (not signed in; pages redirect to the login
page) or 403 (role too low). State-changing requests from a browser (any method but GET/HEAD/
OPTIONS without a bearer token) must carry the session's CSRF token in the `X-CSRF-Token` header
or a `csrf_token` form field. An endpoint with no access level at all is refused and logged: a new
endpoint must say who may call it (tests/security walks the url_map to make sure).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, g, redirect, request, session

from solarmon.web.auth.roles import ACCESS_ATTRIBUTE, ANONYMOUS, IDENTITY_KEY, PUBLIC, READ, Identity
from solarmon.web.control import check_bearer

LOG = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
TOKEN_PATHS = ("/api/", "/metrics")  # bearer tokens count here; pages and forms use the session
LEGACY_TOKEN_NAME = "command_token_file"  # noqa: S105 - a name, not a secret

_READ_ENDPOINTS = ("api.data", "api.historical", "api.export_csv", "api.refresh", "api.energy", "api.status",
                   "api.house", "api.weather", "stream.stream", "metrics.metrics", "openapi.openapi_json")
_PAGE_NAMES = ("dashboard", "charts", "battery", "house")
_OPERATOR_PAGES = ("settings",)  # the settings page sends commands: operators and admins
# Endpoints of parts that predate the access marks. Everything else marks its views.
ENDPOINT_ACCESS: dict[str, str] = {
    **{name: READ for name in _READ_ENDPOINTS},
    "api.command": "operator",  # and admin for dangerous commands: solarmon.web.auth.authorize_command
    **{f"pages.{name}{suffix}": READ for name in _PAGE_NAMES for suffix in ("", "_lcars")},
    **{f"pages.{name}{suffix}": "operator" for name in _OPERATOR_PAGES for suffix in ("", "_lcars")},
    "pages.static": PUBLIC,  # CSS, JS and fonts: the login page needs them before anyone signs in
    "pages.vendor": PUBLIC,
    "pages.manifest": PUBLIC,  # the web app manifest: read before anyone signs in
}


def access_level(endpoint: str | None) -> str | None:
    """The access level of an endpoint: public, read, viewer, operator, admin, or None (no rule)."""
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    mark = getattr(view, ACCESS_ATTRIBUTE, None)
    return mark if mark is not None else ENDPOINT_ACCESS.get(endpoint)


def csrf_token() -> str:
    """This browser session's CSRF token (created on first use); pages put it in a meta tag."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def identify(security: Any) -> Identity | Response:
    """The request's Identity, or a 401 response for a bearer token that is wrong or revoked."""
    header = request.headers.get("Authorization")
    if header and request.path.startswith(TOKEN_PATHS):
        scheme, _, given = header.partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given:
            info = security.tokens.verify(given)
            if info is not None:
                return Identity("token", info.name, info.role, info.token_id)
            legacy = security.legacy_token_file()
            if legacy is not None:
                verdict = check_bearer(legacy, header)
                if verdict.allowed:
                    return Identity("token", LEGACY_TOKEN_NAME, "admin", LEGACY_TOKEN_NAME)
                if verdict.status == 403:  # the file itself is unusable: say why, once per try
                    LOG.warning("daemon.command_token_file is not used: %s", verdict.message)
        LOG.warning("refused a bad or revoked API token from %s on %s", request.remote_addr, request.path)
        return security.refuse(401, "unauthorized", "the API token is wrong, unknown or revoked; send "
                               "'Authorization: Bearer <token>' with a token from the admin page")
    name = session.get("user")
    if not isinstance(name, str):
        return ANONYMOUS
    user = security.users.get(name)
    started = session.get("auth_at")
    sid = session.get("sid")
    if (user is None or session.get("gen") != user.generation or not isinstance(started, int | float)
            or time.time() - started > security.config.session_hours * 3600
            or not isinstance(sid, str) or security.sessions.is_revoked(sid)):
        # Removed user, changed password or role, an expired login, or one signed out (perhaps
        # in another browser holding a copy of this cookie): sign out quietly.
        for key in ("user", "gen", "auth_at", "sid"):
            session.pop(key, None)
        return ANONYMOUS
    return Identity("session", user.name, user.role)


def before_request(security: Any) -> Response | None:
    """Identify, check the endpoint's access level, then CSRF; None lets the view run."""
    identity = identify(security)
    if isinstance(identity, Response):
        return identity
    setattr(g, IDENTITY_KEY, identity)
    if request.url_rule is None:  # 404 / 405: Flask answers it after this hook
        return None
    level = access_level(request.endpoint)
    if level is None:
        LOG.error("endpoint %s has no access rule: refused (mark it with require_role/read_access/public)",
                  request.endpoint)
        return security.refuse(403, "forbidden", "this endpoint has no access rule yet")
    denied = _denied(security, identity, level)
    if denied is not None:
        if request.method not in SAFE_METHODS:
            security.audit.record("denied", who=identity.describe(), via=identity.kind, role=identity.role,
                                  address=request.remote_addr or "", target=request.path,
                                  result=f"{denied.status_code}")
        return denied
    if request.method not in SAFE_METHODS and identity.kind != "token":
        given = request.headers.get(CSRF_HEADER) or (request.form.get(CSRF_FIELD) if request.form else None)
        expected = session.get("csrf")
        if not (isinstance(given, str) and isinstance(expected, str)
                and hmac.compare_digest(given.encode(), expected.encode())):
            LOG.warning("CSRF check failed: %s %s from %s", request.method, request.path, request.remote_addr)
            return security.refuse(403, "csrf_failed", "the form or request is missing its CSRF token, or "
                                   "it is out of date: reload the page and try again")
    return None


def _denied(security: Any, identity: Identity, level: str) -> Response | None:
    """A 401/403 response when `identity` may not use an endpoint of `level`, else None."""
    if level == PUBLIC or (level == READ and security.config.public_read):
        return None
    role = "viewer" if level == READ else level
    if identity.has_role(role):
        return None
    if not identity.authenticated:
        if not request.path.startswith(TOKEN_PATHS) and request.method in SAFE_METHODS:
            target = request.full_path if request.query_string else request.path
            # An LCARS page (/lcars, /<page>/lcars) signs in on the LCARS login page.
            login = "/login/lcars" if request.path.rstrip("/").endswith("/lcars") else "/login"
            return redirect(f"{login}?next={quote(target, safe='/')}")  # type: ignore[return-value]
        return security.refuse(401, "unauthorized", "sign in first, or send an API token as "
                               "'Authorization: Bearer <token>'")
    return security.refuse(403, "forbidden", f"this needs the {role} role; you are {identity.describe()} "
                           f"({identity.role})")
