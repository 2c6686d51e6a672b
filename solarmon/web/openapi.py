"""GET /api/openapi.json: the OpenAPI 3 description of every endpoint of the JSON API.

Written by hand next to the handlers it describes (docs/API.md is the prose); tests/web run
schemathesis against it, so a parameter or status added to a handler but not here fails a test.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify

from solarmon.alerts.openapi import openapi_paths as alerts_openapi_paths
from solarmon.forecast.openapi import openapi_paths as forecast_openapi_paths
from solarmon.inverter import catalog
from solarmon.web.api import DEFAULT_POINTS, MAX_POINTS
from solarmon.web.fleet.openapi import openapi_paths as fleet_openapi_paths
from solarmon.web.params import MAX_HOURS, MAX_METRICS, SENSOR_SOURCES
from solarmon.web.runtime import WebContext
from solarmon.web.systems import TILE_KEYS
from solarmon.web.totals import TOTALS

bp = Blueprint("openapi", __name__, url_prefix="/api")

NAME_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
ERROR = {"$ref": "#/components/schemas/Error"}
JSON_OBJECT = {"type": "object"}
TEXT = {"type": "string"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A response with a JSON body of `schema`."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    """Error responses (all share the Error body) for the given statuses."""
    text = {400: "a bad parameter (the message names it)",
            401: "not signed in and no API token, or a wrong or revoked token",
            403: "the role is too low (dangerous commands need an admin) or the CSRF token is missing",
            404: "unknown device", 409: "the daemon wants confirmation",
            413: "body too large", 422: "the inverter refused the command (NAK)",
            502: "the daemon answered with an error", 503: "no fresh data, or a part is unavailable",
            504: "the daemon did not answer in time"}
    return {str(code): _json(ERROR, text[code]) for code in codes}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """One optional query parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


DEVICE = _query("device", {"type": "string", "pattern": NAME_PATTERN},
                "inverter section of mpp-solar.conf (default: the first)")
SOURCE = _query("source", {"type": "string",
                           "pattern": rf"^({'|'.join(SENSOR_SOURCES)}|inverter:[A-Za-z0-9_.:\-]{{1,64}})$"},
                "house, weather, battery (MQTT sensors: metric names are their topics below the "
                "root, e.g. living_room/temperature) or inverter:<device>; instead of device=")
RANGE = [
    _query("hours", {"type": "integer", "minimum": 1, "maximum": MAX_HOURS},
           "hours back from now (default 24); not together with start/end"),
    _query("start", {"type": "string", "format": "date-time"}, "ISO 8601 start (naive: UTC)"),
    _query("end", {"type": "string", "format": "date-time"}, "ISO 8601 end (default: now)"),
    _query("metrics", {"type": "string"},
           f"comma-separated metric keys (at most {MAX_METRICS}); default all"),
]
NUMBER = {"type": "number"}
NUMBERS = {"type": "object", "additionalProperties": NUMBER}
KEYS = {"type": "array", "items": TEXT}
NULLABLE_TEXT = {"type": ["string", "null"]}
KIND = {"type": "string", "enum": [kind.value for kind in catalog.Kind]}
# One live source: values by catalog key (numbers, or text for enums and strings), each with its
# unit, kind and own age; values too old to be live only in `stale` (key -> age in seconds).
SNAPSHOT = {"type": "object", "additionalProperties": False,
            "required": ["source", "ts", "age_s", "values", "units", "kinds", "ages", "stale", "faults",
                         "warnings", "ok", "error"],
            "properties": {"source": TEXT, "ts": NUMBER, "age_s": NUMBER,
                           "values": {"type": "object",
                                      "additionalProperties": {"type": ["number", "string", "boolean"]}},
                           "units": {"type": "object", "additionalProperties": TEXT},
                           "kinds": {"type": "object", "additionalProperties": KIND},
                           "ages": NUMBERS, "stale": NUMBERS, "faults": KEYS, "warnings": KEYS,
                           "ok": {"type": "boolean"}, "error": NULLABLE_TEXT}}
