"""Guessable passwords are refused, from the shell and the admin page (issue 14, point 14c)."""

from __future__ import annotations

import json

import pytest

from solarmon.web.auth.users import UserError, check_password
from tests.security.test_tokens import cli


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("password", "why"), [
    ("password", "among the first any guesser tries"),
    ("PassWord1", "among the first any guesser tries"),
    ("mallory1", "must not be the user name"),
    ("        ", "must not be only spaces"),
    ("\t \t \t \t ", "must not be only spaces"),
    ("zzzzzzzzzz", "among the first any guesser tries"),
], ids=["password", "PassWord1", "own-name", "eight-spaces", "tabs", "one-character"])
def test_the_cli_refuses_a_guessable_password_and_says_why(app, web_paths, password, why):
    result = cli(web_paths, "user", "add", "mallory1", "--role", "admin", stdin=password + "\n")
    assert result.returncode == 1
    assert why in result.stderr
    users_file = web_paths.root / "var" / "users.json"
    assert not users_file.exists() or "mallory1" not in json.loads(users_file.read_text())["users"]


@pytest.mark.parametrize("password", ["correct horse battery", "mallory-password-7", "Tr0ub4dor&3x"])
def test_ordinary_passwords_pass(password):
    assert check_password(password, "mallory") == password


def test_the_name_backwards_and_a_new_password_are_checked_too(secured):
    with pytest.raises(UserError, match="user name"):
        check_password("rotarepo", "operator")
    with pytest.raises(UserError, match="guesser"):
        secured.security.users.change("operator", password="12345678")


def test_the_admin_page_refuses_a_guessable_password(secured):
    from tests.security.conftest import csrf_of

    admin = secured.client("admin")
    csrf = csrf_of(admin.get("/admin").get_data(as_text=True))
    response = admin.post("/admin/users", data={"username": "eve", "password": "qwertyuiop", "role": "viewer",
                                                "csrf_token": csrf})
    assert response.status_code == 400
    assert "guesser" in response.get_data(as_text=True)
    assert secured.security.users.get("eve") is None
