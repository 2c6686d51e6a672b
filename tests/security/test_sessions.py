"""Login, logout, sessions and CSRF through the real app: cookies, redirects, refusals, audit."""

from __future__ import annotations

import json
import stat

import pytest

from solarmon.web import create_app
from solarmon.web.auth.files import SecurityFileError
from tests.fixtures.webapp import FakeDaemon, daemon_reply
from tests.security.conftest import PASSWORDS, SESSION_COOKIE, csrf_of, login


@pytest.fixture
def daemon(web_paths):
    """A daemon control socket answering like the real one."""
    fake = FakeDaemon(web_paths.control_socket, daemon_reply)
    yield fake
    fake.close()


def test_a_login_sets_an_httponly_samesite_cookie_and_lands_on_next(secured):
    client = secured.app.test_client()
    csrf = csrf_of(client.get("/login?next=/charts").get_data(as_text=True))
    response = client.post("/login", data={"username": "operator", "password": PASSWORDS["operator"],
                                           "csrf_token": csrf, "next": "/charts"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/charts"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on the LAN: a Secure cookie would never come back
    page = client.get("/").get_data(as_text=True)
    assert 'id="signed-in-as" data-role="operator"' in page
    assert 'data-role="operator"' in page  # the console knows it may send commands


@pytest.mark.parametrize(("trust_proxy", "secure"), [(True, True), (False, False)])
def test_the_cookie_is_secure_behind_a_trusted_tls_proxy_only(app, web_paths, trust_proxy, secure):
    from tests.fixtures.webapp import make_web_config
    from tests.security.conftest import make_secured

    application = create_app(make_web_config(web_paths, {"daemon": {"command_token_file": ""},
                                                         "security": {"trust_proxy": trust_proxy}}))
    make_secured(application)
    client = application.test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}
    csrf = csrf_of(client.get("/login", headers=proxy).get_data(as_text=True))
    response = client.post("/login", headers=proxy, data={
        "username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": csrf})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE))
    assert ("Secure" in cookie) is secure
    last = json.loads((web_paths.root / "var" / "web-audit.jsonl").read_text().splitlines()[-1])
    assert last["address"] == ("192.0.2.7" if trust_proxy else "127.0.0.1")


@pytest.mark.parametrize("target", ["//evil.example/x", "http://evil.example/", "\\\\evil", "evil"])
def test_next_never_leaves_the_site(secured, target):
    client = secured.app.test_client()
    csrf = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "viewer", "password": PASSWORDS["viewer"],
                                           "csrf_token": csrf, "next": target})
    assert response.headers["Location"] == "/"


def test_a_wrong_password_is_refused_and_audited(secured, web_paths):
    client = secured.app.test_client()
    response = login(client, "operator", "not-the-password")
    assert response.status_code == 200
    assert "Wrong user name or password" in response.get_data(as_text=True)
    assert 'id="signed-in-as"' not in client.get("/").get_data(as_text=True)
    log = (web_paths.root / "var" / "web-audit.jsonl").read_text()
    records = [json.loads(line) for line in log.splitlines()]
    assert [(r["action"], r["target"], r["result"]) for r in records if r["action"] == "login"][-1] == \
        ("login", "operator", "failed")


