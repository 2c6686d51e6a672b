"""The private files: atomic 0600 writes, damaged or unsafe files refused, ownership under root."""

from __future__ import annotations

import os
import pwd
import stat

import pytest

from solarmon.web.auth.audit import AuditLog
from solarmon.web.auth.files import SecurityFileError, load_or_create_secret, read_json, write_json
from solarmon.web.auth.users import UserStore

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="ownership hand-over happens only as root")


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "not valid JSON"),
    ('["users"]', "at the top level"),
    ('{"users": []}', "at the top level"),
])
def test_a_damaged_file_is_refused_with_a_clear_message(tmp_path, content, fragment):
    path = tmp_path / "users.json"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(SecurityFileError, match=fragment):
        read_json(path, "users")


def test_a_damaged_user_entry_is_named(tmp_path):
    path = tmp_path / "users.json"
    write_json(path, "users", {"eve": {"hash": "x", "role": "root"}})
    with pytest.raises(SecurityFileError, match="user 'eve'"):
        UserStore(path).users()


def test_a_write_replaces_the_file_whole_with_mode_0600(tmp_path):
    path = tmp_path / "sub" / "tokens.json"
    write_json(path, "tokens", {"a": {"name": "one"}})
    write_json(path, "tokens", {"b": {"name": "two"}})
    assert read_json(path, "tokens") == {"b": {"name": "two"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["tokens.json"]  # no temp file left behind


def test_a_short_secret_key_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("short")
    path.chmod(0o600)
    with pytest.raises(SecurityFileError, match="fewer than 32"):
        load_or_create_secret(path)


@as_root
def test_root_hands_new_secret_files_to_the_service_user(tmp_path, monkeypatch):
    nobody = pwd.getpwnam("nobody")
    monkeypatch.setenv("SOLARMON_WEB_USER", "nobody")
    key = tmp_path / "secret_key"
    load_or_create_secret(key)
    AuditLog(tmp_path / "audit.jsonl").record("user", who="cli:root", via="cli")
    for path in (key, tmp_path / "audit.jsonl"):
        assert path.stat().st_uid == nobody.pw_uid, path


@as_root
def test_root_keeps_the_owner_of_a_file_it_rewrites(tmp_path, monkeypatch):
    monkeypatch.setenv("SOLARMON_WEB_USER", "no-such-user-here")
    nobody = pwd.getpwnam("nobody")
    path = tmp_path / "users.json"
    write_json(path, "users", {})
    assert path.stat().st_uid == 0  # no service user: root's own
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    UserStore(path).add("alice", "alice-password", "admin")
    assert path.stat().st_uid == nobody.pw_uid


def test_a_running_app_keeps_its_last_good_users_when_the_file_is_damaged(tmp_path, caplog):
    path = tmp_path / "users.json"
    users = UserStore(path)
    users.add("alice", "alice-password", "admin")
    content = path.read_text()
    path.write_text(content[:-5])  # a bad hand edit, cut short
    assert [u.name for u in users.users()] == ["alice"]  # still served
    assert [u.name for u in users.users()] == ["alice"]
    assert caplog.text.count("not valid JSON") == 1  # logged once, not per request
    with pytest.raises(SecurityFileError):  # but nothing is written over it
        users.add("bob", "bob-password", "viewer")
    assert path.read_text() == content[:-5]
    with pytest.raises(SecurityFileError):  # and a fresh start refuses it (exit 2)
        UserStore(path).users()