NULLABLE_NUMBER = {"type": ["number", "null"]}
# One unit of a parallel / three-phase system (solarmon/web/systems.py).
_SYSTEM_UNIT = {"type": "object", "additionalProperties": False,
                "required": ["device", "source", "number", "up", "phase", "output_mode", "mode", "fault",
                             "load_percent", "load_power", "pv_power", "battery_power",
                             "battery_charging_current", "battery_discharge_current", "error"],
                "properties": {"device": TEXT, "source": TEXT, "number": {"type": "integer"},
                               "up": {"type": "boolean"},
                               "phase": {"type": ["string", "null"], "enum": ["L1", "L2", "L3", None]},
                               "output_mode": NULLABLE_TEXT, "mode": NULLABLE_TEXT, "fault": NULLABLE_TEXT,
                               "load_percent": NULLABLE_NUMBER, "load_power": NULLABLE_NUMBER,
                               "pv_power": NULLABLE_NUMBER, "battery_power": NULLABLE_NUMBER,
                               "battery_charging_current": NULLABLE_NUMBER,
                               "battery_discharge_current": NULLABLE_NUMBER, "error": NULLABLE_TEXT}}
# A system's tile: a number, a three-phase voltage per phase, or null while withheld.
_SYSTEM_TILE = {"oneOf": [NULLABLE_NUMBER,
                          {"type": "object", "additionalProperties": False, "required": ["L1", "L2", "L3"],
                           "properties": {"L1": NUMBER, "L2": NUMBER, "L3": NUMBER}}]}
# The system block of a system's own device: its units, and totals only while all answered.
SYSTEM = {"type": "object", "additionalProperties": False,
          "required": ["layout", "units", "expected", "answering", "faulted", "totals_complete", "missing",
                       "flow", "tiles", "unreported", "keys", "phases", "imbalance_percent"],
          "properties": {"layout": {"type": "string", "enum": ["parallel", "three-phase"]},
                         "units": {"type": "array", "items": _SYSTEM_UNIT},
                         "expected": {"type": "integer"}, "answering": {"type": "integer"},
                         "faulted": {"type": "integer"}, "totals_complete": {"type": "boolean"},
                         "missing": KEYS,
                         "flow": {"type": "object", "additionalProperties": NUMBER,
                                  "propertyNames": {"enum": ["pv_power_total", "load_power", "battery_power",
                                                             "grid_power"]}},
                         "tiles": {"type": "object", "additionalProperties": _SYSTEM_TILE,
                                   "propertyNames": {"enum": list(TILE_KEYS)}},
                         "unreported": KEYS,
                         "keys": {"type": "object", "additionalProperties": TEXT},
                         "phases": {"type": "object", "additionalProperties": NUMBER,
                                    "propertyNames": {"enum": ["L1", "L2", "L3"]}},
                         "imbalance_percent": NULLABLE_NUMBER}}
# The site's totals over several inverters (solarmon/web/totals.py): null while withheld.
_TOTAL_KEYS = {"enum": list(TOTALS)}
SITE_TOTALS = {"type": "object", "additionalProperties": False,
               "required": ["devices", "values", "units", "complete", "missing", "withheld"],
               "properties": {"devices": KEYS,
                              "values": {"type": "object", "additionalProperties": NULLABLE_NUMBER,
                                         "propertyNames": _TOTAL_KEYS},
                              "units": {"type": "object", "additionalProperties": TEXT,
                                        "propertyNames": _TOTAL_KEYS},
                              "complete": {"type": "boolean"}, "missing": KEYS,
                              "withheld": {"type": "object", "additionalProperties": KEYS,
                                           "propertyNames": _TOTAL_KEYS}}}
DATA = {**SNAPSHOT, "required": [*SNAPSHOT["required"], "device", "devices", "timestamp", "stale_after_s",
                                 "systems"],
        "properties": {**SNAPSHOT["properties"], "device": TEXT, "devices": KEYS, "timestamp": TEXT,
                       "stale_after_s": NUMBER,
                       "systems": {"type": "object", "additionalProperties": KEYS},
                       "system": SYSTEM, "member_of": TEXT, "totals": SITE_TOTALS}}
