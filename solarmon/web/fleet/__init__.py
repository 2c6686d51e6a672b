"""Hub mode: with a `fleet:` section in web.yaml the web app also shows many sites, read from a
central Prometheus-API store (VictoriaMetrics) the sites push to (docs/FLEET.md "The hub").

Registered by name in `create_app()` like every part. Without `fleet:` it registers its routes
only to answer `404 no_fleet` (a hub may also have no local inverter at all: the local pages then
simply have no data). The routes:
- `GET /api/fleet?sort=&order=&problem=&q=` every site with status, headline values, today's
  energy and active alerts (solarmon.web.fleet.hub, cached for fleet.cache_s);
- `GET /api/fleet/<site>` one site; `GET /api/fleet/<site>/historical` its history in
  /api/historical's shape (the drill-down page draws it with the same chart code);
- the `/fleet` page and `/fleet/site/<site>` in both themes.
Store failures are JSON 502 / 503 / 504 (solarmon.web.fleet.promql), never a hang.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from solarmon.web.auth import read_access
from solarmon.web.config import SITE_NAME_RE, FleetConfig
from solarmon.web.fleet.events import FleetEvents, broker_settings
from solarmon.web.fleet.hub import HEADLINE, STATUSES, FleetHub
from solarmon.web.fleet.promql import PromClient, StoreError, read_credentials
from solarmon.web.pages import CONTENT_SECURITY_POLICY, render_part_page
from solarmon.web.params import (
    METRIC_RE,
    NAME_RE,
    ApiError,
    arg_choice,
    arg_choices,
    arg_int,
    arg_metrics,
    arg_search,
    time_range,
)
from solarmon.web.runtime import WebContext, get_context
from solarmon.web.state import INVERTER_PREFIX

LOG = logging.getLogger(__name__)
PART = "fleet"
SORTS = ("name", "status", "soc", "pv", "load", "alerts")
ORDERS = ("asc", "desc")
PROBLEMS = ("stale", "down", "alerts", "low_soc")
DEFAULT_CHART_KEYS = ("pv_power_total", "load_power", "battery_capacity")
DEFAULT_POINTS, MAX_POINTS = 500, 5000
_STATUS_RANK = {"down": 0, "stale": 1, "up": 2}
_SORT_FIELD = {"soc": "soc_percent", "pv": "pv_w", "load": "load_w"}

bp = Blueprint("fleet", __name__)


def init_app(app: Flask, ctx: WebContext) -> None:
    """Build the hub (not started) when web.yaml has `fleet:`; register the routes either way."""
    app.register_blueprint(bp)
    fleet = ctx.config.fleet
    if fleet is None:
        return
    client = PromClient(fleet.promql_url, timeout_s=fleet.timeout_s, credentials=_credentials(fleet, ctx))
    hub = FleetHub(fleet, client)
    ctx.parts.fleet = hub
    ctx.add_service(client, PART)
    ctx.health[PART] = client.health
    if fleet.broker:
        events = FleetEvents(broker_settings(fleet.broker, ctx.config.source))
        hub.events = events
        ctx.add_service(events, f"{PART}_broker")
        ctx.health[f"{PART}_broker"] = events.health
    app.context_processor(lambda: {"fleet_nav": _nav_items})
    LOG.info("hub mode: sites from %s (stale after %g s, down after %g s)", fleet.promql_url,
             fleet.stale_after_s, fleet.lookback_s)


def _credentials(fleet: FleetConfig, ctx: WebContext) -> tuple[str, str] | str | None:
    """The store's credentials from fleet.credentials_file (a ConfigError when unreadable)."""
    from solarmon.confighelper import ConfigError

    if not fleet.credentials_file:
        return None
    path: Path = ctx.config.path(fleet.credentials_file)
    try:
        return read_credentials(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{ctx.config.source}: fleet.credentials_file {path}: cannot read: {exc}",
                          source=ctx.config.source, key="fleet.credentials_file", value=str(path),
                          allowed="a readable file with user:password or a bearer token") from exc


