"""The JSON API blueprint: live data, history, energy, CSV export, status and inverter commands.

Views read snapshots, never devices: every handler asks a part of the WebContext (live state,
history, energy, the daemon client) and answers 503 with a reason when that part is missing or
its data is stale. Every bad parameter gets a 400 with a JSON message naming it; errors are
`{"error": <code>, "message": <text>}` throughout (docs/API.md).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request, stream_with_context

from solarmon.web.auth import audit_event, authorize_command
from solarmon.web.control import ControlError
from solarmon.web.runtime import WebContext, get_context
from solarmon.web.state import inverter_source

bp = Blueprint("api", __name__, url_prefix="/api")

NAME_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
COMMAND_RE = re.compile(r"^[A-Za-z0-9.]{1,32}$")
MAX_METRICS = 50
MAX_HOURS = 8760
DEFAULT_POINTS = 1000
MAX_POINTS = 10000
MAX_TS = 253402300799  # 9999-12-31T23:59:59Z: later times do not fit a datetime
MAX_RANGE_S = 20 * 365 * 86400  # a start/end range longer than this is a typo, not a question
# The daemon's error kinds (docs/INTERFACES.md "Daemon") and the HTTP status each becomes.
DAEMON_ERROR_STATUS = {"invalid": 400, "refused": 409, "nak": 422, "timeout": 504,
                       "device_gone": 503, "busy": 503}


class ApiError(Exception):
    """Raised by a view or helper: becomes `{"error", "message"}` with `status`."""

    def __init__(self, status: int, error: str, message: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        """Remember the status, the stable error code, the message, headers and extra JSON fields."""
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra
        self.headers = headers or {}


def init_app(app: Flask, ctx: WebContext) -> None:
    """Register the blueprint and the error handlers (the extension hook)."""
    app.register_blueprint(bp)
    app.register_error_handler(ApiError, api_error_response)
    try:
        from solarmon.web.history import HistoryUnavailableError
    except ImportError:
        return
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


def need(ctx: WebContext, name: str) -> Any:
    """The part `name`, or a 503 saying it is not available in this installation."""
    part = ctx.part(name)
    if part is None:
        raise ApiError(503, "unavailable", f"the {name} part of the web app is not available (see the log)")
    return part


def iso(ts: float | None) -> str | None:
    """A Unix timestamp as ISO 8601 UTC (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


# -- parameters --------------------------------------------------------------------------------
def arg_int(name: str, default: int | None, low: int, high: int) -> int | None:
    """An integer query parameter within [low, high] (400 otherwise)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_parameter", f"{name} must be an integer, not {raw[:40]!r}") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_parameter", f"{name} must be between {low} and {high}, not {value}")
    return value


def arg_time(name: str) -> float | None:
    """An ISO 8601 time parameter as a Unix timestamp (naive times are UTC)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(400, "bad_parameter", f"{name} must be an ISO 8601 time such as "
                       f"2026-11-26T12:00:00Z, not {raw[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        raise ApiError(400, "bad_parameter", f"{name} is out of range") from None


def time_range(now: float, default_hours: int = 24) -> tuple[float, float]:
    """`hours=` back from now, or `start=` / `end=`; never both; end after start."""
    hours = arg_int("hours", None, 1, MAX_HOURS)
    start, end = arg_time("start"), arg_time("end")
    if hours is not None and (start is not None or end is not None):
        raise ApiError(400, "bad_parameter", "give either hours or start/end, not both")
    if start is None and end is None:
        span = (hours or default_hours) * 3600
        return now - span, now
    end = now if end is None else end
    if start is None:
        start = end - default_hours * 3600
    if end <= start:
        raise ApiError(400, "bad_parameter", "end must be after start")
    if start < 0 or end > MAX_TS:
        raise ApiError(400, "bad_parameter", "start and end must lie between 1970 and 9999")
    if end - start > MAX_RANGE_S:
        raise ApiError(400, "bad_parameter", "the time range is longer than 20 years")
    return start, end


def arg_metrics() -> list[str] | None:
    """`metrics=a,b,c` (or repeated `metrics=`): metric names; None when not given."""
    raw = [part for value in request.args.getlist("metrics") for part in value.split(",")]
    names = [name.strip() for name in raw if name.strip()]
    if not names:
        return None
    if len(names) > MAX_METRICS:
        raise ApiError(400, "bad_parameter", f"at most {MAX_METRICS} metrics at once")
    for name in names:
        if not NAME_RE.match(name):
            raise ApiError(400, "bad_parameter", f"metrics: {name[:40]!r} is not a metric name")
    return list(dict.fromkeys(names))


def pick_device(ctx: WebContext, devices: list[str] | None = None) -> str:
    """The `device=` parameter checked against the devices seen (default: the first); its source id."""
    if devices is None:
        devices = need(ctx, "state").devices()
    raw = request.args.get("device")
    if raw is None or raw == "":
        if not devices:
            # After a restart the history knows the devices before the first file is read.
            known = [s for s in history_sources(ctx) if s.startswith("inverter:")]
            if known:
                return known[0]
            raise ApiError(503, "no_data", "no inverter has delivered data yet (is the daemon running?)")
        return inverter_source(devices[0])
    if not NAME_RE.match(raw):
        raise ApiError(400, "bad_parameter", f"device: {raw[:40]!r} is not a device name")
    if raw not in devices and inverter_source(raw) not in history_sources(ctx):
        raise ApiError(404, "unknown_device", f"no device {raw!r}; known: {', '.join(devices) or 'none'}")
    return inverter_source(raw)


def history_sources(ctx: WebContext) -> list[str]:
    """The sources the history database holds ([] when there is none, or it is not open)."""
    history = ctx.part("history")
    if history is None:
        return []
    try:
        return list(history.sources())
    except RuntimeError:  # HistoryUnavailableError: not started or broken; /api/status says why
        return []


# -- endpoints ---------------------------------------------------------------------------------
@bp.get("/data")
def data() -> Response:
    """Latest values of one inverter with units, timestamp and age; 503 when nothing is fresh."""
    ctx = get_context()
    state = need(ctx, "state")
    devices = state.devices()
    source = pick_device(ctx, devices)
    snap = state.snapshot(source)
    if snap is None:
        raise ApiError(503, "no_data", f"{source} has no live data yet (is the daemon running?)")
    device = source.split(":", 1)[1]
    if snap.age_s > ctx.config.data.stale_after_s:
        raise ApiError(503, "stale", f"the newest values of {device} are {snap.age_s:.0f} s old "
                       "(is the daemon running?)", age_s=round(snap.age_s, 3), timestamp=iso(snap.ts))
    # The body only changes when a new reading arrives, but /api/data is asked many times per
    # reading (every open dashboard polls it): encode once per reading, splice in the age.
    key = (snap.ts, tuple(devices), snap.health.ok, snap.health.error, hash(tuple(snap.values.items())))
    cache: dict[str, tuple[Any, bytes]] = ctx.parts.setdefault("data_body_cache", {})
    cached = cache.get(source)
    if cached is None or cached[0] != key:
        body = snap.to_json()
        del body["age_s"]
        body.update(device=device, devices=devices, timestamp=iso(snap.ts),
                    stale_after_s=ctx.config.data.stale_after_s)
        cached = (key, json.dumps(body, separators=(",", ":")).encode()[:-1] + b',"age_s":')
        cache[source] = cached
    return Response(cached[1] + f"{snap.age_s:.3f}}}".encode(), mimetype="application/json")


@bp.get("/historical")
def historical() -> Response:
    """Series of the asked metrics over a time range, downsampled on the server."""
    ctx = get_context()
    history = need(ctx, "history")
    source = pick_device(ctx)
    start, end = time_range(time.time())
    points = arg_int("points", DEFAULT_POINTS, 1, MAX_POINTS)
    metrics = arg_metrics()
    if metrics is None:
        metrics = [row["metric"] for row in history.metrics(source)]
    try:
        # The fast path: SQLite builds the arrays and the body; Python never touches the numbers.
        body = history.historical_json(source, metrics, int(start), int(end) + 1, points=points,
                                       extra={"device": source.split(":", 1)[1]})
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from exc
    return Response(body, mimetype="application/json")


@bp.get("/export.csv")
def export_csv() -> Response:
    """The asked metrics over a time range as CSV, streamed row by row."""
    ctx = get_context()
    history = need(ctx, "history")
    source = pick_device(ctx)
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

    name = f"solarmon-{source.split(':', 1)[1]}-{datetime.fromtimestamp(start, UTC):%Y%m%d}.csv"
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
    """kWh per day or month for PV, load, battery and grid, per device and in total."""
    ctx = get_context()
    energy_part = need(ctx, "energy")
    period = request.args.get("period", "day")
    if period not in ("day", "month"):
        raise ApiError(400, "bad_parameter", f"period must be day or month, not {period[:20]!r}")
    count = arg_int("count", None, 1, 366 if period == "day" else 120)
    source = pick_device(ctx) if request.args.get("device") else None
    try:
        return jsonify(energy_part.report(period, source=source, count=count))
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from exc


@bp.get("/status")
def status() -> Response:
    """Health of every source (inverter files, history DB, daemon, MQTT...) and every service."""
    ctx = get_context()
    sources: dict[str, Any] = {}
    state = ctx.part("state")
    if state is not None:
        snaps = state.snapshots()
        for name, health in state.health().items():
            snap = snaps.get(name)
            sources[name] = {"ok": health.ok, "error": health.error, "last_ok": iso(health.last_ok),
                             "last_error": iso(health.last_error), "error_count": health.error_count,
                             "errors_by_kind": health.errors_by_kind,
                             "age_s": None if snap is None else round(snap.age_s, 1)}
    for name, probe in ctx.health.items():
        try:
            sources[name] = probe()
        except Exception as exc:  # a failing probe is itself a status to show, not a 500
            sources[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    runtime = ctx.part("runtime")
    streams = ctx.part("streams")
    security = ctx.part("security")
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


def _sensor_sources(ctx: WebContext, prefix: str) -> Response:
    """Every live source named `prefix` or `prefix:<name>` (empty until MQTT delivers)."""
    state = ctx.part("state")
    snaps = state.snapshots() if state is not None else {}
    found = {name: snap.to_json() for name, snap in snaps.items()
             if name == prefix or name.startswith(prefix + ":")}
    return jsonify({"sources": found, "available": bool(found)})


@bp.get("/house")
def house() -> Response:
    """House sensors (MQTT house/#); empty until a sensor has reported."""
    return _sensor_sources(get_context(), "house")


@bp.get("/weather")
def weather() -> Response:
    """Weather (MQTT weather/#); empty until the weather fetcher has reported."""
    return _sensor_sources(get_context(), "weather")


@bp.post("/command")
def command() -> Response:
    """Forward one inverter command to the daemon and relay its reply.

    The guard (solarmon.web.auth) has let in only an operator (session + CSRF, or an API token);
    `authorize_command` adds that dangerous and unknown commands need an admin. Every command is
    audited with who sent it and the daemon's result.
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
    authorize_command(cmd)
    target = f"{device or ''}:{cmd}" if device else cmd
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
