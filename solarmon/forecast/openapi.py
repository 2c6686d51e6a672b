"""The OpenAPI description of GET /api/forecast, merged into /api/openapi.json by
solarmon/web/openapi.py (schemathesis checks the answers against it, tests/web)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
NUMBER_OR_NULL = {"type": ["number", "null"]}
NUMBER = {"type": "number"}
STRING = {"type": "string"}
_CALIBRATION = {
    "type": ["object", "null"],
    "required": ["array", "factor", "hours", "curtailed_hours", "compared_with", "status"],
    "properties": {"array": {"type": "string"}, "factor": {"type": "number"}, "hours": {"type": "integer"},
                   "curtailed_hours": {"type": "integer"}, "compared_with": {"type": "string"},
                   "modelled_kwh": {"type": "number"}, "produced_kwh": {"type": "number"},
                   "status": {"type": "string", "enum": ["ok", "too_few_hours", "clamped"]}},
}
_ARRAY = {
    "type": "object", "required": ["name", "tilt_deg", "azimuth_deg", "peak_kw", "calibration"],
    "properties": {"name": STRING, "tilt_deg": NUMBER, "azimuth_deg": NUMBER, "peak_kw": NUMBER,
                   "losses_pct": NUMBER, "tracker": STRING, "calibration": _CALIBRATION},
}
_HOUR = {"type": "object", "required": ["start_ts", "expected_w"],
         "properties": {"start_ts": {"type": "integer"}, "expected_w": NUMBER_OR_NULL,
                        "produced_w": NUMBER_OR_NULL}}
_DAY = {"type": "object", "required": ["date", "expected_kwh", "model_kwh", "hours"],
        "properties": {"date": {"type": "string", "format": "date"}, "expected_kwh": {"type": "number"},
                       "model_kwh": {"type": "number"}, "produced_kwh": {"type": "number"},
                       "hours": {"type": "array", "items": _HOUR}}}
_WINDOW = {"type": "object", "required": ["start_ts", "end_ts", "surplus_kwh"],
           "properties": {"start_ts": {"type": "number"}, "end_ts": {"type": "number"},
                          "surplus_kwh": {"type": "number"}}}
_OUTLOOK = {
    "type": ["object", "null"],
    "required": ["soc_now_pct", "capacity_kwh", "capacity_source", "cutoff_pct", "sunrise_ts",
                 "soc_at_sunrise_pct", "full_at_ts", "cutoff_at_ts", "cutoff_before_sunrise", "surplus",
                 "points"],
    "properties": {
        "start_ts": {"type": "number"}, "end_ts": {"type": "number"}, "soc_now_pct": {"type": "number"},
        "capacity_kwh": NUMBER, "capacity_source": {"type": "string", "enum": ["configured", "estimated"]},
        "cutoff_pct": {"type": "number"}, "sunrise_ts": NUMBER_OR_NULL, "soc_at_sunrise_pct": NUMBER_OR_NULL,
        "full_at_ts": NUMBER_OR_NULL, "cutoff_at_ts": NUMBER_OR_NULL,
        "cutoff_before_sunrise": {"type": "boolean"},
        "surplus": {"type": "array", "items": _WINDOW},
        "points": {"type": "array", "items": {
            "type": "object", "required": ["ts", "soc_pct"],
            "properties": {"ts": NUMBER, "soc_pct": NUMBER, "pv_w": NUMBER, "load_w": NUMBER}}},
        "load_days": {"type": "integer"},
    },
}
FORECAST = {
    "type": "object", "required": ["available", "reason"],
    "properties": {
        "available": {"type": "boolean"}, "reason": {"type": ["string", "null"]},
        "generated_ts": {"type": "number"}, "computed_ts": {"type": "number"}, "age_s": {"type": "number"},
        "source": {"type": ["string", "null"]}, "location": {"type": ["object", "null"]},
        "attribution": {"type": ["string", "null"]}, "arrays": {"type": "array", "items": _ARRAY},
        "calibration_days": {"type": "integer"}, "today": _DAY, "tomorrow": _DAY, "outlook": _OUTLOOK,
        "outlook_reason": {"type": ["string", "null"]},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_paths() -> dict[str, Any]:
    """The `paths` entry of GET /api/forecast."""
    return {"/api/forecast": {"get": {
        "summary": "PV forecast per array (today, tomorrow), produced vs expected today, calibration, "
                   "battery outlook (docs/FORECAST.md)",
        "responses": {"200": _json(FORECAST, "the forecast; `available` false (with `reason`) until the "
                                             "first forecast arrives"),
                      "503": _json(ERROR, "the forecast is off (forecast.enabled)")}}}}