def _nav_items(theme: str, endpoint: str) -> list[dict[str, Any]]:
    """The fleet page's entry in every page's navigation (hub mode only)."""
    url = "/fleet/lcars" if theme == "lcars" else "/fleet"
    return [{"label": "Fleet", "icon": "fa-network-wired", "url": url,
             "active": endpoint in ("fleet", "fleet_site")}]


def _hub() -> FleetHub:
    hub = get_context().parts.fleet
    if hub is None:
        raise ApiError(404, "no_fleet", "this solarmon is not a hub: web.yaml has no fleet: section "
                       "(docs/FLEET.md)")
    return hub


def _snapshot(hub: FleetHub) -> tuple[Any, bool]:
    try:
        return hub.snapshot()
    except StoreError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None


def _site_name(site: str) -> str:
    if not SITE_NAME_RE.fullmatch(site):
        raise ApiError(400, "bad_parameter", f"{site[:40]!r} is not a site name (1..64 characters of "
                       "A-Z a-z 0-9 _ . -)")
    return site


def _sort_key(sort: str) -> Any:
    """Key of a site for `sort`; sites without the value go last either way (see sort_sites)."""
    if sort == "name":
        return lambda s: s["site"].lower()
    if sort == "status":
        return lambda s: (_STATUS_RANK[s["status"]], s["site"].lower())
    if sort == "alerts":
        return lambda s: (s["alert_count"], s["site"].lower())
    field = _SORT_FIELD[sort]
    return lambda s: s[field]


