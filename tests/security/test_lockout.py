"""Login rate limiting: failures per account and per address are slowed, then refused with 429.

Time is a fake clock stepped by the tests and the slow-down a recorded sleep: nothing waits.
"""

from __future__ import annotations

import pytest

from solarmon.web.auth.ratelimit import LoginLimiter
from tests.security.conftest import PASSWORDS, login


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(secured):
    """Swap the app's limiter for one with the configured limits on a fake clock."""
    fake = Clock()
    config = secured.security.config
    secured.security.limiter = LoginLimiter(
        slow_after=config.login_slow_after, delay_s=config.login_delay_s,
        max_pair=config.login_max_failures, max_account=config.account_max_failures,
        max_address=config.address_max_failures, window_s=config.login_window_s, clock=fake)
    return fake


def test_repeated_failures_are_slowed_then_refused_even_with_the_right_password(secured, clock, caplog):
    client = secured.app.test_client()
    statuses = [login(client, "operator", f"guess-{i}").status_code for i in range(5)]
    assert statuses == [200] * 5
    assert secured.sleeps == [1.0, 1.0]  # tries 4 and 5 waited (login_slow_after 3, login_delay_s 1)
    refused = login(client, "operator", PASSWORDS["operator"])
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    assert "Too many failed logins" in refused.get_data(as_text=True)
    assert "login refused for 'operator'" in caplog.text
    # The refusal lasts until the failures leave the window.
    clock.now += 901
    assert login(client, "operator", PASSWORDS["operator"]).status_code == 302


def test_a_success_clears_the_accounts_failures(secured, clock):
    client = secured.app.test_client()
    for i in range(4):
        login(client, "viewer", f"guess-{i}")
    assert login(client, "viewer", PASSWORDS["viewer"]).status_code == 302
    other = secured.app.test_client()
    assert [login(other, "viewer", f"again-{i}").status_code for i in range(5)] == [200] * 5
    assert login(other, "viewer", PASSWORDS["viewer"]).status_code == 429


@pytest.mark.parametrize("web_config_overrides", [{"daemon": {"command_token_file": ""},
                                                   "security": {"address_max_failures": 6}}])
def test_one_address_guessing_many_accounts_is_refused(secured, clock):
    client = secured.app.test_client()
    for i in range(6):
        assert login(client, f"user{i}", "some-guess").status_code == 200
    assert login(client, "admin", PASSWORDS["admin"]).status_code == 429
    audit = secured.security.audit.read(action="login")
    assert audit[0]["result"] == "rate_limited"
    assert [r["result"] for r in audit[1:7]] == ["failed"] * 6


@pytest.mark.parametrize(("failures", "verdict"), [
    (0, (True, 0.0)), (2, (True, 0.0)), (3, (True, 2.5)), (4, (True, 2.5)), (5, (False, 0.0)),
])
def test_limiter_table(failures, verdict):
    clock = Clock()
    limiter = LoginLimiter(slow_after=3, delay_s=2.5, max_pair=5, max_account=50, max_address=100,
                           window_s=60, clock=clock)
    for _ in range(failures):
        ticket = limiter.admit("Alice", "10.0.0.1").ticket
        limiter.release(ticket)
    result = limiter.admit("alice", "10.0.0.1")  # names are counted case-insensitively
    assert (result.allowed, result.delay_s) == verdict
    if result.ticket:
        limiter.release(result.ticket)
    other = limiter.admit("alice", "10.0.0.2")  # another address: its own count
    assert other.allowed
    limiter.release(other.ticket)
    clock.now += 61
    assert limiter.admit("alice", "10.0.0.1").allowed


def test_tries_are_counted_when_admitted_and_checks_at_once_are_capped():
    limiter = LoginLimiter(max_pair=5, max_account=50, max_address=100, max_checks_account=2,
                           max_checks_address=4, clock=Clock())
    first, second = limiter.admit("bob", "10.0.0.1"), limiter.admit("bob", "10.0.0.1")
    assert first.allowed
    assert second.allowed
    third = limiter.admit("bob", "10.0.0.1")  # two checks of bob's password under way
    assert not third.allowed
    assert third.retry_after_s == 1
    limiter.release(first.ticket)
    limiter.success(second.ticket)  # right password: bob's tries are forgiven
    limiter.release(second.ticket)
    assert limiter.checking() == 0
    for _ in range(5):
        verdict = limiter.admit("bob", "10.0.0.1")
        assert verdict.allowed  # counted as a failure until success() says otherwise
        limiter.release(verdict.ticket)
    assert not limiter.admit("bob", "10.0.0.1").allowed