def test_logout_ends_the_session(secured, daemon):
    client = secured.client("operator")
    csrf = csrf_of(client.get("/").get_data(as_text=True))
    sent = client.post("/api/command", json={"command": "QPIGS"}, headers={"X-CSRF-Token": csrf})
    assert sent.status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    response = client.post("/api/command", json={"command": "QPIGS"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 401


def test_a_password_change_signs_the_user_out_everywhere(secured):
    client = secured.client("admin")
    assert client.get("/admin").status_code == 200
    secured.security.users.change("admin", password="a-new-password-4")
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("csrf", [None, "", "forged-token-forged-token-forged"])
def test_a_command_from_a_session_without_the_csrf_token_is_refused(secured, daemon, csrf):
    client = secured.client("operator")
    headers = {} if csrf is None else {"X-CSRF-Token": csrf}
    response = client.post("/api/command", json={"command": "QPIGS"}, headers=headers)
    assert response.status_code == 403
    assert response.json["error"] == "csrf_failed"
    assert daemon.requests == []


@pytest.mark.parametrize(("path", "data"), [
    ("/admin/tokens", {"name": "sneaky", "role": "admin"}),
    ("/admin/users", {"username": "mallory", "password": "mallory-password", "role": "admin"}),
    ("/logout", {}),
])
def test_admin_forms_without_the_csrf_token_are_refused(secured, path, data):
    client = secured.client("admin")
    response = client.post(path, data=data)
    assert response.status_code == 403
    assert "CSRF" in response.get_data(as_text=True)
    assert [t.name for t in secured.security.tokens.tokens() if t.name == "sneaky"] == []
    assert secured.security.users.get("mallory") is None


def test_a_bearer_token_needs_no_csrf_token(secured, daemon, bearer):
    response = secured.app.test_client().post("/api/command", json={"command": "QPIGS"},
                                              headers=bearer(secured.tokens["operator"]))
    assert response.status_code == 200
    assert daemon.requests == [{"command": "QPIGS"}]


@pytest.mark.parametrize(("role", "command", "status"), [
    ("viewer", "QPIGS", 403), ("operator", "QPIGS", 200), ("operator", "PGR01", 200),
    ("operator", "POP02", 403), ("operator", "PF", 403), ("operator", "QXYZ", 403),
    ("admin", "POP02", 200), ("admin", "PF", 200),
])
def test_dangerous_and_unknown_commands_need_an_admin(secured, daemon, bearer, role, command, status):
    response = secured.app.test_client().post("/api/command", json={"command": command, "confirm": True},
                                              headers=bearer(secured.tokens[role]))
    assert response.status_code == status, response.json
    assert len(daemon.requests) == (1 if status == 200 else 0)


def test_commands_and_refusals_reach_the_audit_page(secured, daemon, bearer):
    client = secured.app.test_client()
    operator = bearer(secured.tokens["operator"])
    client.post("/api/command", json={"command": "QPIRI"}, headers=operator)
    client.post("/api/command", json={"command": "POP02", "confirm": True}, headers=operator)
    admin = secured.client("admin")
    page = admin.get("/audit?action=command").get_data(as_text=True)
    assert page.count('data-action="command"') == 2
    assert 'data-result="ok"' in page
    assert 'data-result="forbidden"' in page
    assert "token operator-token" in page
    assert secured.client("operator").get("/audit").status_code == 403


@pytest.mark.parametrize("path", ["/", "/login", "/api/data", "/api/status", "/metrics", "/no/such/page",
                                  "/static/app/css/common.css", "/admin"])
def test_every_response_carries_the_security_headers(secured, path):
    response = secured.app.test_client().get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""},
                                                   "security": {"public_read": False}}])
def test_without_public_read_everything_needs_a_login(secured, bearer):
    anonymous = secured.app.test_client()
    assert anonymous.get("/api/status").status_code == 401
    # An LCARS page sends to the LCARS login page (issue 15), never the standard one.
    assert anonymous.get("/charts/lcars").headers["Location"] == "/login/lcars?next=/charts/lcars"
    assert anonymous.get("/login/lcars").status_code == 200  # the way in stays open, in both themes
    assert anonymous.get("/static/app/css/lcars.css").status_code == 200
    assert anonymous.get("/api/status", headers=bearer(secured.tokens["viewer"])).status_code == 200
    assert secured.client("viewer").get("/charts").status_code == 200


def test_a_wrong_bearer_token_is_refused_even_where_reading_is_public(secured, bearer):
    response = secured.app.test_client().get("/api/status", headers=bearer("smt_00000000_" + "x" * 43))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_secret_key_is_generated_once_with_mode_0600(app, web_paths):
    key_file = web_paths.root / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()
    from tests.fixtures.webapp import make_web_config

    create_app(make_web_config(web_paths))
    assert key_file.read_bytes() == first  # sessions survive a restart


@pytest.mark.parametrize("name", ["secret_key", "users.json"])
def test_a_secret_file_others_can_read_is_refused(app, web_paths, name):
    from tests.fixtures.webapp import make_web_config

    path = web_paths.root / "var" / name
    if not path.exists():
        path.write_text('{"users": {}}' if name == "users.json" else "k" * 64)
    path.chmod(0o644)
    with pytest.raises(SecurityFileError, match="chmod 600"):
        create_app(make_web_config(web_paths))


