"""The web app's forecast part: GET /api/forecast, the /forecast page of both themes, the service
that feeds them.

The web app wires the forecast, never the reverse: solarmon/forecast/ is a library (calibration,
outlook, store, the ForecastService) that imports nothing of solarmon.web; this module, registered
by name in `create_app()`, builds it from web.yaml `forecast:` and hands it what it needs of the
web app: a read-only connection to the history database (`solarmon.web.history.schema.connect`),
the live state's values and a way to publish its own (the live source `forecast`, which the alert
rule `battery_cutoff_before_sunrise` watches). The service is built cold; its MQTT account is the
`mqtt:` section's, client id `solarmon-web-forecast`. Nothing here imports pvlib or pandas: the
model runs in the weather fetcher.
"""

from __future__ import annotations

import logging
import sqlite3
import zoneinfo
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from solarmon.forecast.config import parse_forecast_settings
from solarmon.forecast.service import LIVE_SOURCE, ConnectHistory, ForecastService, LiveValue, Publish
from solarmon.forecast.store import ForecastStore
from solarmon.mqtt.credentials import mqtt_settings_from_config
from solarmon.web.auth import read_access
from solarmon.web.energy import _system_tz  # the zone energy days use: one rule for "today"
from solarmon.web.history.schema import connect
from solarmon.web.pages import CONTENT_SECURITY_POLICY, render_part_page
from solarmon.web.params import ApiError
from solarmon.web.runtime import WebContext, get_context
from solarmon.web.state import LiveState, SourceUpdate

LOG = logging.getLogger(__name__)
PART = "forecast"
# The weather fetcher's file for Prometheus (weather.yaml forecast.prom_file, by default in the
# folder the reader watches): never a source of the web app, whose source `forecast` is the service's.
FETCHER_PROM_FILE = "forecast.prom"

bp = Blueprint("forecast", __name__)


def init_app(app: Flask, ctx: WebContext) -> None:
    """Load `forecast:`, build the service (not started), register the routes and the nav entry."""
    where = ctx.config.source
    settings = parse_forecast_settings(ctx.config.raw_sections.get("forecast"), where=where)
    app.register_blueprint(bp)
    app.context_processor(lambda: {"forecast_nav": _nav_items})
    if ctx.parts.reader is not None:
        ctx.parts.reader.ignore_files(FETCHER_PROM_FILE)
    if not settings.enabled:
        LOG.info("forecast is off (forecast.enabled: false in %s)", where)
        return
    mqtt = None
    if ctx.config.raw_sections.get("mqtt") is not None:
        mqtt = mqtt_settings_from_config(ctx.config.raw_sections["mqtt"], source=where,
                                         client_id="solarmon-web-forecast", default_username="solarmon-web")
    tz: Any = zoneinfo.ZoneInfo(ctx.config.history.timezone) if ctx.config.history.timezone else _system_tz()
    history = ctx.parts.history
    state = ctx.parts.state
    service = ForecastService(
        settings,
        store=ForecastStore(ctx.config.path(settings.db_path)),
        tz=tz,
        connect_history=history_reader(history.path) if history is not None else None,
        live_value=live_reader(state) if state is not None else None,
        publish=live_publisher(state) if state is not None else None,
        mqtt=mqtt,
    )
    ctx.parts.forecast = service
    ctx.add_service(service, PART)
    ctx.health[PART] = service.health


def history_reader(path: Path) -> ConnectHistory:
    """Opens the history database read-only (None until the web app has written it)."""

    def open_read_only() -> sqlite3.Connection | None:
        return connect(path, read_only=True) if path.exists() else None

    return open_read_only


def live_reader(state: LiveState) -> LiveValue:
    """A live value of the live state (None when absent or stale)."""

    def value(source: str, key: str) -> Any:
        snap = state.snapshot(source)
        return None if snap is None else snap.values.get(key)

    return value


def live_publisher(state: LiveState) -> Publish:
    """Puts the service's numbers into the live state as the source `forecast`."""

    def publish(ts: float, values: dict[str, Any], units: dict[str, str]) -> None:
        state.apply(SourceUpdate(LIVE_SOURCE, ts, values, units, file="forecast"))

    return publish


def _nav_items(theme: str, endpoint: str) -> list[dict[str, Any]]:
    """The forecast page's entry in every page's navigation."""
    url = "/forecast/lcars" if theme == "lcars" else "/forecast"
    return [{"label": "Forecast", "icon": "fa-sun", "url": url, "active": endpoint == "forecast"}]


@bp.get("/api/forecast")
@read_access
def forecast() -> Response:
    """Arrays, today's expected and produced curves, tomorrow's, calibration and battery outlook."""
    service = get_context().parts.forecast
    if service is None:
        raise ApiError(503, "unavailable", "the forecast is off (forecast.enabled in web.yaml)")
    return jsonify(service.snapshot())


def _page(theme: str) -> str:
    """The forecast page in one theme, framed like the other pages."""
    page = {"endpoint": "forecast", "label": "Forecast", "icon": "fa-sun", "template": "forecast/page.html"}
    return render_part_page(theme, page, "/forecast")


@bp.get("/forecast")
@read_access
def page_standard() -> str:
    """The forecast page, standard theme."""
    return _page("standard")


@bp.get("/forecast/lcars")
@read_access
def page_lcars() -> str:
    """The forecast page, LCARS theme."""
    return _page("lcars")


@bp.after_request
def _headers(response: Response) -> Response:
    """The pages' security headers (self-only content) on the forecast page too."""
    if request.path.startswith("/forecast"):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
