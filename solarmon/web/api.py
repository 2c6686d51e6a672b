"""The JSON API blueprint: live data, history, energy, CSV export, status and inverter commands.

Views read snapshots, never devices: every handler asks a part of the WebContext (live state,
history, energy, the daemon client) and answers 503 with a reason when that part is missing or
its data is stale. Every bad parameter gets a 400 with a JSON message naming it; errors are
`{"error": <code>, "message": <text>}` throughout (docs/API.md).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request, stream_with_context

from solarmon.inverter import catalog
from solarmon.web import bms, systems, totals
from solarmon.web.auth import audit_event, authorize_command, read_access
from solarmon.web.control import ControlError
from solarmon.web.history import HistoryUnavailableError
from solarmon.web.params import (
    NAME_RE,
    ApiError,
    arg_int,
    arg_metrics,
    iso,
    need,
    pick_device,
    pick_source,
    time_range,
)
from solarmon.web.runtime import WebContext, get_context
from solarmon.web.state import inverter_source

# ApiError, need, iso and the parameter helpers live in solarmon/web/params.py (below the auth
# package, which imports them from there); they are re-exported here for older callers.
__all__ = ["ApiError", "api_error_response", "arg_int", "bp", "init_app", "iso", "need"]

bp = Blueprint("api", __name__, url_prefix="/api")

COMMAND_RE = re.compile(r"^[A-Za-z0-9.]{1,32}$")
DEFAULT_POINTS = 1000
MAX_POINTS = 10000
# The daemon's error kinds (docs/INTERFACES.md "Daemon") and the HTTP status each becomes.
DAEMON_ERROR_STATUS = {"invalid": 400, "refused": 409, "nak": 422, "timeout": 504,
                       "device_gone": 503, "busy": 503}


def init_app(app: Flask, ctx: WebContext) -> None:
    """Register the blueprint and the error handlers (the extension hook)."""
    app.register_blueprint(bp)
    app.register_error_handler(ApiError, api_error_response)
    app.register_error_handler(HistoryUnavailableError, history_unavailable_response)


def history_unavailable_response(exc: Exception) -> Response:
    """The history database is not open (not started, or failed): 503 with its reason."""
    return api_error_response(ApiError(503, "history_unavailable",
                                       f"the history database is unavailable: {exc}"))


def api_error_response(exc: ApiError) -> Response:
    """The JSON body and status of an ApiError."""
    response = jsonify({"error": exc.error, "message": exc.message, **exc.extra})
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response


# -- endpoints ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _DataBody:
    """/api/data's body for one version of a source, encoded once: the JSON up to the ages, the
    keys (JSON-quoted) with their read times for the ages written per request, and its ETag."""

    version: tuple[int, ...]  # the source's, then those of a system's units (their block is in it)
    devices: tuple[str, ...]
    built_at: float
    expires: float
    ts: float
    etag: str
    head: bytes
    live: list[tuple[str, float]]
    stale: list[tuple[str, float]]


_BOOT = secrets.token_hex(4)  # in every ETag: a restarted app never matches an old one
_BUILDS = itertools.count(1)


@bp.get("/data")
def data() -> Response:
    """The live values of one inverter (catalog keys) with units, kinds, each value's age, the
    values too old to be live (`stale`), the faults and warnings set now; 503 when nothing is fresh.

    The body only changes when a reading arrives, an error is recorded or a value ages out, but
    /api/data is asked many times per reading: it is encoded once per change (with a weak ETag
    naming that change; If-None-Match -> 304) and per request only the ages are written."""
    ctx = get_context()
    state = need(ctx, "state")
    devices = tuple(state.devices())
    source = pick_device(ctx, list(devices))
    body, version, now = cached_data_body(ctx, source, devices)
    if body is None:
        body = _build_data_body(ctx, source, devices, version)
        now = body.built_at
        ctx.parts.data_body_cache[source] = body
    if request.if_none_match.contains_weak(body.etag[3:-1]):
        response = Response(status=304)
    else:
        response = Response(data_payload(body, now), mimetype="application/json")
    response.headers["ETag"] = body.etag
    response.headers["Cache-Control"] = "no-cache"
    return response


def _data_version(state: Any, source: str, devices: tuple[str, ...]) -> tuple[tuple[int, ...], float]:
    """What the cached body of `source` depends on — its own version and every other inverter's
    (a parallel or three-phase system's `system` block describes its units; the site's `totals` add
    up every inverter) — and the state's clock now."""
    own, now = state.version(source)
    others = [inverter_source(device) for device in devices if inverter_source(device) != source]
    return (own, *(state.version(other)[0] for other in others)), now


