"""sd_notify datagrams on a real Unix socket, and the audit log's lines."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from solarmon.daemon.audit import AuditLog
from solarmon.daemon.notify import Notifier


@pytest.fixture
def notify_socket(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(5)
    yield path, sock
    sock.close()


def test_notifier_sends_datagrams(notify_socket) -> None:
    path, sock = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000"})
    assert notifier.enabled
    assert notifier.watchdog_s == 30.0
    assert notifier.ready("1/1 devices up")
    assert sock.recv(4096) == b"READY=1\nSTATUS=1/1 devices up"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=stopping"


def test_abstract_socket_address() -> None:
    name = f"solarmon-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).status("hello")
        assert sock.recv(4096) == b"STATUS=hello"


@pytest.mark.parametrize(("env", "enabled", "watchdog_s"), [
    ({}, False, None),
    ({"NOTIFY_SOCKET": "/nonexistent/x"}, True, None),
    ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "0"}, True, None),
    ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "5000000", "WATCHDOG_PID": "1"}, True, None),  # not ours
    ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "5000000", "WATCHDOG_PID": str(os.getpid())}, True, 5.0),
])
def test_notifier_environment(env: dict, enabled: bool, watchdog_s: float | None) -> None:
    notifier = Notifier(env)
    assert notifier.enabled is enabled
    assert notifier.watchdog_s == watchdog_s


def test_no_systemd_is_a_quiet_no_op() -> None:
    assert Notifier({}).ready("x") is False
    assert Notifier({"NOTIFY_SOCKET": "/nonexistent/notify"}).watchdog() is False  # logged, not raised


def test_audit_log_appends_json_lines(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "var" / "audit.jsonl", wall_clock=lambda: 1764180000.5)
    audit.record(device="inverter", command="POP02", result="refused", message="not allowed")
    audit.record(device="inverter", command="PCP01", result="ok", confirm=True,
                 verified={"charger_source_priority": "Solar first"})
    lines = (tmp_path / "var" / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == audit.entries()
    first, second = audit.entries()
    assert first == {"time": "2025-11-26T18:00:00.500Z", "device": "inverter", "command": "POP02",
                     "confirm": False, "result": "refused", "message": "not allowed"}
    assert second["verified"] == {"charger_source_priority": "Solar first"}
    assert second["confirm"] is True


@pytest.fixture
def service_umask():
    """The daemon unit's UMask=0007 (group-writable files unless the code says otherwise)."""
    old = os.umask(0o007)
    yield
    os.umask(old)


def test_the_audit_log_is_the_daemons_alone(tmp_path: Path, service_umask) -> None:
    """Issue 14, 14f: created 0640 (readable by the web app's group, not writable), and the shared
    folder made sticky, so the web app's group can neither rewrite nor replace the record."""
    import stat

    shared = tmp_path / "var"
    shared.mkdir()
    os.chmod(shared, 0o2770)  # as manage_daemon.sh install makes var/: the web app's group writes it
    audit = AuditLog(shared / "mpp-solar-audit.jsonl")
    audit.record(device="inverter", command="POP02", result="ok")
    assert stat.S_IMODE((shared / "mpp-solar-audit.jsonl").stat().st_mode) == 0o640
    assert shared.stat().st_mode & stat.S_ISVTX


def test_a_looser_existing_audit_log_is_tightened(tmp_path: Path, service_umask) -> None:
    import stat

    path = tmp_path / "audit.jsonl"
    path.write_text("")
    os.chmod(path, 0o660)
    AuditLog(path).record(device="inverter", command="PE", result="ok")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert len(AuditLog(path).entries()) == 1
