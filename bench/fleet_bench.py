"""Benchmark of the hub: GET /api/fleet and the /fleet page for 500 sites in a real VictoriaMetrics.

A generator writes 500 simulated sites into a fresh VictoriaMetrics (Debian's victoria-metrics)
through its remote-write API with our own encoder (solarmon/fleet/remotewrite.py), as their
Prometheus agents would: per site the series its /metrics exports (about 90: every QPIGS value,
the QPIRI ratings and settings, the QPIWS bits, the derived powers, source health, today's energy
per flow, the web app's own health, active alerts), `--hours` of history every `--step` seconds
for the series the hub reads and the charts draw, the newest few samples for the rest. 80 % of the
sites are up, 10 % stale because their uplink dropped 30 minutes ago, 5 % stale because their
daemon stopped (data 15 minutes old), 5 % down (silent for 26 hours); 10 % have active alerts.

Then two hubs (`web_interface.py` with a generated web.yaml, no local inverter) read it:
- cold: fleet.cache_s 0, so every /api/fleet runs the whole query set against the store;
- cached: fleet.cache_s 5 (the default), as many open fleet pages see it.
Measured, `--requests` sequential requests each: /api/fleet p50 / p95, and a trivial request to the
same hub (`/manifest.webmanifest`: the web stack alone) as the reference of this run; then
`--clients` browsers' worth of concurrent requests on the cached hub; the store's own time per
query set (`query_s`); and the /fleet page in headless Chromium, navigation to the 500 rows drawn.
Target (issue 19): /api/fleet p95 < 500 ms for 500 sites, cold.

Usage: .venv/bin/python bench/fleet_bench.py [--sites 500] [--hours 24] [--step 60] [--requests 40]
                                             [--clients 20] [--skip-browser] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solarmon.fleet.remotewrite import Series, post_write  # noqa: E402
from tests.fleet.hubstore import VictoriaMetrics, free_port  # noqa: E402

TARGET_P95_MS = 500.0
CHROMIUM = "/usr/bin/chromium-headless-shell"
# The series the hub's queries and the drill-down charts read: full history.
DENSE = {
    "solarmon_source_age_seconds": lambda r: r["age"],
    "solarmon_source_up": lambda r: 1.0 if r["age"] < 180 else 0.0,
    "solarmon_pv_power_total_watts": lambda r: r["pv"],
    "solarmon_pv_input_power_watts": lambda r: r["pv"],
    "solarmon_load_power_watts": lambda r: r["load"],
    "solarmon_ac_output_active_power_watts": lambda r: r["load"],
    "solarmon_battery_capacity_percent": lambda r: r["soc"],
    "solarmon_battery_power_watts": lambda r: r["pv"] - r["load"],
    "solarmon_grid_power_watts": lambda r: 0.0,
    "solarmon_battery_voltage_volts": lambda r: 48 + r["soc"] / 12.5,
}
# The rest of a site's /metrics (QPIGS, QPIRI, QPIWS bits, health): the newest samples only.
SPARSE = ([f"solarmon_{k}" for k in (
    "ac_input_voltage_volts", "ac_input_frequency_hertz", "ac_output_voltage_volts",
    "ac_output_frequency_hertz", "ac_output_apparent_power_volt_amperes", "ac_output_load_percent",
    "bus_voltage_volts", "battery_charging_current_amperes", "battery_discharge_current_amperes",
    "inverter_heat_sink_temperature_celsius", "pv_input_current_for_battery_amperes",
    "pv_input_voltage_volts",
    "battery_voltage_from_scc_volts", "ac_input_rating_voltage_volts", "ac_input_rating_current_amperes",
    "ac_output_rating_voltage_volts", "ac_output_rating_frequency_hertz", "ac_output_rating_current_amperes",
    "ac_output_rating_apparent_power_volt_amperes", "ac_output_rating_active_power_watts",
    "battery_rating_voltage_volts", "battery_recharge_voltage_volts", "battery_under_voltage_volts",
    "battery_bulk_charge_voltage_volts", "battery_float_charge_voltage_volts",
    "max_ac_charging_current_amperes",
    "max_charging_current_amperes", "battery_redischarge_voltage_volts", "faults", "warnings",
    "web_uptime_seconds", "web_streams_open", "web_streams_max")]
          + [f"solarmon_warning_bit_{i:02d}" for i in range(32)])
FLOWS = ("pv", "load", "grid_in", "battery_charge", "battery_discharge")
RULES = (("battery_low", "warning"), ("inverter_fault_bits", "critical"), ("grid_lost", "warning"),
         ("heat_sink_hot", "warning"))


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the results."""
    print(message, file=sys.stderr, flush=True)