def cached_data_body(
    ctx: WebContext, source: str, devices: tuple[str, ...],
) -> tuple[_DataBody | None, tuple[int, ...], float]:
    """(the encoded body of `source` if it is still current, else None; the version it must be
    of; the state's time now)."""
    version, now = _data_version(need(ctx, "state"), source, devices)
    body: _DataBody | None = ctx.parts.data_body_cache.get(source)
    if body is None or body.version != version or body.devices != devices \
            or not body.built_at <= now < body.expires:
        return None, version, now
    return body, version, now


def data_payload(body: _DataBody, now: float) -> bytes:
    """/api/data's bytes at `now`: the encoded head and the ages written now."""
    ages: dict[float, str] = {}
    for _, ts in (*body.live, *body.stale):
        if ts not in ages:
            ages[ts] = f"{max(0.0, now - ts):.3f}"
    tail = (',"ages":{' + ",".join(f"{k}:{ages[ts]}" for k, ts in body.live) + '},"stale":{'
            + ",".join(f"{k}:{ages[ts]}" for k, ts in body.stale)
            + f'}},"age_s":{max(0.0, now - body.ts):.3f}}}')
    return body.head + tail.encode()


def _build_data_body(ctx: WebContext, source: str, devices: tuple[str, ...],
                     version: tuple[int, ...]) -> _DataBody:
    """Encode /api/data's body for the source's current snapshot (503 when it is not fresh)."""
    snap = need(ctx, "state").snapshot(source)
    if snap is None:
        raise ApiError(503, "no_data", f"{source} has no live data yet (is the daemon running?)",
                       devices=list(devices))
    device = source.split(":", 1)[1]
    if not snap.fresh:
        raise ApiError(503, "stale", f"the newest values of {device} are {snap.age_s:.0f} s old "
                       "(is the daemon running?)", age_s=round(snap.age_s, 3), timestamp=iso(snap.ts),
                       devices=list(devices))
    body = snap.to_json()
    for moving in ("age_s", "ages", "stale"):
        del body[moving]
    body.update(device=device, devices=list(devices), timestamp=iso(snap.ts),
                stale_after_s=ctx.config.data.stale_after_s,
                **_system_fields(need(ctx, "state"), device, list(devices), snap))
    expires = snap.expires
    if len(devices) > 1:
        # The site's totals over several inverters (solarmon/web/totals.py): computed here, once.
        snaps = {src: s for src in map(inverter_source, devices)
                 if (s := need(ctx, "state").snapshot(src)) is not None}
        site = totals.site_totals(list(devices), snaps)
        if site is not None:
            body["totals"] = site
        # A system's block and the totals change when another inverter's values age out.
        expires = min(expires, totals.expires(list(devices), snaps))
    return _DataBody(
        version=version, devices=devices, built_at=snap.ts + snap.age_s, expires=expires,
        ts=snap.ts, etag=f'W/"{_BOOT}-{next(_BUILDS)}"',
        head=json.dumps(body, separators=(",", ":")).encode()[:-1],
        live=[(json.dumps(k), snap.times[k]) for k in snap.ages],
        stale=[(json.dumps(k), snap.times[k]) for k in snap.stale])


def _system_fields(state: Any, device: str, devices: list[str], snap: Any) -> dict[str, Any]:
    """``systems`` (system device -> its unit devices), and for a system device its ``system``
    block, for a unit the system it belongs to (``member_of``): solarmon/web/systems.py."""
    found = systems.units_of(devices)
    out: dict[str, Any] = {"systems": found}
    if device in found:
        units = found[device]
        snaps = {src: s for src in map(inverter_source, units) if (s := state.snapshot(src)) is not None}
        block = systems.describe(device, snap, units, snaps)
        if block is not None:
            out["system"] = block
    elif (parent := systems.member_of(device, found)) is not None:
        out["member_of"] = parent
    return out


@bp.get("/catalog")
@read_access
def field_catalog() -> Response:
    """Every field's label, unit, kind and precision (the pages render values with these)."""
    fields = {key: {"label": info.label, "unit": info.unit, "kind": str(info.kind),
                    "precision": info.precision, "command": info.command}
              for key, info in catalog.CATALOG.items()}
    response = jsonify({"fields": fields, "derived": list(catalog.DERIVED_KEYS)})
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/historical")
def historical() -> Response:
    """Series of the asked metrics of one source over a time range, downsampled on the server."""
    ctx = get_context()
    history = need(ctx, "history")
    source = pick_source(ctx)
    start, end = time_range(time.time())
    points = arg_int("points", DEFAULT_POINTS, 1, MAX_POINTS)
    metrics = arg_metrics()
    if metrics is None:
        metrics = [row["metric"] for row in history.metrics(source)]
    try:
        # The fast path: SQLite builds the arrays and the body; Python never touches the numbers.
        body = history.historical_json(source, metrics, int(start), int(end) + 1, points=points,
                                       extra=_source_fields(source))
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from exc
    return Response(body, mimetype="application/json")


