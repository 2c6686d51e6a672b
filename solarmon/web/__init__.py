"""The solarmon web application: `create_app()` builds a Flask app and everything it shares.

Build first, start later: this module only builds objects (configuration, live state, daemon
client, blueprints) and never starts a thread; `solarmon.web.runtime.Runtime` starts the
background services the app and its parts registered. Every part is imported and registered by
name in `create_app()` (`PARTS`, see docs/INTERFACES.md "Web app"): a part that fails to import
stops the start, it never becomes a 503 at run time. The built objects live in the typed services
object `ctx.parts` (`solarmon.web.runtime.WebParts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from solarmon.web import (
    alerts,
    api,
    auth,
    fastpath,
    fleet,
    forecast,
    house,
    metrics,
    openapi,
    pages,
    settings,
    stream,
)
from solarmon.web.config import WebConfig, config_from_mapping
from solarmon.web.control import ControlClient
from solarmon.web.energy import Energy
from solarmon.web.history import History
from solarmon.web.journal import JournalReplay
from solarmon.web.promreader import PromReader
from solarmon.web.runtime import EXTENSION_KEY, MAX_REQUEST_BYTES, WebContext
from solarmon.web.state import LiveState

LOG = logging.getLogger(__name__)

# Every part of the web app, in registration order: its name and its `init_app(app, ctx)`.
PARTS: tuple[tuple[str, Callable[[Flask, WebContext], None]], ...] = (
    ("api", api.init_app),
    ("stream", stream.init_app),
    ("metrics", metrics.init_app),
    ("openapi", openapi.init_app),
    ("house", house.init_app),  # MQTT house sensors, weather and a BMS (with an `mqtt:` section)
    ("pages", pages.init_app),  # dashboard pages of both themes
    ("settings", settings.init_app),  # /api/settings: what the daemon allows, for the settings page
    ("auth", auth.init_app),  # accounts, roles, sessions, CSRF, API tokens, audit (docs/SECURITY.md)
    ("alerts", alerts.init_app),  # alert rules, /api/alerts, the alerts page and banner
    ("forecast", forecast.init_app),  # PV forecast, calibration, battery outlook (docs/FORECAST.md)
    ("fleet", fleet.init_app),  # hub mode: many sites from a central store (docs/FLEET.md)
)
JSON_PREFIXES = ("/api/", "/metrics")


def create_app(config: WebConfig | Mapping[str, Any] | None = None) -> Flask:
    """Build the web app for `config` (a WebConfig, a dict shaped like web.yaml, or the defaults).

    Nothing runs yet: start the background services with `Runtime.for_app(app).start()`.
    """
    if not isinstance(config, WebConfig):
        config = config_from_mapping(config, where="create_app(config)")
    # The pages blueprint serves its own static files; an app-wide /static route would shadow them.
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.json.sort_keys = False  # keep values in the order the inverter reports them
    ctx = WebContext(config)
    app.extensions[EXTENSION_KEY] = ctx
    _build_core(ctx)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    for _name, init_app in PARTS:
        init_app(app, ctx)
    # Last, so it is the outermost layer and sees the whole app: anonymous plain GET /api/data
    # answered below Flask with the same answer (fastpath.py; issue 14.15).
    fastpath.install(app, ctx)
    return app


def _build_core(ctx: WebContext) -> None:
    """The parts every endpoint relies on: daemon client, live state, history, reader, energy.

    Services are added in start order: the history writer before the reader that feeds it.
    """
    config = ctx.config
    control = ControlClient(config.path(config.daemon.control_socket), config.daemon.timeout_s)
    ctx.parts.control = control
    ctx.health["daemon"] = control.ping
    # Streams are bounded by server.max_streams in stream.py; the margin is for internal
    # subscribers (alerts), which must never be refused.
    state = LiveState(ring_size=config.data.ring_size, max_subscribers=config.server.max_streams + 16,
                      stale_after_s=config.data.stale_after_s)
    ctx.parts.state = state
    history = History(config.path(config.history.db_path),
                      raw_retention_days=config.history.raw_retention_days,
                      minute_retention_days=config.history.minute_retention_days)
    ctx.parts.history = history
    ctx.add_service(history, "history")
    ctx.health["history"] = history.status
    ctx.parts.energy = Energy(history, config.history.timezone or None)
    # Before the reader: what the daemon wrote while the web app was down goes into the history
    # first, in order (issue 14.7; docs/INTERFACES.md "The .prom journal").
    ctx.add_service(JournalReplay(config.path(config.data.prom_dir), history), "journal")
    reader = PromReader(config.path(config.data.prom_dir), state, sinks=(history.submit,),
                        poll_interval_s=config.data.poll_interval_s)
    ctx.parts.reader = reader
    ctx.add_service(reader, "reader")


def wants_json() -> bool:
    """True for API and metrics paths, whose errors are JSON rather than HTML pages."""
    return request.path.startswith(JSON_PREFIXES) or request.path == "/api"


def error_response(status: int, error: str, message: str) -> Response:
    """The API's error body: {"error": <stable code>, "message": <for people>} with `status`."""
    from flask import jsonify

    response = jsonify({"error": error, "message": message})
    response.status_code = status
    return response


def _http_error(exc: HTTPException) -> Response | HTTPException:
    """404, 405, 413... as JSON on the API, as Flask's HTML page elsewhere."""
    if not wants_json():
        return exc
    code = exc.code or 500
    name = (exc.name or "error").lower().replace(" ", "_")
    response = error_response(code, name, exc.description or exc.name or "error")
    if code == 405 and exc.get_response().headers.get("Allow"):
        response.headers["Allow"] = exc.get_response().headers["Allow"]
    return response


def _unexpected_error(exc: Exception) -> Response:
    """A bug: log it with the traceback; the client gets a JSON 500 without internals."""
    if isinstance(exc, HTTPException):  # pragma: no cover - Flask routes these to _http_error
        return _http_error(exc)  # type: ignore[return-value]
    LOG.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "the server failed to handle this request; see its log")
