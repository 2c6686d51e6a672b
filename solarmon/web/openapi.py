"""GET /api/openapi.json: the OpenAPI 3 description of every endpoint of the JSON API.

Written by hand next to the handlers it describes (docs/API.md is the prose); tests/web run
schemathesis against it, so a parameter or status added to a handler but not here fails a test.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify

from solarmon.alerts.openapi import openapi_paths as alerts_openapi_paths
from solarmon.web.api import DEFAULT_POINTS, MAX_POINTS
from solarmon.web.params import MAX_HOURS, MAX_METRICS, SENSOR_SOURCES
from solarmon.web.runtime import WebContext

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
SNAPSHOT = {"type": "object", "required": ["source", "ts", "age_s", "values", "units", "ok"],
            "properties": {"source": {"type": "string"}, "ts": {"type": "number"},
                           "age_s": {"type": "number"}, "values": JSON_OBJECT,
                           "units": {"type": "object", "additionalProperties": {"type": "string"}},
                           "ok": {"type": "boolean"}, "error": {"type": ["string", "null"]}}}


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict each call)."""
    data = {**SNAPSHOT, "required": [*SNAPSHOT["required"], "device", "devices", "timestamp"]}
    paths: dict[str, Any] = {
        "/api/data": {"get": {
            "summary": "Latest values of one inverter with units, timestamp and age",
            "parameters": [DEVICE],
            "responses": {"200": _json(data, "the latest values"), **_errors(400, 404, 503)}}},
        "/api/historical": {"get": {
            "summary": "Series of one source over a time range, downsampled on the server",
            "parameters": [DEVICE, SOURCE, *RANGE, _query("points", {"type": "integer", "minimum": 1,
                                                             "maximum": MAX_POINTS},
                                                  f"max points per series (default {DEFAULT_POINTS})")],
            "responses": {"200": _json({"type": "object", "required": ["t", "series", "tier", "step_s"]},
                                       "timestamps and per-metric avg/min/max"),
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
            "summary": "kWh per day or month (PV, load, battery charge/discharge, grid)",
            "parameters": [_query("period", {"type": "string", "enum": ["day", "month"]}, "default day"),
                           _query("count", {"type": "integer", "minimum": 1, "maximum": 120},
                                  "how many periods back (default 31 days / 12 months)"), DEVICE],
            "responses": {"200": _json({"type": "object", "required": ["period", "periods", "total"]},
                                       "energy per period"), **_errors(400, 404, 503)}}},
        "/api/status": {"get": {
            "summary": "Health of every source and service",
            "responses": {"200": _json({"type": "object", "required": ["ok", "sources", "services"]},
                                       "health")}}},
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
                               "device": {"type": "string", "pattern": NAME_PATTERN}}}}}},
            "responses": {"200": _json({"type": "object", "required": ["ok"]}, "the daemon's reply"),
                          **_errors(400, 401, 403, 409, 413, 422, 502, 503, 504)}}},
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


# A sensor source's snapshot also carries each sensor's own age (`ages`: name -> seconds).
_SENSOR_SNAPSHOT = {**SNAPSHOT, "required": [*SNAPSHOT["required"], "ages"],
                    "properties": {**SNAPSHOT["properties"],
                                   "ages": {"type": "object", "additionalProperties": {"type": "number"}}}}
_SENSORS = {"type": "object", "required": ["sources", "available"],
            "properties": {"sources": {"type": "object", "additionalProperties": _SENSOR_SNAPSHOT},
                           "available": {"type": "boolean"}}}


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
    """Endpoints of parts that describe themselves (alerts)."""
    return alerts_openapi_paths()


def init_app(app: Flask, ctx: WebContext) -> None:
    """Register the blueprint serving the document."""
    app.register_blueprint(bp)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document as JSON."""
    return jsonify(build_document())
