"""Every endpoint's access by role, as a table over the app's url_map.

The cases are the app's real routes (collected from an app built at import), so an endpoint added
later without an entry in EXPECTED — and without an access mark the guard can read — fails here.
Each case asks the endpoint as anonymous, viewer, operator, admin and an operator API token, with
security.public_read true and false, and checks the guard let exactly the right ones through:
refused means 401 (API) or a redirect to the login page (a page), or 403 for too low a role.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from solarmon.web import create_app
from solarmon.web.auth.guard import access_level
from solarmon.web.auth.roles import ROLE_RANK
from tests.fixtures.webapp import WebPaths, make_web_config
from tests.security.conftest import PASSWORDS, SESSION_COOKIE, csrf_of, login, make_secured

# Who may call each endpoint: public, read (everyone when public_read, else a viewer), or a role.
EXPECTED: dict[str, str] = {
    **{f"api.{name}": "read" for name in ("data", "historical", "export_csv", "refresh", "energy",
                                           "status", "house", "weather", "battery", "field_catalog")},
    "api.command": "operator",
    "stream.stream": "read",
    "metrics.metrics": "read",
    "openapi.openapi_json": "read",
    **{f"pages.{page}{theme}": "read" for page in ("dashboard", "charts", "battery", "house")
       for theme in ("", "_lcars")},
    **{f"pages.settings{theme}": "operator" for theme in ("", "_lcars")},  # the settings page
    "settings.settings": "operator",  # /api/settings asks the daemon (QMCHGCR)
    "pages.static": "public",
    "pages.vendor": "public",
    "pages.manifest": "public",
    **{f"auth.{name}{theme}": "public" for name in ("login", "logout") for theme in ("", "_lcars")},
    **{f"auth.{name}{theme}": "admin" for name in ("admin", "audit") for theme in ("", "_lcars")},
    "auth.token_create": "admin",
    "auth.token_revoke": "admin",
    "auth.user_add": "admin",
    "auth.user_change": "admin",
    "alerts.alerts": "read",
    "alerts.acknowledge": "operator",
    "alerts.page_standard": "read",
    "alerts.page_lcars": "read",
    **{f"forecast.{name}": "read" for name in ("forecast", "page_standard", "page_lcars")},
    **{f"fleet.{name}": "read" for name in ("fleet", "fleet_site", "fleet_historical", "page_standard",
                                            "page_lcars", "site_standard", "site_lcars")},
}
# Values for the URL converters of the routes (a new converter name needs a sample here).
SAMPLE_ARGS: dict[str, str] = {"filename": "css/common.css", "token_id": "deadbeef", "name": "nobody",
                               "package": "bootstrap", "site": "alpha"}
ENDPOINT_ARGS: dict[str, dict[str, str]] = {"pages.vendor": {"filename": "css/bootstrap.min.css"}}
WHO = ("anonymous", "viewer", "operator", "admin", "token")


def _routes() -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every route of a freshly built app."""
    root = Path(tempfile.mkdtemp(prefix="smsec-"))
    (root / "prometheus").mkdir()
    paths = WebPaths(root, root / "prometheus", root / "h.db", root / "c.sock", root / "none")
    app = create_app(make_web_config(paths, {"daemon": {"command_token_file": ""}}))
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        args = {name: ENDPOINT_ARGS.get(rule.endpoint, {}).get(name, SAMPLE_ARGS.get(name, f"<{name}>"))
                for name in rule.arguments}
        url = adapter.build(rule.endpoint, args)
        found += [(rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


ROUTES = _routes()


@pytest.fixture(scope="module", params=[True, False], ids=["public_read", "private"])
def access_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An app per public_read value, its accounts signed in once: cookie and CSRF token per role."""
    root = tmp_path_factory.mktemp("access")
    (root / "prometheus").mkdir()
    paths = WebPaths(root, root / "prometheus", root / "h.db", root / "c.sock", root / "none")
    app = create_app(make_web_config(paths, {"daemon": {"command_token_file": ""},
                                             "security": {"public_read": request.param}}))
    app.config["TESTING"] = True
    secured = make_secured(app)
    anonymous = app.test_client()
    sessions = {"anonymous": (None, csrf_of(anonymous.get("/login").get_data(as_text=True)))}
    sessions["anonymous"] = (anonymous.get_cookie(SESSION_COOKIE).value, sessions["anonymous"][1])
    for role, password in PASSWORDS.items():
        client = app.test_client()
        assert login(client, role, password).status_code == 302
        csrf = csrf_of(client.get("/login").get_data(as_text=True))
        sessions[role] = (client.get_cookie(SESSION_COOKIE).value, csrf)
    return {"app": app, "public_read": request.param, "sessions": sessions,
            "token": secured.tokens["operator"]}


def allowed(level: str, public_read: bool, role: str | None) -> bool:
    """Whether `role` (None: anonymous) may use an endpoint of `level`."""
    if level == "public" or (level == "read" and public_read):
        return True
    needed = "viewer" if level == "read" else level
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[needed]


def ask(access: dict[str, Any], who: str, method: str, url: str) -> Any:
    """Call `url` as `who`, the way a browser (session + CSRF) or a script (bearer) would."""
    client = access["app"].test_client()
    headers: dict[str, str] = {}
    # A token caller is a browser too (anonymous session): the token only counts on the API.
    cookie, csrf = access["sessions"]["anonymous" if who == "token" else who]
    client.set_cookie(SESSION_COOKIE, cookie, domain="localhost")
    if url.startswith("/logout") and who in PASSWORDS:
        # Signing out revokes the session on the server: sign in afresh for it, so the module's
        # shared sessions stay valid for the other endpoints.
        login(client, who, PASSWORDS[who])
        csrf = csrf_of(client.get("/login").get_data(as_text=True))
    headers["X-CSRF-Token"] = csrf
    if who == "token":
        headers["Authorization"] = f"Bearer {access['token']}"
    if method == "GET":
        return client.get(url, headers=headers)
    if url.startswith("/api/"):
        return client.open(url, method=method, json={"command": "QPIGS"}, headers=headers)
    return client.open(url, method=method, data={"theme": "standard"}, headers=headers)


def test_every_endpoint_has_an_access_rule_and_it_is_the_expected_one(access_app):
    with access_app["app"].test_request_context():
        rules = {endpoint: access_level(endpoint) for endpoint, _m, _u in ROUTES}
    missing = sorted(endpoint for endpoint in rules if endpoint not in EXPECTED)
    assert missing == [], f"endpoints without an expected access level in this table: {missing}"
    assert rules == {e: EXPECTED[e] for e in rules}


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("endpoint", "method", "url"), ROUTES, ids=[f"{m} {u}" for _e, m, u in ROUTES])
def test_access_by_role(access_app, endpoint, method, url):
    level = EXPECTED.get(endpoint)
    assert level is not None, f"{endpoint} ({url}) is not in the access table EXPECTED"
    outcomes = {}
    for who in WHO:
        token_counts = url.startswith(("/api/", "/metrics"))
        role = who if who in PASSWORDS else ("operator" if who == "token" and token_counts else None)
        response = ask(access_app, who, method, url)
        response.close()  # ends a live stream at once
        status, location = response.status_code, response.headers.get("Location", "")
        let_in = status not in (401, 403) and not location.startswith(("/login?next=", "/login/lcars?next="))
        outcomes[who] = (status, let_in)
        expect = allowed(level, access_app["public_read"], role)
        assert let_in == expect, f"{who} on {method} {url} ({level}): {status} {location}"
        if not expect:
            if role is None and method == "GET" and not token_counts:
                assert status == 302, (who, status)
                login = "/login/lcars?next=" if url.rstrip("/").endswith("/lcars") else "/login?next="
                assert location.startswith(login), (who, location)  # an LCARS page signs in on LCARS
            else:
                assert status == (401 if role is None else 403), (who, status)
    assert outcomes