_SERIES = {"type": "object", "additionalProperties": False, "required": ["unit", "avg", "min", "max"],
           "properties": {"unit": TEXT, **{k: {"type": "array", "items": {"type": ["number", "null"]}}
                                           for k in ("avg", "min", "max")}}}
HISTORICAL = {"type": "object", "additionalProperties": False,
              "required": ["source", "tier", "step_s", "start", "end", "t", "series", "unknown"],
              "properties": {"source": TEXT, "tier": TEXT, "step_s": NUMBER, "start": NUMBER, "end": NUMBER,
                             "t": {"type": "array", "items": NUMBER},
                             "series": {"type": "object", "additionalProperties": _SERIES},
                             "unknown": KEYS, "device": TEXT}}
_KWH = {"type": "array", "items": {"type": ["number", "null"]}}
_ENERGY_KINDS = ("pv", "load", "battery_charge", "battery_discharge", "grid")
_DEVICE_ENERGY = {"type": "object", "required": [*_ENERGY_KINDS, "method"], "additionalProperties": False,
                  "properties": {**dict.fromkeys(_ENERGY_KINDS, _KWH),
                                 "method": {"type": "object", "additionalProperties": {
                                     "type": "string", "enum": ["integrated", "counter"]}}}}
ENERGY = {"type": "object", "additionalProperties": False,
          "required": ["period", "timezone", "kinds", "periods", "devices", "total",
                       "self_sufficiency_percent"],
          "properties": {"period": {"type": "string", "enum": ["day", "month", "year"]}, "timezone": TEXT,
                         "self_sufficiency_percent": {"type": "array", "items": {"type": ["number", "null"]}},
                         "kinds": KEYS, "periods": KEYS,
                         "devices": {"type": "object", "additionalProperties": _DEVICE_ENERGY},
                         "total": {"type": "object", "required": list(_ENERGY_KINDS),
                                   "additionalProperties": False,
                                   "properties": dict.fromkeys(_ENERGY_KINDS, _KWH)}}}
_SOURCE_STATUS = {"type": "object", "required": ["ok"],
                  "properties": {"ok": {"type": "boolean"}, "error": NULLABLE_TEXT}}
STATUS = {"type": "object", "additionalProperties": False,
          "required": ["ok", "time", "uptime_s", "sources", "services", "streams", "commands_enabled"],
          "properties": {"ok": {"type": "boolean"}, "time": TEXT, "uptime_s": NUMBER,
                         "sources": {"type": "object", "additionalProperties": _SOURCE_STATUS},
                         "services": {"type": "array",
                                      "items": {"type": "object", "required": ["name", "running"]}},
                         "streams": {"type": ["object", "null"]}, "commands_enabled": {"type": "boolean"}}}
_FIELD = {"type": "object", "additionalProperties": False,
          "required": ["label", "unit", "kind", "precision", "command"],
          "properties": {"label": TEXT, "unit": TEXT, "kind": KIND, "precision": {"type": "integer"},
                         "command": TEXT}}
