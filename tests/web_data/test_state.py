"""LiveState: merged latest values, health transitions, copies, the ring and subscribers."""

from __future__ import annotations

import threading

import pytest

from solarmon.web.state import (
    LiveState,
    SourceUpdate,
    TooManySubscribersError,
    inverter_source,
    section_of,
)
from tests.web_data.conftest import FakeClock


def update(ts: float, source: str = "inverter:main", ok: bool = True, **values: float | str) -> SourceUpdate:
    return SourceUpdate(source, ts, dict(values), {k: "V" for k in values}, ok=ok,
                        error=None if ok else "down")


def test_source_ids():
    assert inverter_source("east") == "inverter:east"
    assert section_of("inverter:east") == "east"
    assert section_of("house") is None


def test_per_command_updates_merge_into_one_picture():
    clock = FakeClock(110.0)
    live = LiveState(clock=clock)
    live.apply(update(100.0, battery_voltage=52.0))
    live.apply(update(101.0, device_mode="Battery"))
    snap = live.snapshot("inverter:main")
    assert snap.values == {"battery_voltage": 52.0, "device_mode": "Battery"}
    assert snap.ts == 101.0
    assert snap.age_s == pytest.approx(9.0)


def test_older_reading_does_not_overwrite_newer_value():
    live = LiveState(clock=FakeClock(200.0))
    live.apply(update(200.0, battery_voltage=53.0))
    live.apply(update(150.0, battery_voltage=49.0, pv_input_power=10))
    snap = live.snapshot("inverter:main")
    assert snap.values["battery_voltage"] == 53.0
    assert snap.values["pv_input_power"] == 10  # new keys from the older reading still count
    assert snap.ts == 200.0


def test_snapshot_is_a_copy():
    live = LiveState(clock=FakeClock(1.0))
    live.apply(update(1.0, battery_voltage=52.0))
    snap = live.snapshot("inverter:main")
    snap.values["battery_voltage"] = 0.0
    snap.units.clear()
    again = live.snapshot("inverter:main")
    assert again.values["battery_voltage"] == 52.0
    assert again.units == {"battery_voltage": "V"}


def test_health_tracks_ok_errors_and_last_ok():
    clock = FakeClock(500.0)
    live = LiveState(clock=clock)
    live.record_error("house", "garbage", "bad file")
    live.apply(update(400.0, battery_voltage=52.0))
    live.apply(update(410.0, ok=False, battery_voltage=51.0))
    health = live.health()
    assert not health["house"].ok
    assert health["house"].errors_by_kind == {"garbage": 1}
    assert health["inverter:main"].ok is False
    assert health["inverter:main"].last_ok == 400.0
    assert health["inverter:main"].error_count == 1
    live.apply(update(420.0, battery_voltage=52.0))
    assert live.health()["inverter:main"].ok


def test_devices_in_first_seen_order_without_other_sources():
    live = LiveState()
    live.apply(update(1.0, source="inverter:b", x=1))
    live.apply(update(1.0, source="house", x=1))
    live.apply(update(1.0, source="inverter:a", x=1))
    assert live.devices() == ["b", "a"]


def test_ring_is_bounded_and_filterable():
    live = LiveState(ring_size=10)
    for i in range(25):
        live.apply(update(float(i), source="inverter:a" if i % 2 else "inverter:b", v=i))
    ring = live.ring()
    assert [u.ts for u in ring] == [float(i) for i in range(15, 25)]
    assert all(u.source == "inverter:a" for u in live.ring("inverter:a"))
    assert [u.ts for u in live.ring(since=22.0)] == [23.0, 24.0]


def test_subscriber_gets_samples_and_health_transitions():
    live = LiveState(clock=FakeClock(1.0))
    with live.subscribe() as sub:
        live.apply(update(1.0, battery_voltage=52.0))
        first, second = sub.get(1.0), sub.get(1.0)
        assert (first.kind, second.kind) == ("sample", "health")
        assert first.data["values"] == {"battery_voltage": 52.0}
        assert second.data["ok"] is True
        assert second.seq > first.seq
        assert sub.get(0.01) is None
    assert live.subscriber_count() == 0


def test_slow_subscriber_loses_oldest_and_never_blocks_reader():
    live = LiveState(clock=FakeClock(200.0))
    sub = live.subscribe(maxsize=5)
    done = threading.Event()

    def produce():
        for i in range(200):
            live.apply(update(float(i), battery_voltage=float(i)))
        done.set()

    threading.Thread(target=produce).start()
    assert done.wait(10.0)  # with nobody reading, apply() still returned 200 times
    events = [sub.get(0.1) for _ in range(5)]
    assert [e.data["values"]["battery_voltage"] for e in events] == [195.0, 196.0, 197.0, 198.0, 199.0]
    assert sub.dropped == 201 - 5  # 200 samples + the first health event, 5 kept
    sub.close()


def test_subscriber_limit():
    live = LiveState(max_subscribers=2)
    a, b = live.subscribe(), live.subscribe()
    with pytest.raises(TooManySubscribersError):
        live.subscribe()
    a.close()
    live.subscribe().close()
    b.close()


def test_snapshot_json_shape():
    live = LiveState(clock=FakeClock(12.5))
    live.apply(update(10.0, battery_voltage=52.0))
    assert live.snapshot("inverter:main").to_json() == {
        "source": "inverter:main", "ts": 10.0, "age_s": 2.5, "values": {"battery_voltage": 52.0},
        "units": {"battery_voltage": "V"}, "kinds": {}, "ages": {"battery_voltage": 2.5}, "stale": {},
        "faults": [], "warnings": [], "ok": True, "error": None,
    }
    assert live.snapshot("inverter:other") is None
