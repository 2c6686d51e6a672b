"""API tokens: created and revoked on the admin page and on the command line, stored hashed."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.webapp import TOKEN, FakeDaemon, daemon_reply
from tests.security.conftest import csrf_of

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def daemon(web_paths):
    """A daemon control socket answering like the real one."""
    fake = FakeDaemon(web_paths.control_socket, daemon_reply)
    yield fake
    fake.close()


def test_a_token_made_on_the_admin_page_works_until_it_is_revoked(secured, daemon, bearer):
    admin = secured.client("admin")
    csrf = csrf_of(admin.get("/admin").get_data(as_text=True))
    page = admin.post("/admin/tokens", data={"name": "backup script", "role": "operator", "csrf_token": csrf})
    token = re.search(r'id="new-token-value">([^<]+)<', page.get_data(as_text=True)).group(1)
    script = secured.app.test_client()
    assert script.post("/api/command", json={"command": "QPIGS"}, headers=bearer(token)).status_code == 200

    stored = (secured.security.tokens.path).read_text()
    assert token not in stored  # only its hash
    assert stat.S_IMODE(secured.security.tokens.path.stat().st_mode) == 0o600
    token_id = token.split("_")[1]
    assert admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 302

    response = script.post("/api/command", json={"command": "QPIGS"}, headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert len(daemon.requests) == 1
    assert "revoked" in admin.get("/admin").get_data(as_text=True)


def test_a_revoked_token_is_refused_by_a_running_app_after_the_cli_revokes_it(secured, web_paths, bearer):
    token = secured.tokens["viewer"]
    token_id = token.split("_")[1]
    client = secured.app.test_client()
    assert client.get("/api/status", headers=bearer(token)).status_code == 200
    result = cli(web_paths, "token", "revoke", token_id)
    assert result.returncode == 0, result.stderr
    assert client.get("/api/status", headers=bearer(token)).status_code == 401


def cli(web_paths, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `web_interface.py -c <the test's web.yaml> ...` as a real subprocess."""
    config = web_paths.root / "web.yaml"
    if not config.exists():
        config.write_text(yaml.safe_dump({"history": {"db_path": str(web_paths.db_path)},
                                          "daemon": {"control_socket": str(web_paths.control_socket)}}))
    return subprocess.run([sys.executable, str(REPO / "web_interface.py"), "-c", str(config), *args],
                          input=stdin, capture_output=True, text=True, timeout=60, cwd=web_paths.root)


@pytest.mark.timeout(120)
def test_user_commands_take_the_password_on_stdin(app, web_paths):
    added = cli(web_paths, "user", "add", "alice", "--role", "operator", stdin="alice-password\n")
    assert added.returncode == 0, added.stderr
    users = json.loads((web_paths.root / "var" / "users.json").read_text())["users"]
    assert users["alice"]["role"] == "operator"
    assert "alice-password" not in json.dumps(users)
    assert stat.S_IMODE((web_paths.root / "var" / "users.json").stat().st_mode) == 0o600

    again = cli(web_paths, "user", "add", "alice", stdin="other-password\n")
    assert again.returncode == 1
    assert "exists already" in again.stderr
    short = cli(web_paths, "user", "passwd", "alice", stdin="short\n")
    assert short.returncode == 1
    assert "at least 8" in short.stderr
    changed = cli(web_paths, "user", "passwd", "alice", "--role", "admin", stdin="new-password-1\n")
    assert changed.returncode == 0, changed.stderr
    listing = cli(web_paths, "user", "list")
    assert listing.stdout.startswith("alice\tadmin\t")
    assert cli(web_paths, "user", "remove", "alice").returncode == 0
    assert cli(web_paths, "user", "remove", "alice").returncode == 1
    log = (web_paths.root / "var" / "web-audit.jsonl").read_text()
    audit = [json.loads(line) for line in log.splitlines()]
    assert [r["detail"].split(",")[0].split(" (")[0] for r in audit] == [
        "added", "password changed", "removed"]


@pytest.mark.timeout(120)
def test_the_old_command_token_file_can_be_imported_and_keeps_working(web_paths, daemon):
    from solarmon.web import create_app
    from tests.fixtures.webapp import make_web_config

    result = cli(web_paths, "token", "import", "legacy", "--from", str(web_paths.token_file),
                 "--role", "operator")
    assert result.returncode == 0, result.stderr
    app = create_app(make_web_config(web_paths, {"daemon": {"command_token_file": ""}}))
    response = app.test_client().post("/api/command", json={"command": "QPIGS"},
                                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    made = cli(web_paths, "token", "add", "cron", "--role", "viewer")
    token = made.stdout.splitlines()[0]
    assert token.startswith("smt_")
    listing = cli(web_paths, "token", "list").stdout
    assert "legacy\toperator\tactive" in listing
    assert "cron\tviewer\tactive" in listing


@pytest.mark.timeout(120)
def test_an_unsafe_users_file_stops_the_start_with_exit_2(web_paths):
    assert cli(web_paths, "user", "add", "alice", "--role", "admin", stdin="alice-password\n").returncode == 0
    (web_paths.root / "var" / "users.json").chmod(0o644)
    check = cli(web_paths, "--check")
    assert check.returncode == 2
    assert "chmod 600" in check.stderr
    listing = cli(web_paths, "user", "list")
    assert listing.returncode == 2
    assert "chmod 600" in listing.stderr