def _source_fields(source: str) -> dict[str, str]:
    """The `device` an inverter source's history body names (sensor sources have none)."""
    return {"device": source.split(":", 1)[1]} if ":" in source else {}


@bp.get("/export.csv")
def export_csv() -> Response:
    """The asked metrics of one source over a time range as CSV, streamed row by row."""
    ctx = get_context()
    history = need(ctx, "history")
    source = pick_source(ctx)
    start, end = time_range(time.time())
    metrics = arg_metrics() or [row["metric"] for row in history.metrics(source)]
    rows = history.export_rows(source, metrics, int(start), int(end) + 1)

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["time", "timestamp", *metrics])
        for ts, values in rows:
            writer.writerow([iso(ts), ts, *("" if v is None else v for v in values)])
            if buffer.tell() > 16384:  # send in chunks: one write per row would be slow
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    name = f"solarmon-{source.split(':', 1)[-1]}-{datetime.fromtimestamp(start, UTC):%Y%m%d}.csv"
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/refresh")
def refresh() -> Response:
    """Re-read every .prom file now; answer with how many were read and the devices seen."""
    ctx = get_context()
    count = need(ctx, "reader").scan(force=True)
    return jsonify({"files_read": count, "devices": need(ctx, "state").devices(), "ts": time.time()})


@bp.get("/energy")
def energy() -> Response:
    """kWh per day, month or year for PV, load, battery and grid, per device and in total, with
    each period's self-sufficiency."""
    ctx = get_context()
    energy_part = need(ctx, "energy")
    period = request.args.get("period", "day")
    if period not in ("day", "month", "year"):
        raise ApiError(400, "bad_parameter", f"period must be day, month or year, not {period[:20]!r}")
    count = arg_int("count", None, 1, {"day": 366, "month": 120}.get(period, 20))
    # A parallel / three-phase system's energy is its own, from its system values (energy.py); in the
    # total over every device its units are not counted a second time.
    source = pick_device(ctx) if request.args.get("device") else None
    found = systems.units_of(need(ctx, "state").devices())
    units = {inverter_source(unit) for members in found.values() for unit in members}
    try:
        return jsonify(energy_part.report(period, source=source, count=count, units=units))
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from exc


