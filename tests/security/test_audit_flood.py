"""The audit log under a flood (issue 14, point 13): bounded fields, a refusal budget per address,
rotation by size, and the admin's login still on the audit page afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solarmon.web.auth.audit import REFUSAL_BURST, AuditLog, RefusalBudget
from tests.security.conftest import PASSWORDS, login

FLOOD = 300
LONG_NAME = "A" * 30_000


def test_a_flood_of_long_anonymous_refusals_keeps_the_admins_login_in_view(secured, web_paths):
    admin = secured.client("admin")  # signs in through the form: audited as a login
    attacker = secured.app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.99"
    for _ in range(FLOOD):
        assert attacker.post(f"/admin/users/{LONG_NAME}", data={"action": "remove"}).status_code == 401
    log = web_paths.root / "var" / "web-audit.jsonl"
    size = sum(p.stat().st_size for p in log.parent.glob("web-audit.jsonl*"))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    denied = [r for r in records if r["action"] == "denied"]
    print(f"\naudit flood: {FLOOD} refusals of a {len(LONG_NAME)}-character URL -> {len(denied)} lines, "
          f"{size} bytes")
    assert size < 64 * 1024, f"{FLOOD} refusals grew the audit log by {size} bytes"
    assert len(denied) <= REFUSAL_BURST + 1
    assert max(len(r["target"]) for r in denied) <= 200
    page = admin.get("/audit").get_data(as_text=True)
    assert LONG_NAME[:1000] not in page
    assert 'data-action="login" data-result="ok"' in page  # in view without a filter too
    logins = secured.security.audit.read(500, "login")
    assert any(r["target"] == "admin" and r["result"] == "ok" for r in logins)
    rows = admin.get("/audit?action=login").get_data(as_text=True)
    assert 'data-action="login" data-result="ok"' in rows


def test_a_refusal_after_a_quiet_spell_says_how_many_were_left_out():
    now = [0.0]
    budget = RefusalBudget(burst=3, per_minute=6, clock=lambda: now[0])
    assert [budget.take("a")[0] for _ in range(5)] == [True, True, True, False, False]
    assert budget.take("b") == (True, 0)  # another address has its own budget
    now[0] += 10  # one more token after 10 s at 6 a minute
    assert budget.take("a") == (True, 2)
    assert budget.take("a") == (False, 0)


def test_the_log_rotates_by_size_and_keeps_n_files(tmp_path: Path):
    audit = AuditLog(tmp_path / "audit.jsonl", max_bytes=4096, keep=3)
    for i in range(400):
        audit.record("user", who="cli:root", via="cli", target=f"user-{i:04d}", detail="x" * 50)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2", "audit.jsonl.3"]
    assert all(p.stat().st_size <= 4096 for p in tmp_path.iterdir())
    newest = audit.read(40)  # the three rotated files hold 15 lines each at least: across files
    assert [r["target"] for r in newest] == [f"user-{i:04d}" for i in range(399, 359, -1)]
    assert (tmp_path / "audit.jsonl").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("field", ["who", "target", "address", "result"])
def test_every_field_is_bounded(tmp_path: Path, field: str):
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.record("user", **{"who": "x", "via": "cli", field: "Z" * 10_000})
    line = (tmp_path / "audit.jsonl").read_text()
    assert len(line) < 1000
    assert json.loads(line)[field].endswith("…")


def test_failed_logins_from_one_address_are_budgeted_too(secured):
    client = secured.app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.98"
    for i in range(40):  # 5 checked and failed, then refused (429): all refusals
        login(client, f"nobody{i % 3}", "wrong-password")
    records = [r for r in secured.security.audit.read(500, "login") if r["address"] == "192.0.2.98"]
    assert len(records) <= REFUSAL_BURST
    assert secured.security.audit.suppressed_total >= 40 - REFUSAL_BURST
    assert login(secured.app.test_client(), "viewer", PASSWORDS["viewer"]).status_code == 302
