"""`next=` after a login: same-site paths only, whatever control characters or spaces it carries.

Browsers drop tabs and newlines from URLs and treat `\\` like `/`, so `/\t/evil.example` is the
other site `//evil.example` to them (issue 14, point 10). No `next` may give a 500 either.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import PASSWORDS, csrf_of

HOSTILE = ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example",
           " //evil.example", "/ /evil.example", "/\x00/evil.example", "/\\evil.example",
           "/\u2028/evil.example", "\x0b/\x0c/evil.example", "https:/\t/evil.example", "/\x7f/evil.example"]


def sign_in(client, target: str):
    csrf = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": "viewer", "password": PASSWORDS["viewer"],
                                       "csrf_token": csrf, "next": target})


@pytest.mark.parametrize("target", HOSTILE, ids=repr)
def test_next_with_control_characters_stays_on_this_site(secured, target):
    response = sign_in(secured.app.test_client(), target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))
    assert all(ch.isprintable() and not ch.isspace() for ch in location)


def test_the_encoded_tab_form_of_the_report(secured):
    """The report's URL: `/login?next=/%09/evil.com`, carried by the form into the POST."""
    client = secured.app.test_client()
    page = client.get("/login?next=/%09/evil.com").get_data(as_text=True)
    assert "//evil.com" not in page
    response = sign_in(client, "/\t/evil.com")
    assert response.headers["Location"] in ("/", "/evil.com")


@pytest.mark.parametrize("target", ["/charts?range=7d", "/battery", "/lcars", "/caf\u00e9"], ids=repr)
def test_a_local_next_is_kept(secured, target):
    response = sign_in(secured.app.test_client(), target)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(target.split("\u00e9")[0])


@pytest.mark.parametrize("target", ["/x\ny", "/a\rb", "/%0d%0aSet-Cookie:x=1", "\n", "/\u00e9\n"], ids=repr)
def test_no_next_gives_a_server_error(secured, target):
    response = sign_in(secured.app.test_client(), target)
    assert response.status_code == 302
    assert "\n" not in response.headers["Location"]
    assert "\r" not in response.headers["Location"]