def site_plan(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Each site's kind (up, uplink, daemon, down), headline values and alerts."""
    plan = []
    for i in range(n):
        draw = rng.random()
        kind = "up" if draw < 0.80 else "uplink" if draw < 0.90 else "daemon" if draw < 0.95 else "down"
        picked = rng.sample(range(len(RULES)), rng.choice((1, 2)))
        alerts = [RULES[j] for j in picked] if rng.random() < 0.1 else []
        plan.append({"name": f"site-{i:04d}", "kind": kind, "pv": rng.uniform(0, 4000),
                     "load": rng.uniform(150, 2500), "soc": rng.uniform(10, 100), "alerts": alerts})
    return plan


def site_series(site: dict[str, Any], now: float, hours: float, step: int) -> list[Series]:
    """What the site's agent pushed: dense history for DENSE, energy and alerts; SPARSE newest."""
    last = {"up": now - 15, "uplink": now - 1800, "daemon": now - 15, "down": now - 26 * 3600}[site["kind"]]
    values_end = now - 900 if site["kind"] == "daemon" else last
    first = last - hours * 3600 if site["kind"] != "down" else last - 3600
    times = [first + i * step for i in range(int((last - first) // step) + 1)]
    labels = {"site": site["name"], "source": "inverter:main"}
    age = 900.0 if site["kind"] == "daemon" else 2.0
    out = []
    for name, fn in DENSE.items():
        until = last if name.startswith("solarmon_source_") else values_end
        reading = {"age": age, "pv": site["pv"], "load": site["load"], "soc": site["soc"]}
        out.append(Series({"__name__": name, **labels},
                          [(int(t * 1000), float(fn(reading))) for t in times if t <= until]))
    for flow in FLOWS:
        wh = 0.0
        samples = []
        for t in times:
            if t <= values_end:
                wh += site["pv" if flow == "pv" else "load"] * step / 3600 / 4
                samples.append((int(t * 1000), round(wh, 1)))
        out.append(Series({"__name__": "solarmon_energy_today_watt_hours", **labels, "flow": flow}, samples))
    for rule, severity in site["alerts"]:
        out.append(Series({"__name__": "solarmon_alert_active", **labels, "rule": rule, "severity": severity},
                          [(int(t * 1000), 1.0) for t in times[-60:]]))
    tail = [t for t in times if t <= values_end][-5:]
    for name in SPARSE:
        out.append(Series({"__name__": name, **labels}, [(int(t * 1000), 1.0) for t in tail]))
    out.append(Series({"__name__": "up", "site": site["name"], "job": "solarmon"},
                      [(int(t * 1000), 1.0) for t in times[-5:]]))
    return [s for s in out if s.samples]


def feed(store: VictoriaMetrics, plan: list[dict[str, Any]], hours: float,
         step: int) -> tuple[int, int, float]:
    """Write every site; (series, samples, seconds)."""
    now = time.time()
    started = time.monotonic()
    series_count = samples = 0
    for i in range(0, len(plan), 25):
        batch = [s for site in plan[i:i + 25] for s in site_series(site, now, hours, step)]
        series_count += len(batch)
        samples += post_write(f"{store.url}/api/v1/write", batch, timeout_s=120, batch_series=500)
    with urllib_open(f"{store.url}/internal/force_flush"):
        pass
    return series_count, samples, time.monotonic() - started


def urllib_open(url: str) -> Any:
    """GET a URL (the store's flush)."""
    import urllib.request

    return urllib.request.urlopen(url, timeout=60)


def start_hub(root: Path, promql_url: str, cache_s: float) -> tuple[subprocess.Popen[bytes], int]:
    """web_interface.py as a hub without a local inverter, on a free port."""
    import yaml

    root.mkdir(parents=True)
    (root / "prometheus").mkdir()
    port = free_port()
    config = {
        "server": {"host": "127.0.0.1", "port": port, "max_connections_per_address": 0,
                   "log_level": "WARNING"},
        "data": {"prom_dir": str(root / "prometheus")},
        "history": {"db_path": str(root / "history.db")},
        "security": {"users_file": str(root / "users.json"), "secret_key_file": str(root / "secret"),
                     "token_store": str(root / "tokens.json"), "audit_log": str(root / "audit.jsonl"),
                     "revoked_sessions_file": str(root / "revoked.json")},
        "forecast": {"enabled": False},
        "fleet": {"promql_url": promql_url, "cache_s": cache_s, "timeout_s": 30},
    }
    (root / "web.yaml").write_text(yaml.safe_dump(config))
    process = subprocess.Popen([sys.executable, str(REPO / "web_interface.py"), "-c", str(root / "web.yaml")],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=(root / "web.log").open("wb"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _body, _ms = get(port, "/manifest.webmanifest")
            if status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the hub did not start (log: {root / 'web.log'})")


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes, float]:
    """(status, body, milliseconds) of one GET (a new connection unless given one)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    took = (time.perf_counter() - started) * 1000
    if own:
        conn.close()
    return response.status, body, took


def series_ms(port: int, path: str, count: int, *,
              parse: bool = True) -> tuple[list[float], list[dict[str, Any]]]:
    """`count` sequential GETs on one kept-alive connection: their times, and the JSON bodies
    (`parse`; off for concurrent clients, whose parsing would compete with the hub for the CPU)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, bodies = [], []
    for _ in range(count):
        status, body, took = get(port, path, conn)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}: {body[:200]!r}")
        times.append(took)
        if parse and path.startswith("/api/fleet"):
            bodies.append(json.loads(body))
    conn.close()
    return times, bodies


def concurrent_ms(port: int, path: str, clients: int, each: int) -> list[float]:
    """`clients` threads doing `each` sequential GETs at once: every request's time."""
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        got, _bodies = series_ms(port, path, each, parse=False)
        with lock:
            times.extend(got)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def page_load_ms(url: str, sites: int, rounds: int) -> list[float]:
    """Navigation to the fleet page until its table holds every site, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(rounds + 1):  # the first load warms the browser's cache of the static files
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(url)
            page.wait_for_function(f"() => document.querySelectorAll('#fleet-sites tr').length === {sites}",
                                   timeout=60000)
            out.append((time.perf_counter() - started) * 1000)
            page.close()
        browser.close()
    return out[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--hours", type=float, default=24.0, help="history per site (default 24)")
    parser.add_argument("--step", type=int, default=60, help="seconds between a site's samples (default 60)")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--page-rounds", type=int, default=5)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    binary = shutil.which("victoria-metrics")
    if binary is None:
        log("victoria-metrics is missing: apt-get install victoria-metrics")
        return 2
    root = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    store = VictoriaMetrics(binary, root / "vm", cache=True).start()  # as in production: its cache on
    hubs: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {"sites": args.sites, "hours": args.hours, "step_s": args.step}
    try:
        plan = site_plan(args.sites, random.Random(19))
        log(f"feeding {args.sites} sites ({args.hours:g} h every {args.step} s) into VictoriaMetrics ...")
        series_count, samples, took = feed(store, plan, args.hours, args.step)
        results.update(series=series_count, samples=samples, feed_s=round(took, 1),
                       feed_samples_per_s=round(samples / took))
        log(f"  {series_count} series, {samples} samples in {took:.1f} s")
        cold, cold_port = start_hub(root / "hub-cold", store.url, 0)
        hubs.append(cold)
        cached, cached_port = start_hub(root / "hub-cached", store.url, 5)
        hubs.append(cached)
        series_ms(cold_port, "/api/fleet", 3)  # warm: connections, the store's caches of the index
        ref_times, _ = series_ms(cold_port, "/manifest.webmanifest", args.requests)
        cold_times, cold_bodies = series_ms(cold_port, "/api/fleet", args.requests)
        sorted_times, _ = series_ms(cold_port, "/api/fleet?sort=soc&order=desc&problem=stale,down,alerts",
                                    args.requests)
        cached_times, cached_bodies = series_ms(cached_port, "/api/fleet", args.requests)
        many = concurrent_ms(cached_port, "/api/fleet", args.clients, 10)
        body = cold_bodies[-1]
        assert body["total"] == args.sites, body["total"]
        results.update(
            counts=body["counts"],
            reference_ms={"p50": statistics.median(ref_times), "p95": pct(ref_times, 0.95)},
            cold_ms={"p50": statistics.median(cold_times), "p95": pct(cold_times, 0.95)},
            cold_sorted_filtered_ms={"p50": statistics.median(sorted_times), "p95": pct(sorted_times, 0.95)},
            store_query_ms={"p50": statistics.median(b["query_s"] * 1000 for b in cold_bodies),
                            "p95": pct([b["query_s"] * 1000 for b in cold_bodies], 0.95)},
            cached_ms={"p50": statistics.median(cached_times), "p95": pct(cached_times, 0.95),
                       "hit_rate": sum(b["cached"] for b in cached_bodies) / len(cached_bodies)},
            concurrent_cached_ms={"clients": args.clients, "p50": statistics.median(many),
                                  "p95": pct(many, 0.95)},
            body_kb=round(len(json.dumps(body)) / 1024, 1),
        )
        results["cold_ratio_p50"] = results["cold_ms"]["p50"] / results["reference_ms"]["p50"]
        results["hub_rss_mb"] = {"cold": rss_mb(cold.pid), "cached": rss_mb(cached.pid)}
        if not args.skip_browser:
            loads = page_load_ms(f"http://127.0.0.1:{cached_port}/fleet", args.sites, args.page_rounds)
            results["page_load_ms"] = {"p50": statistics.median(loads), "max": max(loads)}
        met = results["cold_ms"]["p95"] < TARGET_P95_MS
        results["target"] = f"/api/fleet p95 < {TARGET_P95_MS:g} ms cold: {'met' if met else 'NOT met'}"
    finally:
        for hub in hubs:
            hub.terminate()
            hub.wait(20)
        store.stop()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2, default=float))
    else:
        r = results
        print(f"{r['sites']} sites, {r['series']} series, {r['samples']} samples ({r['hours']:g} h every "
              f"{r['step_s']} s), fed in {r['feed_s']} s; statuses {r['counts']}")
        for name in ("reference_ms", "cold_ms", "cold_sorted_filtered_ms", "store_query_ms", "cached_ms",
                     "concurrent_cached_ms"):
            v = r[name]
            print(f"{name:28s} p50 {v['p50']:8.1f} ms  p95 {v['p95']:8.1f} ms")
        print(f"cold / reference p50: {r['cold_ratio_p50']:.1f}x; body {r['body_kb']} kB; hub RSS "
              f"{r['hub_rss_mb']['cold']} / {r['hub_rss_mb']['cached']} MB (cold / cached hub)")
        if "page_load_ms" in r:
            load = r["page_load_ms"]
            print(f"/fleet page, navigation to {r['sites']} rows drawn: p50 {load['p50']:.0f} ms, "
                  f"max {load['max']:.0f} ms")
        print(r["target"])
    return 0 if results["cold_ms"]["p95"] < TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
