"""Issue 14.2: a backward clock step must not freeze the live view nor leave history in the future.

A Pi without an RTC stamps its files an hour ahead until NTP steps its clock back. The web app
clamps impossible read times to their arrival (and counts them), orders values by arrival when
the clock has stepped back, and never stores a row in the future.
"""

from __future__ import annotations

import time
from typing import Any

from solarmon.web.runtime import get_context
from solarmon.web.state import FUTURE_TIMESTAMP, MERGE, LiveState, SourceUpdate
from tests.fixtures.webapp import write_prom
from tests.web_data.conftest import T0, FakeClock

HOUR = 3600.0


def test_files_stamped_an_hour_ahead_are_clamped_counted_and_never_stored_ahead(app, web_paths, web_runtime):
    ctx = get_context(app)
    reader, history = ctx.parts.reader, ctx.parts.history
    client = app.test_client()
    ahead = time.time() + HOUR
    for i, volts in enumerate((52.0, 51.5)):  # the Pi before NTP: files an hour in the future
        write_prom(web_paths.prom_dir, "main", {"battery_voltage": volts, "battery_capacity": 80},
                   ts=ahead + i)
        reader.scan()
    body = client.get("/api/data").get_json()
    assert body["values"]["battery_voltage"] == 51.5
    assert body["ts"] <= time.time() + 1, "a reading from the future is clamped to its arrival"
    for volts in (47.0, 46.0, 45.0):  # NTP stepped the clock back: normal files again
        write_prom(web_paths.prom_dir, "main", {"battery_voltage": volts, "battery_capacity": 80})
        reader.scan()
        body = client.get("/api/data").get_json()
        assert body["values"]["battery_voltage"] == volts
        assert body["ok"] is True
        assert body["age_s"] < 5
    status = client.get("/api/status").get_json()
    # each reading of a future file counts (the reader's own thread may read one twice)
    assert status["sources"]["inverter:main"]["errors_by_kind"].get(FUTURE_TIMESTAMP, 0) >= 2
    assert history.flush()
    newest = history.latest_ts("inverter:main")
    assert newest is not None
    assert newest <= time.time() + 1, "no history row in the future"


def merge(ts: float, **values: Any) -> SourceUpdate:
    """A sensor reading (MQTT-like: newer value per key wins) read at `ts`."""
    return SourceUpdate(source="house", ts=ts, values=dict(values), scope=MERGE)


def test_a_backward_step_of_the_web_apps_own_clock_recovers_at_once():
    """The web app shares the Pi's clock: values taken while it was an hour ahead must not win
    over readings made after the step, nor keep an age of 0 for the whole hour."""
    clock, mono = FakeClock(T0 + HOUR), FakeClock(100.0)
    live = LiveState(clock=clock, monotonic=mono)
    live.apply(merge(T0 + HOUR, battery_voltage=52.0, temperature=20.0))
    clock.now, mono.now = T0 + 2, 105.0  # 5 s later NTP has stepped the clock back an hour
    live.apply(merge(T0 + 1, battery_voltage=47.0))
    snap = live.snapshot("house")
    assert snap is not None
    assert snap.values["battery_voltage"] == 47.0, "the newest arrival wins after the step"
    assert snap.ts <= clock.now
    assert snap.ages["battery_voltage"] == 1.0
    # a value not re-sent since the step is aged from its arrival, not held at age 0 for an hour
    assert snap.times["temperature"] <= clock.now
    assert snap.ages["temperature"] == 5.0
    clock.now += 600
    assert live.snapshot("house").ages["temperature"] >= 600
