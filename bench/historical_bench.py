"""Benchmark of /api/historical's query path against Prometheus 2.42 on the same data.

30 days of 10 s readings from the simulator's model (~260k readings of ~29 metrics) are written
once into a history database in bench/.cache/historical/ (reused while its parameters match);
the eight chart metrics are exported once as OpenMetrics, turned into TSDB blocks by
`promtool tsdb create-blocks-from openmetrics`, and compacted by a local Prometheus (the
compacted storage is cached too). Then, side by side in one run, for 24 h / 7 d / 30 d and for one
metric and eight:
- solarmon: `History.historical_json()` (the query and the encoded JSON body, what
  /api/historical sends), median time over --repeat runs (a refreshed chart: whole blocks of
  buckets come from the history's block cache), the same with the cache emptied before each run
  ("cold": a first query), and the body size;
- Prometheus: `query_range` of `avg_over_time(m[step])` at the same step, over HTTP on 127.0.0.1:
  its own execution time (stats=all) and the round trip, and the body size;
and prints the ratio. Target: eight metrics over 30 days in <= 20 ms and >= 5x faster.

Usage: .venv/bin/python bench/historical_bench.py [--repeat 15] [--no-prometheus] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solarmon.demo.history import fill_demo_history
from solarmon.web.history import History

CACHE = Path(__file__).resolve().parent / ".cache" / "historical"
SECTION = "bench"
SOURCE = f"inverter:{SECTION}"
DAYS = 30
STEP_S = 10
CHART_METRICS = (
    "battery_voltage", "battery_capacity", "pv_input_power", "ac_output_active_power",
    "battery_charging_current", "battery_discharge_current", "pv_input_voltage",
    "inverter_heat_sink_temperature",
)  # fmt: skip
RANGES = (("24 h", 86400), ("7 d", 7 * 86400), ("30 d", 30 * 86400))
POINTS = 1000
CACHE_VERSION = 1
TARGET_MS = 20.0
TARGET_RATIO = 5.0


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the results."""
    print(message, file=sys.stderr, flush=True)