def sort_sites(sites: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    """Sites sorted by `sort` in `order`; a site without the value (a down site's SoC) last."""
    if sort in _SORT_FIELD:
        field = _SORT_FIELD[sort]
        known = [s for s in sites if s[field] is not None]
        unknown = sorted((s for s in sites if s[field] is None), key=lambda s: s["site"].lower())
        known.sort(key=lambda s: s["site"].lower())
        return sorted(known, key=_sort_key(sort), reverse=order == "desc") + unknown
    return sorted(sites, key=_sort_key(sort), reverse=order == "desc")


def matches(site: dict[str, Any], problems: list[str], search: str, low_soc: float) -> bool:
    """True when the site has any of `problems` (none asked: every site) and its name holds `search`."""
    if search and search.lower() not in site["site"].lower():
        return False
    if not problems:
        return True
    found = {
        "stale": site["status"] == "stale",
        "down": site["status"] == "down",
        "alerts": site["alert_count"] > 0,
        "low_soc": site["soc_percent"] is not None and site["soc_percent"] < low_soc,
    }
    return any(found[p] for p in problems)


@bp.get("/api/fleet")
@read_access
def fleet() -> Response:
    """Every site (or those with a problem / matching a name), sorted."""
    sort = arg_choice("sort", SORTS, "name")
    order = arg_choice("order", ORDERS, "asc")
    problems = arg_choices("problem", PROBLEMS)
    search = arg_search("q")
    hub = _hub()
    snap, cached = _snapshot(hub)
    # The listing of one snapshot and view is serialized once (many browsers, one answer): only
    # the few fields around it are written per request.
    low_soc = hub.config.low_soc_percent
    listing = hub.rendered(snap, (sort, order, tuple(problems), search),
                           lambda: _listing(snap.sites, low_soc, sort, order, problems, search))
    head = json.dumps({
        "time": snap.ts, "cached": cached, "cache_age_s": round(hub.clock() - snap.ts, 3),
        "query_s": round(snap.took_s, 4), "stale_after_s": hub.config.stale_after_s,
        "lookback_s": hub.config.lookback_s, "low_soc_percent": hub.config.low_soc_percent,
        "sort": sort, "order": order, "problem": problems, "q": search,
    })
    return Response(f"{head[:-1]}, {listing}}}", mimetype="application/json")


def _listing(sites: dict[str, dict[str, Any]], low_soc: float, sort: str, order: str, problems: list[str],
             search: str) -> str:
    """`"total": .., "counts": {..}, "sites": [..]` of one view of a snapshot, as JSON text."""
    every = list(sites.values())
    counts = {status: sum(1 for s in every if s["status"] == status) for status in STATUSES}
    counts["alerts"] = sum(1 for s in every if s["alert_count"])
    counts["low_soc"] = sum(1 for s in every if s["soc_percent"] is not None and s["soc_percent"] < low_soc)
    chosen = [s for s in every if matches(s, problems, search, low_soc)]
    body = json.dumps({"total": len(every), "counts": counts, "sites": sort_sites(chosen, sort, order)})
    return body[1:-1]


@bp.get("/api/fleet/<site>")
@read_access
def fleet_site(site: str) -> Response:
    """One site as /api/fleet lists it, with the keys its drill-down charts can ask."""
    site = _site_name(site)
    hub = _hub()
    snap, cached = _snapshot(hub)
    entry = snap.sites.get(site)
    if entry is None:
        raise ApiError(404, "unknown_site", f"no site {site!r} in the central store "
                       f"(known: {len(snap.sites)}; GET /api/fleet lists them)")
    events = hub.events.site(site) if hub.events is not None else None
    return jsonify({**entry, "time": snap.ts, "cached": cached, "stale_after_s": hub.config.stale_after_s,
                    "lookback_s": hub.config.lookback_s, "headline_keys": dict(HEADLINE),
                    "broker": hub.events is not None, "events": events})


@bp.get("/api/fleet/<site>/historical")
@read_access
def fleet_historical(site: str) -> Response:
    """One site's history from the store's range queries, in /api/historical's JSON shape."""
    site = _site_name(site)
    start, end = time_range(time.time())
    points = arg_int("points", DEFAULT_POINTS, 1, MAX_POINTS)
    keys = arg_metrics() or list(DEFAULT_CHART_KEYS)
    for key in keys:
        if "/" in key or not METRIC_RE.match(key):
            raise ApiError(400, "bad_parameter", f"metrics: {key[:40]!r} is not an inverter value key")
    hub = _hub()
    snap, _cached = _snapshot(hub)
    entry = snap.sites.get(site)
    if entry is None:
        raise ApiError(404, "unknown_site", f"no site {site!r} in the central store")
    source = request.args.get("source") or entry["source"]
    if source is None:
        raise ApiError(404, "no_data", f"site {site!r} has sent no inverter data within "
                       f"fleet.lookback_s ({hub.config.lookback_s:g} s)")
    # Both names go into the query's label matchers: only characters that need no escaping.
    if not (source.startswith(INVERTER_PREFIX) and NAME_RE.match(source[len(INVERTER_PREFIX):])):
        raise ApiError(400, "bad_parameter", f"source must be inverter:<device>, not {source[:40]!r}")
    try:
        body = hub.history(site, source, keys, start, end, points or DEFAULT_POINTS)
    except StoreError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    return jsonify(body)


# -- pages --------------------------------------------------------------------------------------------
def _page(theme: str, site: str | None = None) -> str:
    """The fleet page, or a site's drill-down, in one theme (404 page when not a hub)."""
    if get_context().parts.fleet is None:
        from flask import abort

        abort(404)
    if site is None:
        page = {"endpoint": "fleet", "label": "Fleet", "icon": "fa-network-wired",
                "template": "fleet/page.html"}
        return render_part_page(theme, page, "/fleet")
    page = {"endpoint": "fleet_site", "label": f"Site {site}", "icon": "fa-network-wired",
            "template": "fleet/site.html", "script": "fleet-site", "site": site}
    return render_part_page(theme, page, f"/fleet/site/{site}")


@bp.get("/fleet")
@read_access
def page_standard() -> str:
    """The fleet page, standard theme."""
    return _page("standard")


@bp.get("/fleet/lcars")
@read_access
def page_lcars() -> str:
    """The fleet page, LCARS theme."""
    return _page("lcars")


@bp.get("/fleet/site/<site>")
@read_access
def site_standard(site: str) -> str:
    """One site's drill-down, standard theme."""
    return _page("standard", _page_site(site))


@bp.get("/fleet/site/<site>/lcars")
@read_access
def site_lcars(site: str) -> str:
    """One site's drill-down, LCARS theme."""
    return _page("lcars", _page_site(site))


def _page_site(site: str) -> str:
    if not SITE_NAME_RE.fullmatch(site):
        from flask import abort

        abort(404)
    return site


@bp.after_request
def _headers(response: Response) -> Response:
    """The pages' security headers (self-only content) on the fleet pages too."""
    if request.path.startswith("/fleet"):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
