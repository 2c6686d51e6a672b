"""The OpenAPI description of the hub's endpoints (GET /api/fleet...), merged into
/api/openapi.json by solarmon/web/openapi.py; schemathesis checks the answers against it."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
TEXT = {"type": "string"}
NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": ["number", "null"]}
SITE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
SORTS = ["name", "status", "soc", "pv", "load", "alerts"]
PROBLEMS = ["stale", "down", "alerts", "low_soc"]
_ALERT = {"type": "object", "additionalProperties": False, "required": ["rule", "severity", "source"],
          "properties": {"rule": TEXT, "severity": TEXT, "source": TEXT}}
SITE = {
    "type": "object",
    "required": ["site", "status", "stale_reason", "source", "age_s", "sample_age_s", "data_age_s",
                 "values_age_s", "pv_w", "load_w", "soc_percent", "battery_w", "grid_w", "energy_today_wh",
                 "alerts", "alert_count"],
    "properties": {
        "site": TEXT, "status": {"type": "string", "enum": ["up", "stale", "down"]},
        "stale_reason": {"type": ["string", "null"],
                         "enum": ["no_recent_sample", "data_old", "no_recent_sample_and_data_old", None]},
        "source": {"type": ["string", "null"]},
        **dict.fromkeys(("age_s", "sample_age_s", "data_age_s", "values_age_s", "pv_w", "load_w",
                         "soc_percent", "battery_w", "grid_w"), NULLABLE_NUMBER),
        "energy_today_wh": {"type": "object", "additionalProperties": NUMBER},
        "alerts": {"type": "array", "items": _ALERT}, "alert_count": {"type": "integer"},
    },
}
FLEET = {
    "type": "object", "additionalProperties": False,
    "required": ["time", "cached", "cache_age_s", "query_s", "stale_after_s", "lookback_s", "low_soc_percent",
                 "sort", "order", "problem", "q", "total", "counts", "sites"],
    "properties": {
        "time": NUMBER, "cached": {"type": "boolean"}, "cache_age_s": NUMBER, "query_s": NUMBER,
        "stale_after_s": NUMBER, "lookback_s": NUMBER, "low_soc_percent": NUMBER,
        "sort": {"type": "string", "enum": SORTS}, "order": {"type": "string", "enum": ["asc", "desc"]},
        "problem": {"type": "array", "items": {"type": "string", "enum": PROBLEMS}}, "q": TEXT,
        "total": {"type": "integer"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "sites": {"type": "array", "items": SITE},
    },
}
_SERIES = {"type": "object", "required": ["unit", "avg", "min", "max"],
           "properties": {"unit": TEXT, **{k: {"type": "array", "items": NULLABLE_NUMBER}
                                           for k in ("avg", "min", "max")}}}
HISTORY = {"type": "object", "required": ["source", "site", "tier", "step_s", "start", "end", "t", "series",
                                          "unknown"],
           "properties": {"source": TEXT, "site": TEXT, "tier": {"type": "string", "enum": ["store"]},
                          "step_s": NUMBER, "start": NUMBER, "end": NUMBER,
                          "t": {"type": "array", "items": NUMBER},
                          "series": {"type": "object", "additionalProperties": _SERIES},
                          "unknown": {"type": "array", "items": TEXT}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ERRORS = {
    "400": _json(ERROR, "a bad parameter (the message names it)"),
    "404": _json(ERROR, "not a hub (no_fleet), an unknown site, or a site without data"),
    "502": _json(ERROR, "the central store answered with an error or not as a Prometheus API"),
    "503": _json(ERROR, "the central store cannot be reached"),
    "504": _json(ERROR, "the central store did not answer within fleet.timeout_s"),
}
SITE_PARAM = {"name": "site", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": SITE_PATTERN},
              "description": "the site's name (its agent's `site` label)"}


def openapi_paths() -> dict[str, Any]:
    """The hub's operations."""
    return {
        "/api/fleet": {"get": {
            "summary": "Every site of the fleet (hub mode): status up / stale (and why) / down, PV, load, "
                       "battery, today's energy, active alerts, ages; sorted and filtered",
            "parameters": [
                _query("sort", {"type": "string", "enum": SORTS}, "default name"),
                _query("order", {"type": "string", "enum": ["asc", "desc"]}, "default asc"),
                _query("problem", {"type": "string", "pattern": r"^((stale|down|alerts|low_soc)(,|$))*$"},
                       "only sites with any of these problems (comma-separated)"),
                _query("q", {"type": "string", "pattern": r"^[A-Za-z0-9_.:\-]{0,64}$"},
                       "only sites whose name contains this (any case)"),
            ],
            "responses": {"200": _json(FLEET, "the sites"), **ERRORS}}},
        "/api/fleet/{site}": {"get": {
            "summary": "One site as /api/fleet lists it",
            "parameters": [SITE_PARAM],
            "responses": {"200": _json({**SITE, "properties": {**SITE["properties"], "time": NUMBER,
                                                               "cached": {"type": "boolean"},
                                                               "stale_after_s": NUMBER, "lookback_s": NUMBER,
                                                               "headline_keys": {"type": "object"},
                                                               "broker": {"type": "boolean"},
                                                               "events": {"type": ["object", "null"]}}},
                                       "the site"), **ERRORS}}},
        "/api/fleet/{site}/historical": {"get": {
            "summary": "One site's history from the central store, in /api/historical's shape",
            "parameters": [
                SITE_PARAM,
                _query("source", {"type": "string", "pattern": r"^inverter:[A-Za-z0-9_.:\-]{1,64}$"},
                       "the site's inverter source (default: the one /api/fleet shows)"),
                _query("hours", {"type": "integer", "minimum": 1, "maximum": 8760},
                       "hours back (default 24)"),
                _query("start", {"type": "string", "format": "date-time"}, "ISO 8601 start"),
                _query("end", {"type": "string", "format": "date-time"}, "ISO 8601 end (default now)"),
                _query("metrics", {"type": "string"}, "comma-separated value keys (default PV, load, SoC)"),
                _query("points", {"type": "integer", "minimum": 1, "maximum": 5000},
                       "max points (default 500)"),
            ],
            "responses": {"200": _json(HISTORY, "timestamps and per-metric avg/min/max"), **ERRORS}}},
    }
