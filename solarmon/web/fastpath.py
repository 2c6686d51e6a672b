"""/api/data below Flask, for the one request shape whose answer needs nothing from Flask.

Dashboards poll /api/data many times a second; in Flask each request pays for the request context,
URL matching, the session interface, the access guard and the after-request hooks, about 3x the
view itself (issue 14.15, bench/README.md). This WSGI middleware answers a request itself only
when every one of those steps has a known, fixed outcome:

- `GET /api/data`, no query string (so the first device, as `pick_device` picks it);
- no `Cookie` and no `Authorization` header: the guard would see the anonymous identity, and
  the endpoint's access level lets anonymous callers in (decided once, at start, with the guard's
  own `access_level` and `security.public_read`; otherwise the fast path is off);
- no `If-None-Match` (the 304 answer stays with the view);
- the encoded body of the current reading is already built (`api.cached_data_body`).

It then sends exactly what the view, the security headers hook and the session interface would
(same status, same headers in the same order, the body built by the same `api.data_payload`);
anything else goes to Flask unchanged. tests/web/test_fastpath.py compares both paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from solarmon.web import api
from solarmon.web.auth import SECURITY_HEADERS, guard
from solarmon.web.auth.roles import PUBLIC, READ
from solarmon.web.runtime import WebContext
from solarmon.web.state import inverter_source

PATH = "/api/data"
# What the guard and the session interface decide from these headers is not fixed.
_PERSONAL = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_IF_NONE_MATCH")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def anonymous_may_read(app: Flask, ctx: WebContext) -> bool:
    """True when the guard lets an anonymous caller use /api/data (its endpoint's access level is
    public, or read with `security.public_read`), and no Flask setting would treat the request by
    its host."""
    if app.config.get("SERVER_NAME") or app.config.get("TRUSTED_HOSTS"):
        return False
    endpoint, _args = app.url_map.bind("localhost").match(PATH, method="GET")
    with app.app_context():
        level = guard.access_level(endpoint)
    return level == PUBLIC or (level == READ and ctx.config.security.public_read)


class DataFastPath:
    """WSGI middleware around the Flask app's `wsgi_app`; `served` counts the requests it answered."""

    def __init__(self, app: Flask, ctx: WebContext) -> None:
        self.inner: WSGIApp = app.wsgi_app
        self.ctx = ctx
        self.enabled = anonymous_may_read(app, ctx)
        self.served = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer an anonymous plain `GET /api/data` from the encoded body, else pass it on."""
        if (self.enabled and environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET"
                and not environ.get("QUERY_STRING") and not any(k in environ for k in _PERSONAL)):
            payload = self._payload()
            if payload is not None:
                self.served += 1
                start_response("200 OK", payload[1])
                return [payload[0]]
        return self.inner(environ, start_response)

    def _payload(self) -> tuple[bytes, list[tuple[str, str]]] | None:
        """The body and headers the view would send now, or None when the view must build them."""
        state = getattr(self.ctx.parts, "state", None)
        if state is None:
            return None
        devices = tuple(state.devices())
        if not devices:
            return None
        body, _version, now = api.cached_data_body(self.ctx, inverter_source(devices[0]), devices)
        if body is None:
            return None
        data = api.data_payload(body, now)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                   ("ETag", body.etag), ("Cache-Control", "no-cache"), *SECURITY_HEADERS.items(),
                   ("Vary", "Cookie")]
        return data, headers


def install(app: Flask, ctx: WebContext) -> None:
    """Put the fast path in front of the app (the outermost WSGI layer)."""
    app.wsgi_app = DataFastPath(app, ctx)  # type: ignore[method-assign]
