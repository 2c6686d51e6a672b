"""Issue 14.15: /api/data's fast path (solarmon/web/fastpath.py) answers exactly as Flask does.

Every request shape goes once through the app (fast path in front) and once straight into the
Flask app behind it; status, headers (names, values, order) and body must be the same, and the
fast path must have answered the plain anonymous read, and only the shapes it may answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from werkzeug.test import Client

from solarmon.web.fastpath import DataFastPath
from solarmon.web.runtime import get_context
from solarmon.web.state import SourceUpdate
from tests.security.conftest import PASSWORDS, login, make_secured

AGES = ("ages", "age_s", "stale")


@pytest.fixture
def web_config_overrides() -> dict[str, dict[str, Any]]:
    """No legacy command token file (as in tests/security)."""
    return {"daemon": {"command_token_file": ""}}


def feed(app: Any) -> None:
    """One fresh reading of the inverter `main`."""
    get_context(app).parts.state.apply(SourceUpdate("inverter:main", time.time(), {"battery_voltage": 50.0},
                                                    {"battery_voltage": "V"}))


def both(app: Any, method: str, path: str, headers: dict[str, str]) -> tuple[Any, Any, int]:
    """(through the app, straight into Flask, how many the fast path answered)."""
    front = app.wsgi_app
    assert isinstance(front, DataFastPath)
    before = front.served
    fast = Client(app, use_cookies=False).open(path, method=method, headers=headers)
    served = front.served - before
    normal = Client(front.inner, use_cookies=False).open(path, method=method, headers=headers)
    return fast, normal, served


def assert_same(fast: Any, normal: Any) -> None:
    """Same status, same headers in the same order (lengths checked against the bodies, whose ages
    are written at the moment of each request), same body but for the ages."""
    assert fast.status == normal.status
    assert [(k, v) for k, v in fast.headers if k != "Content-Length"] == \
        [(k, v) for k, v in normal.headers if k != "Content-Length"]
    for response in (fast, normal):
        if "Content-Length" in response.headers and response.request.method != "HEAD":
            assert int(response.headers["Content-Length"]) == len(response.data)
    if fast.mimetype == "application/json" and fast.data:
        one, two = json.loads(fast.data), json.loads(normal.data)
        for key in AGES:
            if isinstance(one.get(key), dict):
                assert one[key].keys() == two[key].keys()
            one.pop(key, None)
            two.pop(key, None)
        assert one == two
    else:
        assert fast.data == normal.data


def test_plain_anonymous_read_is_answered_below_flask_with_the_same_answer(app):
    feed(app)
    assert Client(app).get("/api/data").status_code == 200  # the view builds the body once
    fast, normal, served = both(app, "GET", "/api/data", {})
    assert served == 1
    assert fast.status_code == 200
    assert fast.json["values"]["battery_voltage"] == 50.0
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                 "Cross-Origin-Opener-Policy", "ETag", "Cache-Control", "Vary"):
        assert name in fast.headers
    assert_same(fast, normal)


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/api/data?device=main", {}),
    ("GET", "/api/data?device=nope", {}),
    ("HEAD", "/api/data", {}),
    ("POST", "/api/data", {}),
    ("GET", "/api/data/", {}),
    ("GET", "/api/data", {"Authorization": "Bearer wrong-token"}),
    ("GET", "/api/data", {"Cookie": "solarmon_session=forged"}),
])
def test_other_shapes_go_to_flask(app, method, path, headers):
    feed(app)
    Client(app).get("/api/data")
    fast, normal, served = both(app, method, path, headers)
    assert served == 0
    assert_same(fast, normal)


def test_if_none_match_tokens_and_sessions_go_to_flask(app):
    secured = make_secured(app)
    feed(app)
    etag = Client(app).get("/api/data").headers["ETag"]
    fast, normal, served = both(app, "GET", "/api/data", {"If-None-Match": etag})
    assert (served, fast.status_code) == (0, 304)
    assert_same(fast, normal)
    token = {"Authorization": f"Bearer {secured.tokens['viewer']}"}
    fast, normal, served = both(app, "GET", "/api/data", token)
    assert (served, fast.status_code) == (0, 200)
    assert_same(fast, normal)
    browser = app.test_client()
    assert login(browser, "viewer", PASSWORDS["viewer"]).status_code == 302
    cookie = browser.get_cookie("solarmon_session")
    assert cookie is not None
    fast, normal, served = both(app, "GET", "/api/data", {"Cookie": f"solarmon_session={cookie.value}"})
    assert (served, fast.status_code) == (0, 200)
    assert_same(fast, normal)


def test_no_body_yet_goes_to_flask(app):
    fast, normal, served = both(app, "GET", "/api/data", {})  # nothing read yet: the view's 503
    assert (served, fast.status_code) == (0, 503)
    assert_same(fast, normal)
    feed(app)
    fast, normal, served = both(app, "GET", "/api/data", {})  # a new reading: the view encodes it
    assert (served, fast.status_code) == (0, 200)
    assert_same(fast, normal)


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""},
                                                   "security": {"public_read": False}}])
def test_without_public_read_the_fast_path_is_off(app):
    feed(app)
    assert app.wsgi_app.enabled is False
    fast, normal, served = both(app, "GET", "/api/data", {})
    assert (served, fast.status_code) == (0, 401)
    assert_same(fast, normal)