def build_history(rebuild: bool) -> tuple[Path, float]:
    """Create (or reuse) the 30-day database; return its path and the data's end time."""
    meta_path = CACHE / "meta.json"
    db = CACHE / "history.db"
    wanted = {"version": CACHE_VERSION, "days": DAYS, "step_s": STEP_S, "source": SOURCE}
    if not rebuild and meta_path.exists() and db.exists():
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in wanted.items()):
            return db, float(meta["end"])
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    end = float(int(time.time()) // 900 * 900)
    log(f"writing {DAYS} days of {STEP_S} s readings into {db} (once; takes a minute or two)")
    started = time.perf_counter()
    history = History(db, clock=lambda: end, queue_size=400_000)
    history.start()
    count = fill_demo_history(history, DAYS, step_s=STEP_S, section=SECTION, end=end)
    history.stop()
    took = time.perf_counter() - started
    log(f"  {count} readings, {history.status()['rows_written']} rows in {took:.0f} s")
    meta_path.write_text(json.dumps({**wanted, "end": end}))
    return db, end


def export_openmetrics(db: Path, path: Path) -> int:
    """Write the chart metrics' raw samples as OpenMetrics text (families contiguous)."""
    import sqlite3

    conn = sqlite3.connect(db)
    count = 0
    with path.open("w") as out:
        for metric in CHART_METRICS:
            name = f"mpp_solar_{metric}"
            out.write(f"# TYPE {name} gauge\n")
            rows = conn.execute(
                "SELECT r.ts, r.value FROM raw r JOIN series s ON s.id = r.series"
                " WHERE s.source = ? AND s.metric = ? ORDER BY r.ts",
                (SOURCE, metric),
            )
            for ts, value in rows:
                out.write(f'{name}{{inverter="{SECTION}"}} {value!r} {ts}\n')
                count += 1
        out.write("# EOF\n")
    conn.close()
    return count


def block_dirs(storage: Path) -> list[str]:
    """The TSDB block directories (ULIDs) in a storage folder."""
    return sorted(p.name for p in storage.iterdir() if p.is_dir() and len(p.name) == 26)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    """A local Prometheus on the cached storage (no scrape targets), stopped by `close()`."""

    def __init__(self, storage: Path) -> None:
        self.port = free_port()
        self.config = Path(tempfile.mkdtemp(prefix="prom-bench-")) / "prometheus.yml"
        self.config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.config}", f"--storage.tsdb.path={storage}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=100y",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError("prometheus did not become ready in 120 s")

    @property
    def url(self) -> str:
        """Base URL of the local server."""
        return f"http://127.0.0.1:{self.port}"

    def query_range(self, query: str, start: int, end: int, step: int) -> tuple[float, float, int]:
        """Run one query_range; return (round trip s, Prometheus' own exec s, body bytes)."""
        params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step,
                                         "stats": "all"})
        began = time.perf_counter()
        with urllib.request.urlopen(f"{self.url}/api/v1/query_range?{params}", timeout=60) as resp:
            body = resp.read()
        elapsed = time.perf_counter() - began
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise RuntimeError(f"prometheus query failed: {doc}")
        timings = doc["data"].get("stats", {}).get("timings", {})
        return elapsed, float(timings.get("execTotalTime", elapsed)), len(body)

    def close(self) -> None:
        """Stop the server and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.config.parent, ignore_errors=True)


def prepare_prometheus(db: Path, end: float) -> Path:
    """Blocks from the same samples, compacted once by a running Prometheus; cached."""
    storage = CACHE / "prometheus"
    marker = storage / "compacted.json"
    if marker.exists():
        return storage
    shutil.rmtree(storage, ignore_errors=True)
    storage.mkdir(parents=True)
    om = CACHE / "samples.om"
    log("exporting the chart metrics as OpenMetrics")
    count = export_openmetrics(db, om)
    log(f"  {count} samples; promtool tsdb create-blocks-from openmetrics (takes minutes)")
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(om), str(storage)],
                   check=True)
    om.unlink()
    log(f"  {len(block_dirs(storage))} blocks; letting Prometheus compact them")
    prom = Prometheus(storage)
    try:
        stable, last = 0, block_dirs(storage)
        started = time.monotonic()
        # The compactor first runs a minute after start; done when the block list stops changing.
        while stable < 4 and time.monotonic() - started < 1200:
            time.sleep(15)
            now = block_dirs(storage)
            stable = stable + 1 if now == last and time.monotonic() - started > 75 else 0
            last = now
    finally:
        prom.close()
    log(f"  {len(block_dirs(storage))} blocks after compaction")
    marker.write_text(json.dumps({"end": end, "blocks": len(block_dirs(storage))}))
    return storage


def measure_prometheus(
    prom: Prometheus, metrics: tuple[str, ...], result: dict[str, Any], end: float, repeat: int
) -> tuple[float, float, int]:
    """Median Prometheus exec and round-trip ms, and bytes, for the same step and range.

    One query per metric: avg_over_time drops the metric name, so eight metrics in one selector
    would collide on their labels (and a chart asks per series anyway); times are summed.
    """
    step = int(result["step_s"])
    queries = [f'avg_over_time(mpp_solar_{m}{{inverter="{SECTION}"}}[{step}s])' for m in metrics]
    # avg_over_time looks back from each evaluation time: ending a step after the bucket start
    # covers the same [t, t + step) windows as the buckets.
    q_start = int(result["start"]) // step * step + step
    http, execs, size = [], [], 0
    for _ in range(repeat + 1):
        each = [prom.query_range(q, q_start, int(end), step) for q in queries]
        http.append(sum(r[0] for r in each))
        execs.append(sum(r[1] for r in each))
        size = sum(r[2] for r in each)
    return median_ms(execs[1:]), median_ms(http[1:]), size


def median_ms(samples: list[float]) -> float:
    """Median of seconds, in milliseconds."""
    return statistics.median(samples) * 1000.0


def run(repeat: int, with_prometheus: bool, rebuild: bool) -> int:
    """Build what is missing, measure, print the table; exit status 1 when a target is missed."""
    db, end = build_history(rebuild)
    history = History(db, clock=lambda: end)
    history.start()
    prom = None
    try:
        if with_prometheus:
            prom = Prometheus(prepare_prometheus(db, end))
        print(f"historical benchmark: {DAYS} days of {STEP_S} s readings, {POINTS} points, "
              f"median of {repeat}")
        header = (f"{'range':>5} {'metrics':>7} {'tier':>4} {'step':>6} {'points':>6} | {'solarmon ms':>11}"
                  f" {'cold ms':>7} {'bytes':>7}")
        if prom:
            header += (f" | {'prom exec ms':>12} {'prom http ms':>12} {'bytes':>8} | {'ratio':>6}"
                       f" {'cold':>6}")
        print(header)
        verdict = 0
        for label, seconds in RANGES:
            for metrics in (CHART_METRICS[:1], CHART_METRICS):
                start = end - seconds
                ours: list[float] = []
                body = b""
                result: dict[str, Any] = {}
                for _ in range(repeat + 1):
                    began = time.perf_counter()
                    body = history.historical_json(SOURCE, metrics, start, end, POINTS)
                    ours.append(time.perf_counter() - began)
                    result = json.loads(body)
                ours = ours[1:]  # the first run warms the page cache
                cold: list[float] = []  # the block cache emptied before each run: a first query
                for _ in range(repeat):
                    history._blocks.clear()
                    began = time.perf_counter()
                    history.historical_json(SOURCE, metrics, start, end, POINTS)
                    cold.append(time.perf_counter() - began)
                line = (f"{label:>5} {len(metrics):>7} {result['tier']:>4} {result['step_s']:>6}"
                        f" {len(result['t']):>6} | {median_ms(ours):>11.2f} {median_ms(cold):>7.2f}"
                        f" {len(body):>7}")
                if prom:
                    exec_ms, http_ms, prom_bytes = measure_prometheus(prom, metrics, result, end, repeat)
                    line += f" | {exec_ms:>12.2f} {http_ms:>12.2f} {prom_bytes:>8}"
                    ratio = exec_ms / median_ms(ours)
                    line += f" | {ratio:>5.1f}x {exec_ms / median_ms(cold):>5.1f}x"
                    if label == "30 d" and len(metrics) == len(CHART_METRICS) and ratio < TARGET_RATIO:
                        verdict = 1
                if label == "30 d" and len(metrics) == len(CHART_METRICS) and median_ms(ours) > TARGET_MS:
                    verdict = 1
                print(line, flush=True)
        print(f"target: 8 metrics over 30 days <= {TARGET_MS:g} ms and >= {TARGET_RATIO:g}x faster than "
              f"Prometheus: {'met' if verdict == 0 else 'MISSED'}")
        return verdict
    finally:
        if prom:
            prom.close()
        history.stop()


def main() -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query (median)")
    parser.add_argument("--no-prometheus", action="store_true", help="measure solarmon only")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached data")
    args = parser.parse_args()
    return run(args.repeat, not args.no_prometheus, args.rebuild)


if __name__ == "__main__":
    sys.exit(main())
