"""The SQLite history: writing, tiers, rollups, downsampling, retention, export and restarts."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import threading

import pytest

from solarmon.web.history import History, HistoryUnavailableError
from solarmon.web.history.queries import choose_tier
from solarmon.web.history.rollups import Retention
from solarmon.web.history.schema import SCHEMA_VERSION
from solarmon.web.state import SourceUpdate
from tests.web_data.conftest import T0

SRC = "inverter:main"


def feed(history: History, start: int, count: int, step: int = 10, seed: int = 7, source: str = SRC) -> dict:
    """Submit `count` readings of two metrics; return {metric: [(ts, value)]} of what was sent."""
    rng = random.Random(seed)
    sent: dict[str, list[tuple[int, float]]] = {"battery_voltage": [], "pv_input_power": []}
    for i in range(count):
        ts = start + i * step
        values = {"battery_voltage": round(48 + rng.random() * 8, 2),
                  "pv_input_power": rng.randrange(0, 3000)}
        for key, value in values.items():
            sent[key].append((ts, value))
        history.submit(SourceUpdate(source, ts, values, {"battery_voltage": "V", "pv_input_power": "W"}))
    assert history.flush(60.0)
    return sent


def expected_buckets(points: list[tuple[int, float]], base: int, step: int, lo: int, hi: int) -> dict:
    out: dict[int, list[float]] = {}
    for ts, value in points:
        if lo <= ts < hi:
            out.setdefault(base + (ts - base) // step * step, []).append(value)
    return out


@pytest.mark.parametrize(
    ("hours", "points", "tier", "step"),
    [
        (1, 1000, "raw", 4),
        (6, 1000, "raw", 22),
        (12, 1000, "1m", 60),  # 720 stored 1-minute rows
        (24, 1000, "2m", 120),  # 720 stored 2-minute rows (15-minute rows would give only 96 points)
        (48, 1000, "2m", 240),  # 2-minute rows grouped in pairs
        (24, 100, "15m", 900),  # 96 stored rows fit a budget of 100 well: read as stored
        (24 * 7, 1000, "15m", 900),  # 672 stored rows
        (24 * 30, 1000, "1h", 3600),  # 720 stored rows
        (24 * 30, 300, "1h", 3 * 3600),
        (24 * 400, 1000, "1h", 36000),
        (24 * 30, 100_000, "1m", 60),  # 43200 stored 1-minute rows
        (24 * 30, 200_000 // 2, "1m", 60),
        (2, 100_000, "raw", 1),
        (24 * 40, 100_000, "1m", 60),  # past raw retention: the 1-minute tier
        (24 * 400, 100_000, "15m", 900),  # past 1-minute retention: the finest tier left
    ],
)
def test_choose_tier(hours, points, tier, step):
    now = T0
    assert choose_tier(now - hours * 3600, now, points, Retention(), now) == (tier, step)


@pytest.mark.parametrize(
    ("tier_hours", "points"), [(2, 100), (2, 1000), (24, 200), (24, 1000), (24 * 5, 50), (24 * 5, 100)]
)
def test_downsampled_values_match_python(history, clock, tier_hours, points):
    sent = feed(history, T0 - 5 * 86400, 5 * 2880, step=30)
    clock.now = T0
    lo, hi = T0 - tier_hours * 3600 + 7, T0 - 13
    result = history.historical(SRC, ["battery_voltage", "pv_input_power"], lo, hi, points)
    step, base = result["step_s"], result["t"][0] if result["t"] else 0
    assert len(result["t"]) <= points + 1
    for metric in ("battery_voltage", "pv_input_power"):
        # Rollup tiers hold whole buckets: the expectation uses the bucket edges the tier used.
        res = {"raw": 1, "1m": 60, "2m": 120, "15m": 900, "1h": 3600}[result["tier"]]
        edge_lo, edge_hi = lo // res * res, -(-hi // res) * res
        buckets = expected_buckets(sent[metric], base, step, edge_lo, edge_hi)
        series = result["series"][metric]
        triples = zip(series["avg"], series["min"], series["max"], strict=True)
        got = dict(zip(result["t"], triples, strict=True))
        assert set(got) == set(buckets)
        for ts, values in buckets.items():
            avg, low, high = got[ts]
            assert avg == pytest.approx(statistics.fmean(values), abs=2e-3)
            assert (low, high) == (pytest.approx(min(values)), pytest.approx(max(values)))
    assert result["series"]["battery_voltage"]["unit"] == "V"


def test_unknown_metric_and_bad_ranges(history, clock):
    feed(history, T0 - 600, 10)
    clock.now = T0
    result = history.historical(SRC, ["battery_voltage", "nope"], T0 - 3600, T0, 10)
    assert result["unknown"] == ["nope"]
    assert "nope" not in result["series"]
    with pytest.raises(ValueError, match="after start"):
        history.historical(SRC, ["battery_voltage"], T0, T0 - 1, 10)
    with pytest.raises(ValueError, match="points"):
        history.historical(SRC, ["battery_voltage"], T0 - 10, T0, 0)
    assert history.historical("inverter:other", ["battery_voltage"], T0 - 10, T0, 5)["t"] == []


def test_late_samples_update_rollups(history, clock):
    feed(history, T0 - 3600, 300, step=12)
    before = history.historical(SRC, ["pv_input_power"], T0 - 3600, T0, 4)  # 15-min buckets from roll_1m
    history.submit(SourceUpdate(SRC, T0 - 3600 + 5, {"pv_input_power": 100_000}))
    assert history.flush()
    after = history.historical(SRC, ["pv_input_power"], T0 - 3600, T0, 4)
    assert before["tier"] == after["tier"] == "15m"
    assert after["series"]["pv_input_power"]["max"][0] == 100_000
    assert after["series"]["pv_input_power"]["max"][1:] == before["series"]["pv_input_power"]["max"][1:]


def test_strings_and_non_finite_values_are_not_stored(history):
    history.submit(SourceUpdate(SRC, T0, {"device_mode": "Battery", "x": float("nan"), "y": 1.5, "z": True}))
    assert history.flush()
    assert {m["metric"] for m in history.metrics(SRC)} == {"y", "z"}


def test_retention_deletes_each_tier_at_its_age(make_history, clock):
    hist = make_history(clock=clock, raw_retention_days=1, minute_retention_days=3)
    feed(hist, T0 - 5 * 86400, 5 * 1440, step=60)
    clock.now = T0
    assert hist.flush(retention=True)
    db = sqlite3.connect(hist.path)
    tables = ("raw", "roll_1m", "roll_2m", "roll_15m")
    oldest = {t: db.execute(f"SELECT min(ts) FROM {t}").fetchone()[0] for t in tables}
    assert oldest["raw"] >= T0 - 86400
    assert oldest["roll_1m"] >= T0 - 3 * 86400
    assert oldest["roll_2m"] >= T0 - 3 * 86400  # kept as long as the 1-minute tier
    assert oldest["roll_2m"] < T0 - 2.9 * 86400
    assert oldest["roll_15m"] < T0 - 4.9 * 86400  # kept forever
    # A chart of the whole range falls back to the tiers that still hold it.
    assert hist.historical(SRC, ["battery_voltage"], T0 - 5 * 86400, T0, 100_000)["tier"] == "15m"


def test_export_rows_join_metrics_by_time(history, clock):
    sent = feed(history, T0 - 100, 10)
    history.submit(SourceUpdate(SRC, T0 - 5, {"battery_voltage": 50.0}))
    assert history.flush()
    rows = list(history.export_rows(SRC, ["pv_input_power", "battery_voltage", "nope"], T0 - 100, T0))
    assert [ts for ts, _ in rows] == [ts for ts, _ in sent["pv_input_power"]] + [T0 - 5]
    assert rows[0][1] == [sent["pv_input_power"][0][1], sent["battery_voltage"][0][1], None]
    assert rows[-1][1] == [None, 50.0, None]


def test_restart_keeps_everything(make_history, tmp_path, clock):
    first = make_history(clock=clock)
    feed(first, T0 - 3600, 100)
    first.stop()
    second = make_history(clock=clock)
    assert second.status()["migrated_from"] == SCHEMA_VERSION  # already current: nothing to migrate
    assert second.historical(SRC, ["battery_voltage"], T0 - 3600, T0, 1000)["t"][0] == T0 - 3600


def test_submit_before_start_is_kept_until_queue_full(tmp_path, clock):
    hist = History(tmp_path / "q.db", queue_size=5, clock=clock)
    for i in range(8):
        hist.submit(SourceUpdate(SRC, T0 + i, {"v": i}))
    assert hist.status()["dropped"] == 3
    with pytest.raises(HistoryUnavailableError):
        hist.historical(SRC, ["v"], T0, T0 + 10, 10)
    hist.start()
    try:
        assert hist.flush()
        assert len(hist.historical(SRC, ["v"], T0, T0 + 10, 10)["t"]) == 5
    finally:
        hist.stop()


def test_readers_in_threads_while_writing(history, clock):
    feed(history, T0 - 86400, 8640)
    errors: list[BaseException] = []

    def read():
        try:
            for _ in range(20):
                result = history.historical(SRC, ["battery_voltage"], T0 - 86400, T0, 200)
                assert result["t"]
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    feed(history, T0, 2000, seed=3)
    for t in threads:
        t.join(30)
    assert errors == []


def test_status_reports_counts(history):
    feed(history, T0, 10)
    status = history.status()
    assert status["ok"] is True
    assert status["rows_written"] == 20
    assert status["schema_version"] == SCHEMA_VERSION
    assert status["size_bytes"] > 0


def test_metrics_with_different_buckets_share_one_axis(history, clock):
    feed(history, T0 - 7200, 720)  # two hours of both metrics
    for i in range(30):  # a third metric that only started 5 minutes ago
        history.submit(SourceUpdate(SRC, T0 - 300 + 10 * i, {"grid_power": 100.0 + i}))
    assert history.flush()
    clock.now = T0 + 10
    result = history.historical(SRC, ["battery_voltage", "grid_power"], T0 - 7200, T0, 120)
    assert result["tier"] == "1m"
    grid = result["series"]["grid_power"]["avg"]
    assert len(grid) == len(result["t"]) == len(result["series"]["battery_voltage"]["avg"])
    minutes = len({(T0 - 300 + 10 * i) // 60 for i in range(30)})
    assert grid[:-minutes] == [None] * (len(grid) - minutes)
    assert None not in grid[-minutes:]


def test_json_body_is_the_documented_document(history, clock):
    feed(history, T0 - 86400, 8640)
    body = history.historical_json(SRC, ["pv_input_power", "battery_voltage"], T0 - 86400, T0, 500)
    doc = json.loads(body)
    assert list(doc) == ["source", "tier", "step_s", "start", "end", "t", "series", "unknown"]
    assert doc["t"] == sorted(doc["t"])  # SQLite aggregated the arrays in time order
    assert list(doc["series"]) == ["pv_input_power", "battery_voltage"]
    assert doc == history.historical(SRC, ["pv_input_power", "battery_voltage"], T0 - 86400, T0, 500)
    extra = history.historical_json(SRC, ["pv_input_power"], T0 - 86400, T0, 500, extra={"device": "main"})
    assert json.loads(extra)["device"] == "main"


def test_failed_write_is_kept_and_retried(history):
    db = sqlite3.connect(history.path)
    # A real SQLite failure inside the writer's transaction (as a full disk would cause).
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON raw WHEN NEW.value = -1"
               " BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    db.commit()
    history.submit(SourceUpdate(SRC, T0, {"a": 1.0, "b": -1.0}))
    assert history.flush()
    status = history.status()
    assert status["ok"] is False
    assert "refused for the test" in status["error"]
    assert history.metrics(SRC) == []  # the whole batch was rolled back
    db.execute("DROP TRIGGER refuse")
    db.commit()
    history.submit(SourceUpdate(SRC, T0 + 1, {"a": 2.0}))
    assert history.flush()
    rows = list(history.export_rows(SRC, ["a", "b"], T0, T0 + 2))
    assert rows == [(T0, [1.0, -1.0]), (T0 + 1, [2.0, None])]  # nothing lost
    assert history.status()["ok"] is True
    db.close()


@pytest.mark.parametrize(
    "bad",
    [
        SourceUpdate(SRC, float("nan"), {"a": 1.0}),
        SourceUpdate(SRC, 1e30, {"a": 1.0}),
        SourceUpdate(SRC, -5.0, {"a": 1.0}),
        SourceUpdate(SRC, T0, {"a": 10**400, "b": float("inf"), "c": None}),  # type: ignore[dict-item]
        SourceUpdate(SRC, T0, {"ac_output_active_power": float("nan"), "pv_input_power": 10**400}),
    ],
)
def test_nonsense_readings_never_stop_the_writer(history, bad):
    history.submit(bad)
    history.submit(SourceUpdate(SRC, T0 + 5, {"a": 2.0}))
    assert history.flush()
    assert history.status()["ok"] is True
    assert list(history.export_rows(SRC, ["a"], T0 + 5, T0 + 6)) == [(T0 + 5, [2.0])]


@pytest.mark.parametrize("tier_hours", [1, 24, 48, 24 * 7])  # raw grouped, 2m stored, 2m grouped, 15m stored
def test_arrays_are_sqlites_round_to_3_decimals(history, clock, tier_hours):
    """The arrays are printed by printf('%!.3f') (issue 14.18: ~2x faster to format); the numbers
    must be exactly json_group_array(round(x, 3))'s, edge values included (beyond 15 significant
    digits printf keeps digits the old %.15g text dropped: no reading is that large)."""
    edge = [2.0005, -0.0004, -0.0005, 123456.7895, 856.0, 0.1 + 0.2, -52.4049, 3.14159, 1e-9, 49.995]
    for i in range(0, tier_hours * 3600, 30):
        history.submit(SourceUpdate(SRC, T0 - tier_hours * 3600 + i, {"x": edge[(i // 30) % len(edge)]}))
    assert history.flush()
    body = history.historical(SRC, ["x"], T0 - tier_hours * 3600, T0, 1000)
    series = history._series_of(history._reader(), SRC, ["x"])
    step, tier = body["step_s"], body["tier"]
    table, avg = ("raw", "avg(value)") if tier == "raw" else (f"roll_{tier}", "sum(vavg * n) / sum(n)")
    low, high = ("value", "value") if tier == "raw" else ("vmin", "vmax")
    resolution = {"raw": 1, "1m": 60, "2m": 120, "15m": 900, "1h": 3600}[tier]
    db = sqlite3.connect(history.path)
    reference = db.execute(
        "SELECT json_group_array(round(a, 3)), json_group_array(round(mn, 3)),"
        " json_group_array(round(mx, 3))"
        f" FROM (SELECT (ts - ?1) / ?2 * ?2 + ?1 AS t, {avg} AS a, min({low}) AS mn, max({high}) AS mx"
        f" FROM {table} WHERE series = ?3 AND ts >= ?4 AND ts < ?5 GROUP BY t ORDER BY t)",
        (body["start"] // step * step, step, series["x"][0], body["start"] // resolution * resolution,
         body["end"]),
    ).fetchone()
    db.close()
    assert [body["series"]["x"][k] for k in ("avg", "min", "max")] == [json.loads(r) for r in reference]


def test_block_cache_serves_whole_blocks_and_late_samples_invalidate_them(history, clock):
    """Issue 14.18: a repeated 24-hour chart reads its whole blocks of buckets from the cache,
    and the body is byte for byte what the uncached query gives, before and after a late sample."""
    from solarmon.web.history import queries

    for i in range(0, 2 * 86400, 60):
        history.submit(SourceUpdate(SRC, T0 - 2 * 86400 + i, {"v": 50 + (i % 977) / 100, "w": i % 300}))
    assert history.flush()
    conn = history._reader()

    def uncached() -> bytes:
        series = history._series_of(conn, SRC, ["v", "w"])
        return queries.historical_json(conn, series, SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000,
                                       history.retention, clock())

    first = history.historical_json(SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000)
    hits = history._blocks.hits
    again = history.historical_json(SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000)
    assert history._blocks.hits - hits >= 2 * 8  # ~10 whole blocks per metric came from the cache
    assert first == again == uncached()
    history.submit(SourceUpdate(SRC, T0 - 43200 + 30, {"v": 99.0}))  # late: in a cached block
    assert history.flush()
    after = history.historical_json(SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000)
    assert after == uncached()
    assert after != first
    assert 99.0 in json.loads(after)["series"]["v"]["max"]


def test_first_query_reads_each_metric_in_one_statement_and_fills_the_block_cache(history, clock):
    """Issue 14.18: a first (uncached) 24-hour chart is one SELECT per metric, not one per block of
    buckets; the whole blocks are cut out of that read and cached, so the next query reads only the
    partial blocks at its two ends, and every body equals the uncached query's, byte for byte,
    also after a late sample dropped some of the blocks."""
    from solarmon.web.history import queries

    for i in range(0, 2 * 86400, 60):
        history.submit(SourceUpdate(SRC, T0 - 2 * 86400 + i, {"v": 50 + (i % 977) / 100, "w": i % 300}))
    assert history.flush()
    conn = history._reader()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)

    def uncached() -> bytes:
        series = history._series_of(conn, SRC, ["v", "w"])
        return queries.historical_json(conn, series, SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000,
                                       history.retention, clock())

    def chart_reads() -> int:
        return sum(1 for s in statements if "group_concat" in s)

    first = history.historical_json(SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000)
    assert chart_reads() == 2  # one per metric
    statements.clear()
    hits = history._blocks.hits
    again = history.historical_json(SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000)
    assert chart_reads() == 2 * 2  # the partial blocks at both ends
    assert history._blocks.hits - hits >= 2 * 8
    assert first == again == uncached()
    history.submit(SourceUpdate(SRC, T0 - 43200 + 30, {"v": 99.0}))  # late: drops the newer blocks
    assert history.flush()
    statements.clear()
    after = history.historical_json(SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000)
    assert chart_reads() == 2 * 2  # the head before the cached run, then the rest in one read
    assert after == uncached() != first
    assert history.historical_json(SRC, ["v", "w"], T0 - 86400 + 7, T0, 1000) == after


def test_block_cache_cuts_a_run_on_demand_and_invalidation_drops_it():
    """A first query's read is kept whole (a run) and cut into blocks only when a block is asked
    for; a write to the series before that drops the run, so nothing stale is ever served."""
    from solarmon.web.history.blockcache import BlockCache

    times = [100, 160, 220, 280, 400, 460]  # blocks of 120 s from 120: [160, 220] [280] [] [400, 460]
    arrays = ("[" + ",".join(map(str, times)) + "]", "[1,2,3,4,5,6]", "[0,1,2,3,4,5]", "[2,3,4,5,6,7]")
    cache = BlockCache()
    cache.put_run((7, "2m", 60), 120, 480, 120, arrays, cache.generation(7))
    assert cache.get((7, "2m", 60, 120)) == ("[160,220]", "[2,3]", "[1,2]", "[3,4]")
    assert cache.get((7, "2m", 60, 240)) == ("[280]", "[4]", "[3]", "[5]")
    assert cache.get((7, "2m", 60, 360)) == ("[400,460]", "[5,6]", "[4,5]", "[6,7]")
    assert cache.get((7, "2m", 60, 480)) is None  # past the run's whole blocks
    stale = cache.generation(7)
    cache.invalidate({7: (0, 0)})
    cache.put_run((7, "2m", 60), 120, 480, 120, arrays, stale)  # read before that write: refused
    assert cache.get((7, "2m", 60, 120)) is None
    cache.put_run((7, "2m", 60), 120, 480, 120, arrays, cache.generation(7))
    cache.invalidate({7: (0, 0)})  # a write after the read: the uncut run goes too
    assert cache.get((7, "2m", 60, 120)) is None