CATALOG = {"type": "object", "additionalProperties": False, "required": ["fields", "derived"],
           "properties": {"fields": {"type": "object", "additionalProperties": _FIELD}, "derived": KEYS}}


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict each call)."""
    paths: dict[str, Any] = {
        "/api/data": {"get": {
            "summary": "Live values of one inverter (catalog keys) with units, kinds, ages, stale "
                       "values, faults and warnings",
            "parameters": [DEVICE],
            "responses": {"200": _json(DATA, "the live values"), **_errors(400, 404, 503)}}},
        "/api/catalog": {"get": {
            "summary": "Every field's label, unit, kind, precision and command (the field catalog)",
            "responses": {"200": _json(CATALOG, "the catalog")}}},
        "/api/historical": {"get": {
            "summary": "Series of one source over a time range, downsampled on the server",
            "parameters": [DEVICE, SOURCE, *RANGE, _query("points", {"type": "integer", "minimum": 1,
                                                             "maximum": MAX_POINTS},
                                                  f"max points per series (default {DEFAULT_POINTS})")],
            "responses": {"200": _json(HISTORICAL, "timestamps and per-metric avg/min/max"),
                          **_errors(400, 404, 503)}}},
        "/api/export.csv": {"get": {
            "summary": "The same range as CSV, streamed",
            "parameters": [DEVICE, SOURCE, *RANGE],
            "responses": {"200": {"description": "CSV: time, timestamp, one column per metric",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **_errors(400, 404, 503)}}},
        "/api/refresh": {"get": {
            "summary": "Re-read the daemon's files now",
            "responses": {"200": _json({"type": "object", "required": ["files_read", "devices"]},
                                       "files read"), **_errors(503)}}},
        "/api/energy": {"get": {
            "summary": "kWh per day, month or year (PV, load, battery charge/discharge, grid) and "
                       "self-sufficiency in percent",
            "parameters": [_query("period", {"type": "string", "enum": ["day", "month", "year"]},
                                  "default day"),
                           _query("count", {"type": "integer", "minimum": 1, "maximum": 366},
                                  "how many periods back (default 31 days / 12 months / 5 years; at most "
                                  "366 / 120 / 20)"), DEVICE],
            "responses": {"200": _json(ENERGY, "energy per period"), **_errors(400, 404, 503)}}},
        "/api/status": {"get": {
            "summary": "Health of every source and service",
            "responses": {"200": _json(STATUS, "health")}}},
        "/api/house": {"get": {"summary": "House sensors from MQTT (empty until they report)",
                               "responses": {"200": _json(_SENSORS, "house sources")}}},
        "/api/weather": {"get": {"summary": "Weather from MQTT (empty until it reports)",
                                 "responses": {"200": _json(_SENSORS, "weather sources")}}},
        "/api/battery": {"get": {"summary": "The BMSs the daemon polls (bms: pack, cells, temperatures, "
                                            "switches, alarms; soc: the BMS's state of charge and its "
                                            "source) and MQTT battery/# (sources)",
                                 "responses": {"200": _json(_BATTERY, "BMSs and battery sources")}}},
        "/api/command": {"post": {
            "summary": "Forward an inverter command to the daemon",
            "security": [{"bearer": []}, {"session": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["command"],
                "properties": {"command": {"type": "string", "pattern": r"^[A-Za-z0-9.]{1,32}$"},
                               "confirm": {"type": "boolean"},
                               "device": {"type": "string", "pattern": NAME_PATTERN},
                               "units": {"oneOf": [{"const": "all"},
                                                   {"type": "integer", "minimum": 0, "maximum": 8}]}}}}}},
            "responses": {"200": _json({"type": "object", "required": ["ok"]}, "the daemon's reply"),
                          **_errors(400, 401, 403, 409, 413, 422, 502, 503, 504)}}},
        "/api/settings": {"get": {
            "summary": "The settings the daemon allows on one inverter (operator): ranges or choices, "
                       "each choice with the value /api/data shows while it is set",
            "security": [{"bearer": []}, {"session": []}],
            "parameters": [DEVICE],
            "responses": {"200": _json({"type": "object",
                                        "required": ["device", "devices", "allowed_settings", "settings"],
                                        "properties": {"device": TEXT,
                                                       "devices": {"type": "array", "items": TEXT},
                                                       "allowed_settings": {"type": "array", "items": TEXT},
                                                       "units": {"type": "array", "items": JSON_OBJECT},
                                                       "settings": {"type": "array", "items": JSON_OBJECT}}},
                                       "the allowed settings"),
                          **_errors(403, 404, 502, 503, 504)}}},
        "/api/stream": {"get": {
            "summary": "Server-Sent Events: snapshot, then sample and health events; keep-alives",
            "responses": {"200": {"description": "an event stream",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          **_errors(503)}}},
        "/api/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": _json(JSON_OBJECT, "OpenAPI 3.1")}}},
        "/metrics": {"get": {"summary": "Prometheus exposition of values and app health",
                             "responses": {"200": {"description": "text exposition format",
                                                   "content": {"text/plain": {"schema": TEXT}}}}}},
    }
    paths.update(_extension_paths())
    for item in paths.values():  # any call may meet the guard (solarmon.web.auth, docs/SECURITY.md)
        for operation in item.values():
            operation["responses"].setdefault("401", _errors(401)["401"])
    return {
        "openapi": "3.1.0",
        "info": {"title": "solarmon web API", "version": "1",
                 "description": "Live values, history, energy and commands of PI30 inverters. "
                                "Errors are {\"error\": code, \"message\": text}."},
        "paths": paths,
        "components": {
            "schemas": {"Error": {"type": "object", "required": ["error", "message"],
                                  "properties": {"error": TEXT, "message": TEXT}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token made by an admin (/admin or `web_interface.py "
                                          "token add`); its role decides what it may do"},
                "session": {"type": "apiKey", "in": "cookie", "name": "solarmon_session",
                            "description": "a signed-in user's session; state-changing calls also "
                                           "need the page's CSRF token in X-CSRF-Token"}},
        },
    }


# House, weather and battery: every source named after the endpoint, each a snapshot; `configured`
# is false, with the `reason` in words, when web.yaml has no `mqtt:` section.
_SENSORS = {"type": "object", "additionalProperties": False,
            "required": ["sources", "available", "configured"],
            "properties": {"sources": {"type": "object", "additionalProperties": SNAPSHOT},
                           "available": {"type": "boolean"}, "configured": {"type": "boolean"},
                           "reason": {"type": "string"}}}


_ITEM = {"type": "object", "required": ["key", "value", "label", "unit"],
         "properties": {"key": {"type": "string"}, "label": {"type": "string"}, "unit": {"type": "string"},
                        "precision": {"type": "integer"},
                        "value": {"type": ["number", "string", "boolean"]}}}
_BMS = {"type": "object",
        "required": ["source", "name", "pack", "cells", "balancer", "temperatures", "alarms"],
        "properties": {
            "source": {"type": "string"}, "name": {"type": "string"}, "ok": {"type": "boolean"},
            "error": {"type": ["string", "null"]}, "age_s": {"type": ["number", "null"]},
            "pack": {"type": "object", "additionalProperties": _ITEM},
            "cells": {"type": "array", "items": {"type": "object", "required": ["n", "voltage"],
                                                 "properties": {
                "n": {"type": "integer"}, "voltage": {"type": "number"},
                "balancing": {"type": ["boolean", "null"]}}}},
            "balancer": {"type": "object"},
            "switches": {"type": "array", "items": _ITEM},
            "temperatures": {"type": "array", "items": _ITEM},
            "alarms": {"type": "array", "items": {"type": "object", "required": ["key", "label", "kind"],
                                                  "properties": {"kind": {"enum": ["fault", "warning"]}}}}}}
_BATTERY = {"type": "object", "required": ["sources", "available", "bms", "soc"],
            "properties": {**_SENSORS["properties"],
                           "bms": {"type": "object", "additionalProperties": _BMS},
                           "soc": {"type": ["object", "null"], "properties": {
                               "value": {"type": "number"}, "source": {"type": "string"},
                               "label": {"type": "string"}}}}}


def _extension_paths() -> dict[str, Any]:
    """Endpoints of parts that describe themselves (alerts, forecast, the hub's fleet)."""
    return {**alerts_openapi_paths(), **forecast_openapi_paths(), **fleet_openapi_paths()}


def init_app(app: Flask, ctx: WebContext) -> None:
    """Register the blueprint serving the document."""
    app.register_blueprint(bp)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document as JSON."""
    return jsonify(build_document())
