"""Login limits under concurrency and per address (issue 14, points 9 and 14b).

Point 9 runs against web_interface.py in its own process with waitress's 64 threads (the
default): sixty logins for one account from one address, sent at once, fifty-nine wrong and the
right password at try fifty. Every try must meet the limits as if they came one by one.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import pytest

from solarmon.web.auth.users import UserStore
from tests.security.conftest import PASSWORDS, login
from tests.security.served import ServedApp

pytestmark = pytest.mark.timeout(180)
TRIES = 60
RIGHT_AT = 50


def session_and_csrf(port: int) -> tuple[str, str]:
    """A session cookie and its CSRF token, from GET /login."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    conn.close()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    assert cookie
    return cookie, match.group(1)


def test_sixty_logins_at_once_meet_the_same_limits(tmp_path: Path) -> None:
    served = ServedApp(tmp_path, {"server": {"threads": 64, "max_streams": 40}})
    UserStore(served.users_file).add("operator", PASSWORDS["operator"], "operator")
    served.start()
    try:
        cookie, csrf = session_and_csrf(served.port)
        statuses: list[int] = [0] * TRIES
        barrier = threading.Barrier(TRIES)

        def attempt(i: int) -> None:
            password = PASSWORDS["operator"] if i == RIGHT_AT else f"wrong-guess-{i}"
            body = urlencode({"username": "operator", "password": password, "csrf_token": csrf, "next": "/"})
            conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
            barrier.wait()
            try:
                conn.request("POST", "/login", body=body, headers={
                    "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
                statuses[i] = conn.getresponse().status
            except (ConnectionError, http.client.HTTPException):
                statuses[i] = -1  # closed at the door: over the connections-per-address cap
            finally:
                conn.close()

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(TRIES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        served.stop()
    counts = Counter(statuses)
    checked = counts[200] + counts[302]  # 200: a wrong password checked, 302: signed in
    door = counts[503] + counts[-1]  # refused by the connections-per-address cap (32)
    print(f"\n{TRIES} concurrent logins: {checked} passwords checked, {counts[429]} refused (429), "
          f"{door} refused at connection (503 or closed), signed in: {counts[302]}")
    assert counts[302] == 0, "the right password at try 50 got in although the account was under attack"
    assert checked <= 5, f"{checked} passwords checked (login_max_failures is 5): {dict(counts)}"
    assert counts[429] + door == TRIES - checked, dict(counts)


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""},
                                                   "security": {"account_max_failures": 12}}])
def test_a_guesser_locks_the_account_for_its_own_address_only(secured):
    """Five wrong passwords from one address lock that address out of the account, not its owner."""
    guesser = {"REMOTE_ADDR": "192.0.2.66"}
    owner = {"REMOTE_ADDR": "192.0.2.10"}
    client = secured.app.test_client()
    client.environ_base.update(guesser)
    assert [login(client, "operator", f"guess-{i}").status_code for i in range(5)] == [200] * 5
    assert login(client, "operator", PASSWORDS["operator"]).status_code == 429
    home = secured.app.test_client()
    home.environ_base.update(owner)
    assert login(home, "operator", PASSWORDS["operator"]).status_code == 302
    # The account's own ceiling (here 12, from all addresses together) still stops a spread attack.
    for n in range(3):
        other = secured.app.test_client()
        other.environ_base.update({"REMOTE_ADDR": f"198.51.100.{n}"})
        for i in range(5):
            login(other, "operator", f"spread-{n}-{i}")
    late = secured.app.test_client()
    late.environ_base.update({"REMOTE_ADDR": "203.0.113.5"})
    assert login(late, "operator", PASSWORDS["operator"]).status_code == 429