def test_the_first_start_says_how_to_create_the_first_admin(web_config, caplog):
    create_app(web_config)
    assert "user add NAME --role admin" in caplog.text


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""},
                                                   "security": {"session_hours": 0.05}}])
def test_a_login_ends_after_session_hours(secured, monkeypatch):
    import time as real_time

    from solarmon.web.auth import guard

    client = secured.client("admin")
    assert client.get("/admin").status_code == 200

    class Later:
        """time.time() three minutes and a second from now (session_hours 0.05 = 180 s)."""

        @staticmethod
        def time() -> float:
            return real_time.time() + 181

    monkeypatch.setattr(guard, "time", Later)
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin"


def test_the_audit_page_shows_the_daemons_settings_when_configured(web_paths):
    from solarmon.daemon.audit import AuditLog as DaemonAudit
    from tests.fixtures.webapp import make_web_config
    from tests.security.conftest import make_secured

    daemon_log = web_paths.root / "mpp-solar-audit.jsonl"
    DaemonAudit(daemon_log).record(device="main", command="POP02", result="ok", confirm=True,
                                   verified={"output_source_priority": "SBU first"})
    DaemonAudit(daemon_log).record(device="main", command="PBT01", result="refused", message="not allowed")
    app = create_app(make_web_config(web_paths, {"daemon": {"command_token_file": ""},
                                                 "security": {"daemon_audit_log": daemon_log.name}}))
    secured = make_secured(app)
    page = secured.client("admin").get("/audit/lcars").get_data(as_text=True)
    assert 'id="daemon-audit-table"' in page
    assert page.index("PBT01") < page.index("POP02")  # newest first
    assert "SBU first" in page
    assert 'data-result="refused"' in page
    # Issue 15: records read as sentences, times as <time> (local on the page, ISO on hover), no JSON.
    assert ("main was sent POP02 (confirmed); the inverter now reports output source priority "
            "SBU first.") in page
    assert "{&#34;" not in page
    assert "When (UTC)" not in page
    assert "signed in" in page  # the admin's own login, in words
    assert '<time datetime="' in page


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""},
                                                   "security": {"daemon_audit_log": "var"}}])
def test_an_unreadable_daemon_audit_log_is_said_on_the_page(secured):
    page = secured.client("admin").get("/audit").get_data(as_text=True)  # "var" is a folder
    assert "cannot read" in page
    assert 'id="audit-table"' in page  # the web app's own records still show


def test_without_a_daemon_audit_log_the_page_has_only_the_web_apps(secured):
    page = secured.client("admin").get("/audit").get_data(as_text=True)
    assert 'id="audit-table"' in page
    assert 'id="daemon-audit-table"' not in page


def copy_session(source, target) -> None:
    """Put `source`'s session cookie into `target` (a stolen or copied cookie)."""
    cookie = source.get_cookie(SESSION_COOKIE)
    target.set_cookie(SESSION_COOKIE, cookie.value)


def test_a_copied_cookie_stops_working_when_its_session_signs_out(secured, web_paths):
    """Issue 14, 14a: sign-out ends the session on the server, not only in this browser."""
    browser = secured.client("admin")
    other_login = secured.client("admin")  # the same user signed in elsewhere: not affected
    thief = secured.app.test_client()
    stolen = browser.get_cookie(SESSION_COOKIE).value
    copy_session(browser, thief)
    assert thief.get("/admin").status_code == 200
    csrf = csrf_of(browser.get("/admin").get_data(as_text=True))
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 302
    response = thief.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert other_login.get("/admin").status_code == 200
    # Remembered on disk (0600): a restarted app refuses the copy too.
    store = web_paths.root / "var" / "revoked-sessions.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    from tests.fixtures.webapp import make_web_config

    restarted = create_app(make_web_config(web_paths, {"daemon": {"command_token_file": ""}}))
    again = restarted.test_client()
    again.set_cookie(SESSION_COOKIE, stolen)
    assert again.get("/admin").status_code == 302