@bp.get("/status")
def status() -> Response:
    """Health of every source (inverter files, history DB, daemon, MQTT...) and every service.

    An inverter is ok only when its file says up and its newest value is within
    data.stale_after_s: the same rule as /api/data's 503."""
    ctx = get_context()
    sources: dict[str, Any] = {}
    state = ctx.parts.state
    if state is not None:
        snaps = state.snapshots()
        for name, health in state.health().items():
            snap = snaps.get(name)
            ok, error = health.ok, health.error
            if ok and snap is not None and not snap.fresh:
                ok, error = False, (f"stale: the newest value is {snap.age_s:.0f} s old "
                                    f"(limit {snap.stale_after_s:g} s)")
            sources[name] = {"ok": ok, "error": error, "last_ok": iso(health.last_ok),
                             "last_error": iso(health.last_error), "error_count": health.error_count,
                             "errors_by_kind": health.errors_by_kind,
                             "age_s": None if snap is None else round(snap.age_s, 1)}
    for name, probe in ctx.health.items():
        try:
            sources[name] = probe()
        except Exception as exc:  # a failing probe is itself a status to show, not a 500
            sources[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    runtime = ctx.parts.runtime
    streams = ctx.parts.streams
    security = ctx.parts.security
    commands_enabled = bool(ctx.config.daemon.control_socket) and (
        security is None or security.commands_possible())
    # Without commands the control socket is optional (e.g. upstream mppsolar writes the files).
    counted = {name: s for name, s in sources.items() if name != "daemon" or commands_enabled}
    return jsonify({
        "ok": all(bool(s.get("ok")) for s in counted.values()),
        "time": iso(time.time()),
        "uptime_s": round(time.time() - ctx.started_at, 1),
        "sources": sources,
        "services": runtime.describe() if runtime is not None else [],
        "streams": streams.describe() if streams is not None else None,
        "commands_enabled": commands_enabled,
    })


# What the pages say when the MQTT part is off (a part not configured is not "waiting for data").
SENSOR_WORDS = {"house": "house sensors are", "weather": "the weather is", "battery": "BMS values are"}


def _sensor_sources(ctx: WebContext, prefix: str) -> Response:
    """Every live source named `prefix` or `prefix:<name>` (empty until MQTT delivers); each
    snapshot has `ages`: every sensor's own age in seconds (sensors report at their own pace);
    `configured` false, with the `reason` in words, when web.yaml has no `mqtt:` section."""
    state = ctx.parts.state
    snaps = state.snapshots() if state is not None else {}
    found = {name: snap.to_json() for name, snap in snaps.items()
             if name == prefix or name.startswith(prefix + ":")}
    body: dict[str, Any] = {"sources": found, "available": bool(found), "configured": True}
    if ctx.config.raw_sections.get("mqtt") is None:
        where = Path(str(ctx.config.source)).name
        body.update(configured=False, reason=f"{SENSOR_WORDS[prefix]} off: no mqtt section in {where}")
    return jsonify(body)


@bp.get("/house")
def house() -> Response:
    """House sensors (MQTT house/#); empty until a sensor has reported."""
    return _sensor_sources(get_context(), "house")


@bp.get("/weather")
def weather() -> Response:
    """Weather (MQTT weather/#); empty until the weather fetcher has reported."""
    return _sensor_sources(get_context(), "weather")


@bp.get("/battery")
@read_access  # like /api/house (the guard's own list): values anyone who may read may see
def battery() -> Response:
    """The BMSs: those the daemon polls (``bms``, described by solarmon/web/bms.py, and ``soc``,
    the BMS's state of charge with its source) and MQTT battery/# (``sources``: cell1..N...)."""
    ctx = get_context()
    response = _sensor_sources(ctx, "battery")
    state = ctx.parts.state
    snaps = state.snapshots() if state is not None else {}
    body = response.get_json()
    body["bms"] = bms.describe_all(snaps)
    body["soc"] = bms.preferred_soc(snaps)
    body["available"] = bool(body["available"] or body["bms"])
    if body["bms"]:  # a BMS the daemon polls: the part is on, with or without MQTT
        body["configured"] = True
        body.pop("reason", None)
    return jsonify(body)


@bp.post("/command")
def command() -> Response:
    """Forward one inverter command to the daemon and relay its reply.

    The guard (solarmon.web.auth) has let in only an operator (session + CSRF, or an API token);
    `authorize_command` adds that dangerous and unknown commands need an admin. Every command is
    audited with who sent it and the daemon's result. `units` ("all" or a unit number) sends a
    per-unit setting to the units of a parallel system (docs/SYSTEMS.md, "Settings").
    """
    ctx = get_context()
    request.get_data(cache=True)  # raises 413 for an oversized body, which get_json(silent) would hide
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", 'send a JSON object such as {"command": "QPIGS"}')
    cmd = body.get("command")
    if not isinstance(cmd, str) or not COMMAND_RE.match(cmd):
        raise ApiError(400, "bad_parameter",
                       "command must be 1-32 letters, digits or dots (e.g. QPIGS, POP02)")
    payload: dict[str, Any] = {"command": cmd}
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise ApiError(400, "bad_parameter", "confirm must be true or false")
    if confirm:
        payload["confirm"] = True
    device = body.get("device")
    if device is not None:
        if not isinstance(device, str) or not NAME_RE.match(device):
            raise ApiError(400, "bad_parameter", "device must be a device name")
        payload["device"] = device
    units = body.get("units")
    if units is not None:
        if units != "all" and (not isinstance(units, int) or isinstance(units, bool) or not 0 <= units <= 8):
            raise ApiError(400, "bad_parameter", 'units must be "all" or a unit number 0-8')
        payload["units"] = units
    authorize_command(cmd)
    target = f"{device or ''}:{cmd}" if device else cmd
    if units is not None:
        target += f" (units {units})"
    try:
        reply = need(ctx, "control").request(payload)
    except ControlError as exc:
        audit_event("command", target=target, result=exc.kind, detail=str(exc))
        raise ApiError(exc.status, exc.kind, str(exc)) from exc
    if reply.get("ok"):
        verified = reply.get("verified")
        audit_event("command", target=target, result="ok",
                    detail=f"verified {json.dumps(verified)}" if verified else str(reply.get("class") or ""))
        return jsonify(reply)
    kind = str(reply.get("error") or "daemon_error")
    audit_event("command", target=target, result=kind, detail=str(reply.get("message") or ""))
    response = jsonify({**reply, "error": kind, "message": str(reply.get("message") or kind)})
    response.status_code = DAEMON_ERROR_STATUS.get(kind, 502)
    return response
