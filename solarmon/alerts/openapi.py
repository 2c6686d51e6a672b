"""The OpenAPI description of the alerts endpoints, merged into /api/openapi.json by
solarmon/web/openapi.py (tests/web run schemathesis over it, like over the rest of the API).
"""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
ALERT = {"type": "object", "required": ["id", "rule", "source", "severity", "active", "acknowledged"],
         "properties": {"id": {"type": "integer"}, "rule": {"type": "string"}, "source": {"type": "string"},
                        "severity": {"type": "string", "enum": ["info", "warning", "critical"]},
                        "active": {"type": "boolean"}, "acknowledged": {"type": "boolean"},
                        "message": {"type": "string"}, "fired_ts": {"type": "number"},
                        "cleared_ts": {"type": ["number", "null"]}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_paths() -> dict[str, Any]:
    """`paths` entries for GET /api/alerts and POST /api/alerts/ack."""
    listing = {"type": "object", "required": ["enabled", "active", "recent", "counts", "unacknowledged"],
               "properties": {"enabled": {"type": "boolean"}, "active": {"type": "array", "items": ALERT},
                              "recent": {"type": "array", "items": ALERT}, "counts": {"type": "object"},
                              "unacknowledged": {"type": "integer"}, "rules": {"type": "array"},
                              "channels": {"type": "object"}}}
    return {
        "/api/alerts": {"get": {
            "summary": "Active alerts, the log of past ones, the rules and the channels' health",
            "parameters": [{"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                            "description": "how many past alerts (default 50)"}],
            "responses": {"200": _json(listing, "alerts"),
                          "400": _json(ERROR, "a bad parameter (the message names it)"),
                          "503": _json(ERROR, "the alert service is not running")}}},
        "/api/alerts/ack": {"post": {
            "summary": "Acknowledge an alert (operator)",
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["id"],
                "properties": {"id": {"type": "integer", "minimum": 0}}}}}},
            "responses": {"200": _json({"type": "object", "required": ["ok", "alert"],
                                        "properties": {"ok": {"type": "boolean"}, "alert": ALERT}},
                                       "the acknowledged alert"),
                          "400": _json(ERROR, "no alert id in the body"),
                          "401": _json(ERROR, "not logged in / missing or wrong bearer token"),
                          "403": _json(ERROR, "not an operator, or commands are off"),
                          "404": _json(ERROR, "no such alert"),
                          "413": _json(ERROR, "body too large"),
                          "503": _json(ERROR, "alerts are off or not running")}}},
    }
