"""Query parameters of the JSON API: time ranges, metric names, and which source is asked.

Shared by the views of solarmon/web/api.py (and the alerts' API): each helper reads one kind of
parameter from the current request and raises `ApiError` (a 400 with a JSON message naming the
parameter, or a 404 / 503) for anything it cannot serve. A source is an inverter
(`device=<section>` or `source=inverter:<section>`) or an MQTT-fed one (`source=house`, `weather`,
`battery`), whose metric names are sensor topics below the root and may hold `/`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import request

from solarmon.web.runtime import WebContext
from solarmon.web.state import INVERTER_PREFIX, inverter_source

NAME_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
# An inverter metric key, or a sensor name as the MQTT subscriber stores it (solarmon/mqtt/payload.py:
# up to 3 topic levels below house/, weather/ or battery/, e.g. living_room/temperature).
METRIC_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}(/[A-Za-z0-9_\-]{1,64}){0,2}$")
# The MQTT-fed sources /api/historical and /api/export.csv serve besides the inverters.
SENSOR_SOURCES = ("house", "weather", "battery")
MAX_METRICS = 50
MAX_HOURS = 8760
MAX_TS = 253402300799  # 9999-12-31T23:59:59Z: later times do not fit a datetime
MAX_RANGE_S = 20 * 365 * 86400  # a start/end range longer than this is a typo, not a question


class ApiError(Exception):
    """Raised by a view or helper: becomes `{"error", "message"}` with `status`."""

    def __init__(self, status: int, error: str, message: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        """Remember the status, the stable error code, the message, headers and extra JSON fields."""
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra
        self.headers = headers or {}



def need(ctx: WebContext, name: str) -> Any:
    """The part `name`, or a 503 saying it is not available in this installation."""
    part = getattr(ctx.parts, name)
    if part is None:
        raise ApiError(503, "unavailable", f"the {name} part of the web app is not available (see the log)")
    return part


def iso(ts: float | None) -> str | None:
    """A Unix timestamp as ISO 8601 UTC (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


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
        if not METRIC_RE.match(name):
            raise ApiError(400, "bad_parameter", f"metrics: {name[:40]!r} is not a metric name")
    return list(dict.fromkeys(names))


def pick_device(ctx: WebContext, devices: list[str] | None = None, name: str | None = None) -> str:
    """The `device=` parameter (or `name`) checked against the devices seen (default: the first);
    its source id."""
    if devices is None:
        devices = need(ctx, "state").devices()
    raw = request.args.get("device") if name is None else name
    if not raw and name is None:  # an empty `name` (source=inverter:) is a bad name, not "any"
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


def pick_source(ctx: WebContext) -> str:
    """The source asked by `source=` (house, weather, battery or inverter:<section>) or `device=`;
    without either, the first inverter. An unknown source is a 400 `unknown_source`."""
    raw = request.args.get("source")
    if raw is None or raw == "":
        return pick_device(ctx)
    if request.args.get("device"):
        raise ApiError(400, "bad_parameter", "give either source or device, not both")
    if raw in SENSOR_SOURCES:
        return raw
    if raw.startswith(INVERTER_PREFIX):
        return pick_device(ctx, name=raw[len(INVERTER_PREFIX):])
    raise ApiError(400, "unknown_source", f"source must be {', '.join(SENSOR_SOURCES)} or "
                   f"inverter:<device>, not {raw[:40]!r}")


def history_sources(ctx: WebContext) -> list[str]:
    """The sources the history database holds ([] when there is none, or it is not open)."""
    history = ctx.parts.history
    if history is None:
        return []
    try:
        return list(history.sources())
    except RuntimeError:  # HistoryUnavailableError: not started or broken; /api/status says why
        return []


def arg_choice(name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    """A query parameter that must be one of `choices` (400 naming them otherwise)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise ApiError(400, "bad_parameter", f"{name} must be one of {', '.join(choices)}, not {raw[:40]!r}")
    return raw


def arg_choices(name: str, choices: tuple[str, ...]) -> list[str]:
    """A comma-separated (or repeated) parameter whose every item is one of `choices`."""
    raw = [part.strip() for value in request.args.getlist(name) for part in value.split(",")]
    items = [item for item in raw if item]
    for item in items:
        if item not in choices:
            raise ApiError(400, "bad_parameter", f"{name} must be one or more of {', '.join(choices)} "
                           f"(comma-separated), not {item[:40]!r}")
    return list(dict.fromkeys(items))


def arg_search(name: str, pattern: re.Pattern[str] = NAME_RE) -> str:
    """A search text (e.g. part of a name): '' when absent; 400 when it does not fit `pattern`."""
    raw = request.args.get(name, "")
    if raw and not pattern.match(raw):
        raise ApiError(400, "bad_parameter", f"{name}: {raw[:40]!r} is not a name to search for "
                       "(1..64 characters of A-Z a-z 0-9 _ . : -)")
    return raw
