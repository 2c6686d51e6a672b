"""/api/status names files only to operators and admins (issue 14, 14h)."""

from __future__ import annotations

import json

import pytest

from solarmon.web.auth.redact import HIDDEN, redact


def texts(value) -> list[str]:
    """Every key and string in a JSON value."""
    if isinstance(value, dict):
        return [*value.keys(), *(t for v in value.values() for t in texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("role", [None, "viewer"])
def test_status_shows_no_paths_below_operator(secured, web_paths, role):
    body = secured.client(role).get("/api/status").get_json()
    dump = json.dumps(body)
    assert str(web_paths.root) not in dump
    assert "socket" not in texts(body)
    assert "daemon" in body["sources"]  # the status itself is still there


@pytest.mark.parametrize("who", ["operator", "admin", "operator-token"])
def test_operators_and_admins_see_the_paths(secured, bearer, web_paths, who):
    if who == "operator-token":
        response = secured.app.test_client().get("/api/status", headers=bearer(secured.tokens["operator"]))
    else:
        response = secured.client(who).get("/api/status")
    assert str(web_paths.control_socket) in json.dumps(response.get_json())


def test_paths_inside_messages_are_hidden_but_urls_and_ratios_stay():
    out = redact({"error": "cannot open /var/lib/solarmon/history.db: denied", "path": "/x/y",
                  "note": "see http://host/docs/API.md, 5/10 done", "list": ["/run/mpp-solar/control.sock"]})
    assert out == {"error": f"cannot open {HIDDEN}: denied", "note": "see http://host/docs/API.md, 5/10 done",
                   "list": [HIDDEN]}
