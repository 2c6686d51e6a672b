"""The admin page's account forms: add, change role and password, remove; the guard rails."""

from __future__ import annotations

import pytest

from tests.security.conftest import csrf_of, login

PW = "long-enough-pw"


@pytest.fixture
def admin(secured):
    """A signed-in admin client and its CSRF token."""
    client = secured.client("admin")
    return client, csrf_of(client.get("/admin/lcars").get_data(as_text=True))


def test_an_account_is_added_changed_and_removed_on_the_admin_page(secured, admin):
    client, csrf = admin
    added = client.post("/admin/users", data={"username": "carol", "password": "carol-password",
                                              "role": "viewer", "csrf_token": csrf, "theme": "lcars"})
    assert added.headers["Location"] == "/admin/lcars"
    assert secured.security.users.get("carol").role == "viewer"
    assert login(secured.app.test_client(), "carol", "carol-password").status_code == 302

    client.post("/admin/users/carol", data={"action": "change", "role": "operator",
                                            "password": "carol-new-password", "csrf_token": csrf})
    assert secured.security.users.get("carol").role == "operator"
    assert login(secured.app.test_client(), "carol", "carol-password").status_code == 200  # old one refused
    assert login(secured.app.test_client(), "carol", "carol-new-password").status_code == 302

    client.post("/admin/users/carol", data={"action": "remove", "csrf_token": csrf})
    assert secured.security.users.get("carol") is None
    details = [r["detail"] for r in secured.security.audit.read(action="user")]
    assert details == ["removed", "changed role operator password", "added, role viewer"]


@pytest.mark.parametrize(("path", "data", "fragment"), [
    ("/admin/users/admin", {"action": "remove"}, "cannot remove your own account"),
    ("/admin/users/admin", {"action": "change", "role": "viewer"}, "cannot take the admin role"),
    ("/admin/users/nobody", {"action": "change", "role": "viewer"}, "no user"),
    ("/admin/users/viewer", {"action": "change", "role": "root"}, "role must be one of"),
    ("/admin/users", {"username": "bad name!", "password": PW, "role": "viewer"}, "not allowed"),
    ("/admin/users", {"username": "dave", "password": "short", "role": "viewer"}, "at least 8"),
    ("/admin/users", {"username": "viewer", "password": PW, "role": "viewer"}, "exists already"),
    ("/admin/tokens", {"name": "", "role": "viewer"}, "not allowed"),
    ("/admin/tokens", {"name": "x", "role": "superuser"}, "role must be one of"),
])
def test_bad_admin_requests_are_refused_with_the_reason_and_change_nothing(secured, admin, path, data,
                                                                          fragment):
    client, csrf = admin
    users_before = [(u.name, u.role) for u in secured.security.users.users()]
    tokens_before = secured.security.tokens.tokens()
    response = client.post(path, data={**data, "csrf_token": csrf})
    assert response.status_code == 400
    assert fragment in response.get_data(as_text=True)
    assert [(u.name, u.role) for u in secured.security.users.users()] == users_before
    assert len(secured.security.tokens.tokens()) == len(tokens_before)


def test_revoking_an_unknown_token_is_404(admin):
    client, csrf = admin
    assert client.post("/admin/tokens/ffffffff/revoke", data={"csrf_token": csrf}).status_code == 404
