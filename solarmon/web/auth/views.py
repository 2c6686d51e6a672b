"""The security pages: login and logout (both themes), the admin page (users and API tokens) and
the audit page. Forms post back with the session's CSRF token (checked by the guard); every
change is written to the audit log.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, session, url_for

from solarmon.web.auth import guard
from solarmon.web.auth.roles import ACCESS_ATTRIBUTE, ROLES, Identity, current_identity, public
from solarmon.web.auth.security import Security, audit_event, current_security
from solarmon.web.pages import PAGES, missing_vendor_files

LOG = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
THEMES = ("standard", "lcars")
MAX_FIELD_CHARS = 1024


@dataclass(frozen=True)
class AuthPage:
    """What the base layouts need to know about one of these pages."""

    endpoint: str
    label: str
    script: str = "account"


def _security() -> Security:
    """This app's Security part."""
    return current_security()


def _nav(theme: str, active: str) -> list[dict[str, Any]]:
    """The navigation of the dashboard pages plus admin links for admins."""
    items: list[dict[str, Any]] = []
    suffix = "" if theme == "standard" else "_lcars"
    for page in PAGES:
        items.append({"label": page.label, "icon": page.icon,
                      "url": url_for(f"pages.{page.endpoint}{suffix}"), "active": False})
    if current_identity().has_role("admin"):
        for endpoint, label, icon in (("admin", "Admin", "fa-user-shield"),
                                      ("audit", "Audit", "fa-list-check")):
            items.append({"label": label, "icon": icon, "url": url_for(f"auth.{endpoint}{suffix}"),
                          "active": endpoint == active})
    return items


def _render(endpoint: str, label: str, theme: str, status: int = 200, **extra: Any) -> Response:
    """Render templates/auth/<endpoint>.html in `theme` with the base layout's variables."""
    vendor_missing = missing_vendor_files()
    other = "lcars" if theme == "standard" else "standard"
    body = render_template(
        f"auth/{endpoint}.html", layout=f"{theme}/base.html", theme=theme, page=AuthPage(endpoint, label),
        nav=_nav(theme, endpoint),
        other_theme_url=url_for(f"auth.{endpoint}" + ("_lcars" if other == "lcars" else ""), **_keep_next()),
        other_theme_label="LCARS" if other == "lcars" else "Standard", vendor_missing=vendor_missing,
        roles=ROLES, **extra)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _keep_next() -> dict[str, str]:
    """The `next=` parameter of this request, to keep it across a theme switch."""
    target = request.args.get("next")
    return {"next": target} if target else {}


def _safe_next(target: str | None) -> str:
    """Where to go after the login: a path of this site only, never another site, never an error.

    Browsers drop tabs, newlines and other control characters from a URL and read `\\` as `/`,
    so `/\t/evil.example` would become `//evil.example` (another site): those characters are
    removed first, whitespace too, and what is left must be a plain local path.
    """
    if not target:
        return "/"
    cleaned = "".join(ch for ch in target if ch.isprintable() and not ch.isspace())
    if not cleaned.startswith("/") or cleaned.startswith("//") or "\\" in cleaned:
        return "/"
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or len(cleaned) > MAX_FIELD_CHARS:
        return "/"
    return cleaned


def _field(name: str) -> str:
    """A form field, bounded."""
    return (request.form.get(name) or "")[:MAX_FIELD_CHARS]


def _theme_views(name: str, view: Any, rule: str, methods: tuple[str, ...]) -> None:
    """Register `view` at `rule` (standard) and `rule`/lcars (LCARS) as auth.<name>[_lcars]."""
    for theme in THEMES:
        endpoint = name if theme == "standard" else f"{name}_lcars"
        path = rule if theme == "standard" else f"{rule}/lcars"

        def themed(theme: str = theme) -> Response:
            return view(theme)

        themed.__name__ = endpoint
        themed.__doc__ = view.__doc__
        setattr(themed, ACCESS_ATTRIBUTE, getattr(view, ACCESS_ATTRIBUTE, None))
        bp.add_url_rule(path, endpoint, themed, methods=list(methods))


@public
def login(theme: str) -> Response:
    """GET: the login form. POST: check the password (rate limited), start a session."""
    security = _security()
    if request.method == "GET":
        return _render("login", "Sign in", theme, next=_safe_next(request.args.get("next")))
    name, password = _field("username").strip(), _field("password")
    target = _safe_next(_field("next"))
    if not name or not password:  # not a guess: nothing to count
        return _render("login", "Sign in", theme, next=target, username=name,
                       error="Enter your user name and password.")
    address = request.remote_addr or ""
    verdict = security.limiter.admit(name, address)
    anonymous = Identity("anonymous", name)
    if not verdict.allowed or verdict.ticket is None:
        LOG.warning("login refused for %r from %s: %s", name[:64], address, verdict.reason)
        audit_event("login", target=name, result="rate_limited", detail=verdict.reason, identity=anonymous)
        response = _render("login", "Sign in", theme, 429, next=target, username=name,
                           error=f"Too many failed logins: {verdict.reason}. Try again in "
                                 f"{verdict.retry_after_s} s.")
        response.headers["Retry-After"] = str(verdict.retry_after_s)
        return response
    try:  # counted already (admit): concurrent tries meet the limits too
        if verdict.delay_s:
            security.sleep(verdict.delay_s)  # slows a guesser down; the limit above stops it
        user = security.users.authenticate(name, password)
        if user is not None:
            security.limiter.success(verdict.ticket)
    finally:
        security.limiter.release(verdict.ticket)
    if user is None:
        LOG.warning("failed login for %r from %s", name[:64], address)
        audit_event("login", target=name, result="failed", identity=anonymous)
        # 200, not 401: a form page, not an HTTP authentication challenge.
        return _render("login", "Sign in", theme, next=target, username=name,
                       error="Wrong user name or password.")
    session.clear()  # a new session id and CSRF token: nothing from before the login carries over
    session.permanent = True
    # sid: this login's own id, listed on the server at sign-out (sessions.py)
    session.update(user=user.name, gen=user.generation, auth_at=time.time(), sid=secrets.token_urlsafe(16))
    guard.csrf_token()
    identity = Identity("session", user.name, user.role)
    LOG.info("login: %s (%s) from %s", user.name, user.role, address)
    audit_event("login", target=user.name, result="ok", identity=identity)
    return redirect(target)  # type: ignore[return-value]


@public
def logout(theme: str) -> Response:
    """POST: end the session (CSRF-checked like every form)."""
    identity = current_identity()
    if identity.kind == "session":
        security = _security()
        expires = float(session.get("auth_at") or time.time()) + security.config.session_hours * 3600
        if not security.sessions.revoke(str(session.get("sid")), expires):
            # The list is full (thousands of sign-outs): end all of this user's sessions instead.
            security.users.change(identity.name)
        audit_event("logout", target=identity.name)
    session.clear()
    return redirect(url_for("auth.login" if theme == "standard" else "auth.login_lcars"))  # type: ignore[return-value]


_theme_views("login", login, "/login", ("GET", "POST"))
_theme_views("logout", logout, "/logout", ("POST",))
