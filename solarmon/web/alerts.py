"""The web app's alerts part: GET /api/alerts, the operator's acknowledgement, the alerts page of
both themes and the banner on every page.

The web app wires alerts, never the reverse: solarmon/alerts/ is a library (rules, evaluator, store,
channels, the AlertService) that imports nothing of solarmon.web; this module, registered by name
in `create_app()`, builds it from web.yaml and puts it on the page. `init_app` reads `alerts:` (a
bad rule raises ConfigError: the start stops with exit status 2 and the rule's name and the
reason), builds the channels, the store and the service, and registers the blueprint. The
acknowledgement needs the `operator` role (`solarmon.web.auth.require_role`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from solarmon.alerts.channels import AppriseTarget, MqttChannel, read_url_file
from solarmon.alerts.config import AlertsConfig, load_alerts_config
from solarmon.alerts.delivery import ChannelWorker, Delivery, RetryPolicy
from solarmon.alerts.metrics import AlertsCollector
from solarmon.alerts.rules import AlertConfigError
from solarmon.alerts.service import AlertService
from solarmon.alerts.store import AlertStore
from solarmon.mqtt.client import MqttConnection
from solarmon.mqtt.credentials import mqtt_settings_from_config
from solarmon.web import systems
from solarmon.web.auth import audit_event, current_identity, read_access, require_role
from solarmon.web.pages import CONTENT_SECURITY_POLICY, render_part_page
from solarmon.web.params import ApiError, arg_int, need
from solarmon.web.runtime import WebContext, get_context

LOG = logging.getLogger(__name__)
PART = "alerts"
MAX_LIMIT = 1000

bp = Blueprint("alerts", __name__)


def _who() -> str:
    """Who acknowledges: the signed-in user or the API token."""
    return str(current_identity().describe())


def build_delivery(config: AlertsConfig, raw_mqtt: Any, where: str, *,
                   on_result: Callable[..., None] | None = None) -> Delivery:
    """The channels web.yaml configures: one per apprise URL (group `apprise`) and `mqtt`."""
    retry = RetryPolicy(config.retry_initial_s, config.retry_max_s, config.retry_attempts)
    workers: list[ChannelWorker] = []
    groups: dict[str, list[str]] = {}
    if config.apprise_urls_file:
        for name, url in read_url_file(config.path(config.apprise_urls_file), where=where):
            workers.append(ChannelWorker(AppriseTarget(name, url, where=where), retry=retry,
                                         on_result=on_result))
            groups.setdefault("apprise", []).append(name)
    if config.mqtt_topic_prefix and raw_mqtt is not None:
        settings = mqtt_settings_from_config(raw_mqtt, source=where, client_id="solarmon-web-alerts",
                                             default_username="solarmon-web")
        workers.append(ChannelWorker(MqttChannel(MqttConnection(settings), config.mqtt_topic_prefix),
                                     retry=retry, on_result=on_result))
    return Delivery(workers, groups)


def check_channels(config: AlertsConfig, delivery: Delivery, where: str) -> None:
    """Refuse a rule that names a channel web.yaml does not configure."""
    for rule in config.parsed_rules:
        try:
            delivery.resolve(rule.channels)
        except KeyError as exc:
            raise AlertConfigError(f"{where}: rule {rule.name!r}: channel {exc.args[0]!r} is not configured "
                                   f"(configured: {', '.join(delivery.names()) or 'none'})") from None


def unit_of_system(state: Any) -> Callable[[str], bool]:
    """``source -> bool``: is it a unit of a parallel / three-phase system among the live state's
    devices (solarmon/web/systems.py's rule)? The alerts then watch the shared battery on the system."""
    def check(source: str) -> bool:
        kind, _, device = source.partition(":")
        if kind != "inverter" or state is None:
            return False
        return systems.member_of(device, systems.units_of(state.devices())) is not None
    return check


def init_app(app: Flask, ctx: WebContext) -> None:
    """Load `alerts:`, build the service (not started) and register the routes and the banner."""
    where = ctx.config.source
    config = load_alerts_config(ctx.config.raw_sections.get("alerts"), where=where,
                                base_dir=ctx.config.base_dir)
    app.register_blueprint(bp)
    app.context_processor(_banner_context)
    if not config.enabled:
        LOG.info("alerts are off (alerts.enabled: false in %s)", where)
        return
    relay: list[AlertService] = []

    def on_result(*args: Any) -> None:
        if relay:
            relay[0].record_delivery(*args)

    delivery = build_delivery(config, ctx.config.raw_sections.get("mqtt"), where, on_result=on_result)
    check_channels(config, delivery, where)
    store = AlertStore(ctx.config.path(ctx.config.history.db_path))
    service = AlertService(config.parsed_rules, state=ctx.parts.state, store=store, delivery=delivery,
                           notify_interval_s=config.notify_interval_s, tick_s=config.tick_s,
                           log_retention_days=config.log_retention_days,
                           unit_of_system=unit_of_system(ctx.parts.state))
    relay.append(service)
    ctx.parts.alerts = service
    ctx.add_service(service, PART)  # after the history: its migration makes the alert tables
    ctx.health[PART] = service.health
    registry = ctx.parts.registry  # the app's Prometheus registry (solarmon.web.metrics)
    if registry is not None:
        registry.register(AlertsCollector(service))
    LOG.info("alerts: %d rule(s), channels: %s", len(config.parsed_rules),
             ", ".join(delivery.names()) or "none")


def _nav_items(theme: str, endpoint: str) -> list[dict[str, Any]]:
    """The alerts page's entry in every page's navigation (the base layouts add `extra_nav`)."""
    url = "/alerts/lcars" if theme == "lcars" else "/alerts"
    return [{"label": "Alerts", "icon": "fa-bell", "url": url, "active": endpoint == "alerts"}]


def _banner_context() -> dict[str, Any]:
    """For every template: `alert_banner` (active alerts by severity; None when alerts are off)
    and `extra_nav(theme, endpoint)` (the alerts page in the navigation)."""
    try:
        service = get_context().parts.alerts
        summary = service.summary() if service is not None else None
    except Exception:  # the banner must never break a page
        LOG.debug("alert banner unavailable", exc_info=True)
        summary = None
    return {"alert_banner": summary, "extra_nav": _nav_items}


@bp.get("/api/alerts")
@read_access
def alerts() -> Response:
    """Active alerts, the log of past ones, the rules and the channels' health."""
    ctx = get_context()
    limit = arg_int("limit", 50, 1, MAX_LIMIT)
    service: AlertService | None = ctx.parts.alerts
    if service is None:
        return jsonify({"enabled": False, "active": [], "recent": [], "counts": {}, "unacknowledged": 0,
                        "rules": [], "channels": {}})
    if not service.store.is_open:
        raise ApiError(503, "unavailable", "the alert service is not running (see /api/status)")
    summary = service.summary()
    return jsonify({"enabled": True, "active": summary["alerts"], "recent": service.store.recent(limit or 50),
                    "counts": summary["counts"], "unacknowledged": summary["unacknowledged"],
                    "rules": [r.describe() for r in service.rules], "channels": service.delivery.stats(),
                    "store": service.store.status()})


def _acknowledge() -> Response:
    """Acknowledge one alert ({"id": n}): it stays listed until it clears, but no longer calls for
    attention (the banner counts only unacknowledged alerts)."""
    service: AlertService = need(get_context(), PART)
    if not service.store.is_open:
        raise ApiError(503, "unavailable", "the alert service is not running (see /api/status)")
    request.get_data(cache=True)  # 413 for an oversized body, which get_json(silent) would hide
    body = request.get_json(silent=True)
    alert_id = body.get("id") if isinstance(body, dict) else None
    if isinstance(alert_id, bool) or not isinstance(alert_id, int) or not 0 <= alert_id < 2**63:
        raise ApiError(400, "bad_request", 'send a JSON object such as {"id": 12}')
    row = service.store.acknowledge(alert_id, _who())
    if row is None:
        raise ApiError(404, "unknown_alert", f"there is no alert {alert_id}")
    try:
        audit_event("alert_acknowledge", target=str(alert_id), result="ok", detail=row["rule"])
    except Exception:  # the acknowledgement stands even when the audit log is unwritable
        LOG.exception("alerts: audit of the acknowledgement failed")
    return jsonify({"ok": True, "alert": row})


bp.add_url_rule("/api/alerts/ack", "acknowledge", require_role("operator")(_acknowledge), methods=["POST"])


def _page(theme: str) -> str:
    """The alerts page in one theme, framed like the other pages (their navigation, plus this one)."""
    page = {"endpoint": "alerts", "label": "Alerts", "icon": "fa-bell", "template": "alerts/page.html"}
    return render_part_page(theme, page, "/alerts")


@bp.get("/alerts")
@read_access
def page_standard() -> str:
    """The alerts page, standard theme."""
    return _page("standard")


@bp.get("/alerts/lcars")
@read_access
def page_lcars() -> str:
    """The alerts page, LCARS theme."""
    return _page("lcars")


@bp.after_request
def _headers(response: Response) -> Response:
    """The pages' security headers on the alerts page too (self-only content)."""
    if request.path.startswith("/alerts"):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
