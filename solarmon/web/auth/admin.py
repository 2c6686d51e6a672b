"""The admin's pages: accounts and API tokens (list, create, revoke, change) and the audit log.

Only admins reach them (`require_role("admin")`, checked by the guard); every form carries the CSRF
token; every change is audited. A new token's secret is shown once, on the page that created it.
"""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for

from solarmon.web.auth.audit import AuditLog
from solarmon.web.auth.roles import ROLES, current_identity, require_role
from solarmon.web.auth.security import audit_event
from solarmon.web.auth.tokens import TokenError
from solarmon.web.auth.users import UserError
from solarmon.web.auth.views import _field, _render, _security, _theme_views, bp

AUDIT_LIMIT = 500
AUDIT_ACTIONS = ("login", "logout", "command", "denied", "user", "token")


def _admin(theme: str, status: int = 200, **extra: Any) -> Response:
    """Render the admin page with the accounts and tokens."""
    security = _security()
    return _render("admin", "Admin", theme, status, users=security.users.users(),
                   tokens=security.tokens.tokens(), **extra)


def _theme() -> str:
    """The theme the form was posted from (a hidden field), standard by default."""
    return "lcars" if _field("theme") == "lcars" else "standard"


def _back(theme: str) -> Response:
    """Redirect to the admin page in `theme` (post/redirect/get)."""
    return redirect(url_for("auth.admin" if theme == "standard" else "auth.admin_lcars"))  # type: ignore[return-value]


@require_role("admin")
def admin_page(theme: str) -> Response:
    """Accounts and API tokens."""
    return _admin(theme)


@require_role("admin")
def audit_page(theme: str) -> Response:
    """The newest audit records: who did what, when, from where, with which result."""
    action = request.args.get("action") or None
    if action not in (None, *AUDIT_ACTIONS):
        action = None
    security = _security()
    records = security.audit.read(AUDIT_LIMIT, action)
    daemon_records, daemon_error = None, ""
    if security.daemon_audit_path is not None and action in (None, "command"):
        try:
            daemon_records = AuditLog(security.daemon_audit_path).read(AUDIT_LIMIT)
        except OSError as exc:  # e.g. not readable by the web service's user
            daemon_records = []
            daemon_error = f"cannot read {security.daemon_audit_path}: {exc.strerror or exc}"
    return _render("audit", "Audit", theme, records=records, action=action, actions=AUDIT_ACTIONS,
                   daemon_records=daemon_records, daemon_error=daemon_error)


@require_role("admin")
def token_create() -> Response:
    """Create an API token; its secret is shown once on the page that answers."""
    theme = _theme()
    name, role = _field("name").strip(), _field("role")
    try:
        info, token = _security().tokens.create(name, role, current_identity().describe())
    except (TokenError, ValueError) as exc:
        audit_event("token", target=name, result="invalid", detail=str(exc))
        return _admin(theme, 400, error=str(exc))
    audit_event("token", target=f"{info.token_id} {info.name}", detail=f"created, role {info.role}")
    return _admin(theme, new_token=token, new_token_info=info)


@require_role("admin")
def token_revoke(token_id: str) -> Response:
    """Revoke a token at once."""
    theme = _theme()
    try:
        info = _security().tokens.revoke(token_id)
    except TokenError as exc:
        return _admin(theme, 404, error=str(exc))
    audit_event("token", target=f"{info.token_id} {info.name}", detail="revoked")
    return _back(theme)


@require_role("admin")
def user_add() -> Response:
    """Create an account."""
    theme = _theme()
    name, role = _field("username").strip(), _field("role")
    try:
        _security().users.add(name, _field("password"), role)
    except (UserError, ValueError) as exc:
        audit_event("user", target=name, result="invalid", detail=str(exc))
        return _admin(theme, 400, error=str(exc))
    audit_event("user", target=name, detail=f"added, role {role}")
    return _back(theme)


@require_role("admin")
def user_change(name: str) -> Response:
    """Change an account's role and/or password (its sessions end), or remove it."""
    theme = _theme()
    users = _security().users
    action = _field("action")
    me = current_identity()
    try:
        if action == "remove":
            if name == me.name:
                raise UserError("you cannot remove your own account while signed in with it")
            users.remove(name)
            detail = "removed"
        else:
            role = _field("role") or None
            if role is not None and role not in ROLES:
                raise UserError(f"role must be one of {', '.join(ROLES)}")
            if name == me.name and role not in (None, "admin"):
                raise UserError("you cannot take the admin role from yourself")
            password = _field("password") or None
            users.change(name, password=password, role=role)
            detail = "changed" + (f" role {role}" if role else "") + (" password" if password else "")
    except UserError as exc:
        audit_event("user", target=name, result="invalid", detail=str(exc))
        return _admin(theme, 400, error=str(exc))
    audit_event("user", target=name, detail=detail)
    return _back(theme)


ACTIONS = (
    ("/admin/tokens", "token_create", token_create),
    ("/admin/tokens/<token_id>/revoke", "token_revoke", token_revoke),
    ("/admin/users", "user_add", user_add),
    ("/admin/users/<name>", "user_change", user_change),
)


def register_admin_views() -> None:
    """Add the admin and audit pages to the auth blueprint (once, at import: a blueprint takes no
    new routes after its first registration)."""
    _theme_views("admin", admin_page, "/admin", ("GET",))
    _theme_views("audit", audit_page, "/audit", ("GET",))
    for rule, endpoint, view in ACTIONS:
        bp.add_url_rule(rule, endpoint, view, methods=["POST"])


register_admin_views()
