"""The evaluation service on a real LiveState and SQLite: a hung channel blocks neither the
evaluation nor the other channels; the store's acknowledgement, pruning and memory fallback."""

from __future__ import annotations

import socket
import sqlite3
import time

import pytest

from solarmon.alerts.channels import AppriseTarget
from solarmon.alerts.delivery import ChannelWorker, Delivery, RetryPolicy
from solarmon.alerts.evaluator import FIRED, Evaluator
from solarmon.alerts.rules import parse_rules
from solarmon.alerts.service import AlertService
from solarmon.alerts.store import AlertStore
from solarmon.web.history.schema import connect, migrate
from solarmon.web.state import LiveState, SourceUpdate
from tests.alerts.conftest import wait_until

RULES = tuple(parse_rules([{"name": "battery_low", "metric": "battery_capacity", "below": 20}], where="t"))


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections (kernel backlog) and never answers: a hung webhook."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"json://127.0.0.1:{sock.getsockname()[1]}/hook?cto=5&rto=20"
    sock.close()


@pytest.mark.timeout(60)
def test_a_hung_channel_blocks_neither_evaluation_nor_the_other_channel(silent_server, receiver):
    state = LiveState()
    retry = RetryPolicy(0.05, 0.1, 2)
    hung = ChannelWorker(AppriseTarget("apprise:hung", silent_server), retry=retry)
    live = ChannelWorker(AppriseTarget("apprise:live", receiver.url), retry=retry)
    service = AlertService(RULES, state=state, store=AlertStore(None), delivery=Delivery([hung, live]),
                           notify_interval_s=0, tick_s=0.05)
    service.start()
    try:
        for i, capacity in enumerate([50, 10, 50, 10, 50]):
            state.apply(SourceUpdate("inverter:main", time.time(), {"battery_capacity": capacity}))
            assert wait_until(lambda c=capacity: bool(service.store.active()) == (c < 20), timeout_s=5), i
        # Four transitions evaluated and stored while the hung target still waits on its first send.
        assert len(service.store.recent()) == 2
        assert receiver.wait_for(lambda b: len(b) == 4)
        assert hung.stats()["delivered"] == 0
        assert hung.stats()["queued"] == 4
        assert service.health()["running"] is True
    finally:
        service.stop()


def test_the_store_in_the_history_database(tmp_path):
    path = tmp_path / "history.db"
    conn = connect(path)
    migrate(conn)
    conn.close()
    clock = [1000.0]
    store = AlertStore(path, clock=lambda: clock[0])
    store.open()
    assert store.status() == {"ok": True, "persistent": True, "error": None, "path": str(path)}
    ev = Evaluator(RULES)
    (fired,) = ev.evaluate("inverter:main", {"battery_capacity": 5}, {"battery_capacity": "%"}, 1000.0)
    assert fired.kind == FIRED
    alert_id = store.fire(fired)
    assert store.fire(fired) == alert_id  # one active row per rule and source
    first = store.acknowledge(alert_id, "user alice")
    clock[0] = 1100.0
    again = store.acknowledge(alert_id, "user bob")
    assert (again["acked_by"], again["acked_ts"]) == ("user alice", first["acked_ts"])  # the first one stays
    assert store.acknowledge(12345, "user bob") is None
    (cleared,) = ev.evaluate("inverter:main", {"battery_capacity": 50}, {}, 1200.0)
    assert store.clear(cleared) == alert_id
    assert store.clear(cleared) is None  # nothing active any more
    store.record_delivery(alert_id, "fired", "apprise:1", False, 10, "apprise: not delivered")
    assert store.deliveries(alert_id)[0]["attempts"] == 10
    clock[0] = 1200.0 + 3 * 86400
    assert store.prune(days=2) == 1
    assert store.recent() == []
    assert store.deliveries(alert_id) == []
    store.close()


def test_the_store_falls_back_to_memory_without_alert_tables(tmp_path):
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    store = AlertStore(foreign)
    store.open()
    status = store.status()
    assert (status["ok"], status["persistent"]) == (False, False)
    assert "has no alert tables" in status["error"]
    ev = Evaluator(RULES)
    store.fire(ev.evaluate("inverter:main", {"battery_capacity": 5}, {}, 0.0)[0])
    assert len(store.active()) == 1  # alerts still work, in memory
    store.close()
    missing = tmp_path / "missing.db"
    AlertStore(missing).open()
    assert not missing.exists()  # the store never creates the history database


@pytest.mark.timeout(30)
def test_stop_does_not_wait_for_the_next_tick():
    service = AlertService(RULES, state=LiveState(), store=AlertStore(None), delivery=Delivery([]),
                           tick_s=3600)
    service.start()
    thread = service._thread
    assert wait_until(lambda: service.evaluations == 0 and thread.is_alive())
    service.stop()
    # stop() joins for at most a few seconds: the thread, waiting for a sample for up to an hour,
    # can only have ended if stop() woke it.
    assert not thread.is_alive()


@pytest.mark.parametrize("writer", ["daemon", "upstream"])
def test_fault_alert_fires_for_daemon_and_upstream_files_alike(tmp_path, writer):
    """Defect 3/5: upstream mppsolar files carry the QPIWS bits as strings; the built-in
    inverter_fault_bits alert never fired for such an inverter. One rule (catalog.classify_alarms)
    now decides for both: a1 + a9 are two faults, a5 a warning."""
    from solarmon.alerts.defaults import default_rules
    from solarmon.web.promreader import PromReader
    from tests.web_data.conftest import write_daemon_file, write_mppsolar_files

    qpiws = "01000100010000000000000000000000"  # a1 inverter fault, a5 line fail, a9 over temperature
    prom = tmp_path / "prom"
    prom.mkdir()
    if writer == "daemon":
        write_daemon_file(prom, "main", {"QPIWS": qpiws, "QMOD": "B"})
    else:
        write_mppsolar_files(prom, "main", {"QPIWS": qpiws, "QMOD": "B"})
    state = LiveState()
    PromReader(prom, state).scan()
    service = AlertService(tuple(default_rules()), state=state, store=AlertStore(None),
                           delivery=Delivery([]), notify_interval_s=0)
    service.store.open()
    try:
        fired = {t.rule.name: t for t in service.check_source("inverter:main")}
    finally:
        service.store.close()
    assert fired["inverter_fault_bits"].value == 2
    assert fired["inverter_fault_bits"].message == \
        "Inverter main reports 2 fault(s): inverter_fault, over_temperature"
