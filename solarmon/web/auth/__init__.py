"""Security of the web app: accounts and roles, sessions, CSRF, API tokens, login limits, audit.

Registered by name in `create_app()` (`init_app`). What other parts use (docs/INTERFACES.md
"Security"):

- `require_role("operator")`, `read_access`, `public` — decorators marking a view's access level;
  the guard (guard.py) checks them before the view runs, for every request.
- `current_identity()` — who makes the request (`Identity`: kind, name, role, `has_role()`).
- `audit_event(action, target=, result=, detail=)` — one line in the audit log for this request.
- `authorize_command(command)` — raises ApiError 403 unless the caller may send this PI30 command
  (operator: queries and settings; admin: dangerous and unknown commands).

Everything per app lives in one `Security` object (security.py), `ctx.parts.security`. Module order,
lowest first: roles, files, users, tokens, audit, ratelimit, guard -> security -> views -> admin ->
this package's `init_app`; nothing below imports what is above it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from solarmon.web.auth import admin, guard, views  # admin: adds its pages to views.bp at import
from solarmon.web.auth.audit import AuditLog
from solarmon.web.auth.files import load_or_create_secret
from solarmon.web.auth.ratelimit import LoginLimiter
from solarmon.web.auth.redact import redact_status
from solarmon.web.auth.roles import (
    ROLES,
    Identity,
    current_identity,
    public,
    read_access,
    require_role,
)
from solarmon.web.auth.security import Security, audit_event, authorize_command, command_role
from solarmon.web.auth.sessions import RevokedSessions
from solarmon.web.auth.tokens import TokenStore
from solarmon.web.auth.users import UserStore
from solarmon.web.runtime import WebContext

__all__ = [
    "ROLES",
    "Identity",
    "Security",
    "admin",
    "audit_event",
    "authorize_command",
    "command_role",
    "current_identity",
    "init_app",
    "public",
    "read_access",
    "require_role",
]

LOG = logging.getLogger(__name__)
SESSION_COOKIE = "solarmon_session"
# Self only: no CDN, no inline script or style, no framing (same as the pages' own policy).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class _SessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions whose Secure flag follows the request: set over HTTPS only.

    With `security.trust_proxy` the scheme comes from X-Forwarded-Proto (ProxyFix), so a TLS
    reverse proxy gets Secure cookies while plain-HTTP LAN access still works.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        """True when this request arrived over HTTPS."""
        return request.is_secure

    def get_signing_serializer(self, app: Flask) -> Any:
        """Flask's serializer, built once per key set, not once per request (issue 14.15: its
        construction was ~10 % of a /api/data request)."""
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != key:
            cached = self._serializer = (key, super().get_signing_serializer(app))
        return cached[1]


def init_app(app: Flask, ctx: WebContext) -> None:
    """Build the security parts, install the guard, the headers and the auth pages."""
    config = ctx.config.security
    limiter = LoginLimiter(slow_after=config.login_slow_after, delay_s=config.login_delay_s,
                           max_pair=config.login_max_failures, max_account=config.account_max_failures,
                           max_address=config.address_max_failures, window_s=config.login_window_s)
    token_file = ctx.config.daemon.command_token_file
    security = Security(config, UserStore(ctx.config.path(config.users_file)),
                        TokenStore(ctx.config.path(config.token_store)), limiter,
                        AuditLog(ctx.config.path(config.audit_log),
                                 max_bytes=int(config.audit_log_max_mb * 2**20), keep=config.audit_log_keep),
                        ctx.config.path(token_file) if token_file else None,
                        ctx.config.path(config.daemon_audit_log) if config.daemon_audit_log else None)
    security.sessions = RevokedSessions(ctx.config.path(config.revoked_sessions_file))
    ctx.parts.security = security
    app.secret_key = load_or_create_secret(ctx.config.path(config.secret_key_file))
    app.session_interface = _SessionInterface()
    app.config.update(SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=int(config.session_hours * 3600))
    if config.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    app.before_request(lambda: guard.before_request(security))
    app.after_request(_security_headers)
    app.after_request(redact_status)  # no file paths in /api/status below operator
    app.add_template_filter(_utc, "utc")
    app.context_processor(lambda: {"csrf_token": guard.csrf_token, "auth_user": current_identity(),
                                   "public_read": config.public_read})
    # No account names or counts here: /api/status is public when reading is.
    ctx.health["security"] = lambda: {"ok": True, "public_read": config.public_read,
                                      "trust_proxy": config.trust_proxy}
    app.register_blueprint(views.bp)  # login/logout (views.py) and the admin pages (admin.py)
    if security.users.count() == 0:
        LOG.warning("no user accounts yet (%s): create the first admin with "
                    "`python web_interface.py user add NAME --role admin`", security.users.path)
    if token_file:
        LOG.warning("daemon.command_token_file is deprecated: its token still works as an admin API token; "
                    "move it with `python web_interface.py token import NAME --from %s`", token_file)


def _utc(ts: float | None) -> Markup | str:
    """A Unix time for the admin pages: `<time datetime="2026-11-26T19:40:05Z">2026-11-26 19:40:05
    UTC</time>` (the page script shows it in local time, the ISO form on hover), or a dash."""
    if not ts:
        return "-"
    moment = datetime.fromtimestamp(ts, UTC)
    return Markup('<time datetime="{}">{}</time>').format(
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _security_headers(response: Response) -> Response:
    """Every response: no foreign content, no framing, no sniffing, no referrer to elsewhere."""
    present = {name.lower() for name, _ in response.headers}  # setdefault() is slow
    response.headers.extend([(name, value) for name, value in SECURITY_HEADERS.items()
                             if name.lower() not in present])
    return response
