"""Two control-socket clients and polling at once, all on one device: every reply matches its request.

The daemon runs in this process (its real workers, link, transport and socket) against the
simulator; the clients are threads with their own connections.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from solarmon.daemon.config import load_config
from solarmon.daemon.notify import Notifier
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link
from solarmon.inverter.codec import decode
from solarmon.inverter.frame import CrcState, ReplyFrame

from .conftest import sent_payloads, wait_until

pytestmark = pytest.mark.timeout(180)

QUERIES = ("QPIGS", "QMOD", "QPIRI", "QPIWS", "QFLAG", "QID", "QVFW", "QPI", "QDI", "QMCHGCR")
PRIORITY = {"POP00": "Utility first", "POP01": "Solar first", "POP02": "SBU first"}
ROUNDS = 40


@pytest.fixture
def daemon(simulator, tmp_path: Path):
    sim = simulator(transport="pty", seed=5)
    conf = tmp_path / "c.conf"
    conf.write_text(f"[SETUP]\npause = 0.1\ncontrol_socket = ctl.sock\naudit_log = audit.jsonl\n"
                    f"[inv]\nport = {sim.port}\nporttype = serial\nprom_output_dir = prom\n"
                    "allowed_settings = POP\nsettings_interval = 1\n")
    instance = Daemon(load_config(conf), open_link, notifier=Notifier({}))
    thread = threading.Thread(target=instance.run)
    thread.start()
    wait_until(lambda: (tmp_path / "ctl.sock").exists(), what="the control socket")
    instance.sim = sim  # type: ignore[attr-defined]
    try:
        yield instance
    finally:
        instance.stop_event.set()
        thread.join(30)


def converse(path: Path, requests: list[dict], replies: list[tuple[dict, dict]]) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(str(path))
        reader = sock.makefile("rb")
        for req in requests:
            sock.sendall(json.dumps(req).encode() + b"\n")
            replies.append((req, json.loads(reader.readline())))


def test_two_clients_and_polling_never_mix_replies(daemon: Daemon, tmp_path: Path) -> None:
    sim = daemon.sim  # type: ignore[attr-defined]
    queries = [{"id": f"a{i}", "command": QUERIES[i % len(QUERIES)]} for i in range(ROUNDS * 2)]
    settings = [{"id": f"b{i}", "command": f"POP0{i % 3}", "confirm": True} if i % 2 == 0
                else {"id": f"b{i}", "command": QUERIES[(i * 7) % len(QUERIES)]} for i in range(ROUNDS)]
    replies_a: list[tuple[dict, dict]] = []
    replies_b: list[tuple[dict, dict]] = []
    path = daemon.config.setup.control_socket
    clients = [threading.Thread(target=converse, args=(path, queries, replies_a)),
               threading.Thread(target=converse, args=(path, settings, replies_b))]
    cycles_before = daemon.workers["inv"].cycles
    for client in clients:
        client.start()
    for client in clients:
        client.join(150)
    assert len(replies_a) == len(queries)
    assert len(replies_b) == len(settings)
    assert daemon.workers["inv"].cycles > cycles_before  # polling went on meanwhile

    truth = sim.events()
    for request, reply in replies_a + replies_b:
        assert reply["id"] == request["id"]
        assert reply["ok"], reply
        assert reply["command"] == request["command"]
        if request["command"] in PRIORITY:
            # Only client b changes POP, one request at a time: the verified value is its own.
            assert reply["verified"] == {"output_source_priority": PRIORITY[request["command"]]}
        else:
            sent = [decoded(request["command"], p) for p in sent_payloads(truth, request["command"])]
            assert reply["reply"] in sent, request
    # Nothing interleaved on the wire: the simulator understood every request it got.
    exchanges = [e for e in truth if e.get("event") == "exchange"]
    assert exchanges
    requested = {e["request"] for e in exchanges}
    identity = {"QID", "QVFW", "QMN"}  # the daemon's own reads of serial, firmware and model
    assert requested <= set(QUERIES) | set(PRIORITY) | identity, requested
    assert all(e.get("nak_reason") is None for e in exchanges)
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [a["command"] for a in audit] == [r["command"] for r in settings if r["command"] in PRIORITY]



def decoded(command: str, payload: str) -> dict:
    """The reply a client must get for ``payload``: the codec's fields by Field.key, JSON round-tripped."""
    reading = decode(command, ReplyFrame(payload=payload, crc=CrcState.OK, raw=b""))
    return json.loads(json.dumps(reading.as_dict()))
