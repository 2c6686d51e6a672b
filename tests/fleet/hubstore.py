"""A real central store for the hub's tests: Debian's VictoriaMetrics on a free localhost port,
fed through its remote-write API by solarmon/fleet/remotewrite.py with a fleet of sites in every
status. Shared by tests/fleet/test_hub*.py (module-scoped fixtures there) and bench/fleet_bench.py.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from solarmon.fleet.remotewrite import Series, post_write

VICTORIA_METRICS = "victoria-metrics"
STEP_S = 30  # a site's agent scrapes every 30 s here
STALE_AFTER_S = 180.0
LOOKBACK_S = 86400.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (VictoriaMetrics needs a number, not port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VictoriaMetrics:
    """One VictoriaMetrics process with its own storage folder; `url` once started."""

    def __init__(self, binary: str, data_dir: Path, *, cache: bool = False,
                 extra_args: list[str] | None = None) -> None:
        """`cache`: keep VictoriaMetrics' query result cache (off in tests: they write the past
        after querying, which a production store never sees); `extra_args`: more flags."""
        self.binary, self.data_dir, self.cache = binary, data_dir, cache
        self.extra_args = list(extra_args or [])
        self.port = 0
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    def start(self, timeout_s: float = 20.0, auth: tuple[str, str] | None = None) -> VictoriaMetrics:
        """Start on a free port; return once /health answers (retried on a port race); `auth`:
        the -httpAuth account its /health then asks for."""
        for _attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            args = [self.binary, f"-storageDataPath={self.data_dir}",
                    f"-httpListenAddr=127.0.0.1:{self.port}", "-retentionPeriod=100y", "-loggerLevel=ERROR"]
            if not self.cache:
                args.append("-search.disableCache")
            args += self.extra_args
            self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and self._proc.poll() is None:
                request = urllib.request.Request(f"{self.url}/health")
                if auth is not None:
                    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                    request.add_header("Authorization", f"Basic {token}")
                try:
                    with urllib.request.urlopen(request, timeout=1) as response:
                        if response.status == 200:
                            return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"VictoriaMetrics did not start (log: {self.log})")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then kill)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def write(self, series: list[Series]) -> int:
        """Remote-write `series` (what a site's Prometheus agent sends) and make them searchable
        now (/internal/force_flush: VictoriaMetrics otherwise shows new series within ~10 s)."""
        sent = post_write(f"{self.url}/api/v1/write", series)
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10) as response:
            response.read()
        return sent

    def query(self, expr: str) -> list[dict]:
        """An instant query's result list (for waiting until written data is searchable)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())["data"]["result"]

    def wait_count(self, expr: str, count: int, timeout_s: float = 15.0) -> None:
        """Wait until `count` series of the selector `expr` have samples in the last 30 days
        (remote-written data is searchable within about a second)."""
        deadline = time.monotonic() + timeout_s
        found = None
        while time.monotonic() < deadline:
            result = self.query(f"count(last_over_time({expr}[30d]))")
            found = int(float(result[0]["value"][1])) if result else 0
            if found == count:
                return
            time.sleep(0.1)
        raise AssertionError(f"VictoriaMetrics shows {found} series of {expr}, not {count}")


def find_victoria_metrics() -> str | None:
    """The VictoriaMetrics binary (Debian's package installs /usr/bin/victoria-metrics)."""
    return shutil.which(VICTORIA_METRICS)


@dataclass
class SiteSpec:
    """A simulated site: its values and how its series end.

    `last_s`: seconds ago of its newest scrape; `data_age_s`: the data's own age in it;
    `values_until_s`: seconds ago its values stopped (a stale source exports none); `alerts`:
    (rule, severity) active in the newest scrape; `cleared`: alerts whose series ended earlier.
    """

    name: str
    pv_w: float = 1500.0
    load_w: float = 600.0
    soc: float = 80.0
    last_s: float = 10.0
    data_age_s: float = 2.0
    values_until_s: float | None = None
    history_s: float = 2 * 3600.0
    alerts: tuple[tuple[str, str], ...] = ()
    cleared: tuple[tuple[str, str], ...] = ()
    energy_wh: dict[str, float] = field(default_factory=lambda: {"pv": 5200.0, "load": 3100.0})
    source: str = "inverter:main"


def site_series(spec: SiteSpec, now: float, step_s: int = STEP_S) -> list[Series]:
    """The series a site's agent would have pushed: /metrics' inverter values and health every
    `step_s` for `history_s` up to `last_s` ago, with the `site` label."""
    end = now - spec.last_s
    times = [end - i * step_s for i in range(int(spec.history_s // step_s), -1, -1)]
    values_end = now - (spec.values_until_s if spec.values_until_s is not None else spec.last_s)

    def series(name: str, value_at: object, until: float = end, source: str = spec.source,
               **labels: str) -> Series:
        fn = value_at if callable(value_at) else (lambda _t, v=value_at: v)
        samples = [(int(t * 1000), float(fn(t))) for t in times if t <= until + 0.001]
        return Series({"__name__": name, "site": spec.name, "source": source, **labels}, samples)

    def ramp(base: float) -> object:
        return lambda t: base * (0.9 + 0.1 * ((t - times[0]) / max(1.0, end - times[0])))

    out = [
        series("solarmon_source_age_seconds", spec.data_age_s),
        series("solarmon_source_up", 1.0 if spec.data_age_s < STALE_AFTER_S else 0.0),
        series("solarmon_source_age_seconds", 4.0, source="house"),  # not an inverter: not the site's age
        series("up", 1.0, source="agent", job="solarmon"),
    ]
    for name, value in (("solarmon_pv_power_total_watts", ramp(spec.pv_w)),
                        ("solarmon_load_power_watts", ramp(spec.load_w)),
                        ("solarmon_battery_capacity_percent", spec.soc),
                        ("solarmon_battery_power_watts", spec.pv_w - spec.load_w),
                        ("solarmon_grid_power_watts", 0.0),
                        ("solarmon_pv_input_power_watts", ramp(spec.pv_w)),
                        ("solarmon_ac_output_active_power_watts", ramp(spec.load_w)),
                        ("solarmon_battery_voltage_volts", 52.4)):
        out.append(series(name, value, until=values_end))
    for flow, wh in spec.energy_wh.items():
        out.append(series("solarmon_energy_today_watt_hours", wh, until=values_end, flow=flow))
    for rule, severity in spec.alerts:
        out.append(series("solarmon_alert_active", 1.0, rule=rule, severity=severity))
    for rule, severity in spec.cleared:
        out.append(series("solarmon_alert_active", 1.0, until=end - 600, rule=rule, severity=severity))
    return [s for s in out if s.samples]


# Every status the hub tells apart (fleet.stale_after_s 180, lookback_s 1 day).
FLEET: tuple[SiteSpec, ...] = (
    SiteSpec("alpha", pv_w=2400, load_w=700, soc=91),
    SiteSpec("bravo", pv_w=300, load_w=900, soc=18, alerts=(("battery_low", "warning"),
                                                            ("inverter_fault_bits", "critical")),
             cleared=(("grid_lost", "warning"),)),
    SiteSpec("charlie", pv_w=1100, load_w=400, soc=64, last_s=1200),  # uplink down 20 min
    SiteSpec("delta.x-1", pv_w=900, load_w=500, soc=55, data_age_s=900, values_until_s=900),  # daemon stopped
    SiteSpec("echo-2", pv_w=50, load_w=100, soc=40, last_s=2 * 86400, history_s=3600),  # silent 2 days
)
LISTED_ONLY = "foxtrot"  # in fleet.sites, never heard of: down


def feed(store: VictoriaMetrics, specs: Iterable[SiteSpec], now: float) -> int:
    """Write every site's series; wait until all are searchable; the number of samples."""
    series = [s for spec in specs for s in site_series(spec, now)]
    sent = store.write(series)
    store.wait_count('{__name__=~"solarmon_.*|up"}', len(series))
    return sent


@dataclass
class Hub:
    """A hub served over HTTP (waitress on a free port) on a fed VictoriaMetrics."""

    url: str
    store: VictoriaMetrics
    app: object


@contextlib.contextmanager
def served_hub(root: Path, binary: str) -> Iterator[Hub]:
    """VictoriaMetrics fed with FLEET and a hub web app (no local inverter) served in a thread."""
    from solarmon.web import create_app
    from solarmon.web.runtime import Runtime
    from tests.browser.server import ServerThread

    store = VictoriaMetrics(binary, root / "vm").start()
    runtime = server = None
    try:
        feed(store, FLEET, time.time())
        (root / "app" / "prometheus").mkdir(parents=True)
        app = create_app(hub_config(root / "app", store.url))
        runtime = Runtime.for_app(app).start()
        server = ServerThread(app).start()
        yield Hub(server.url, store, app)
    finally:
        if runtime is not None:
            runtime.stop()
        if server is not None:
            server.stop()
        store.stop()


def hub_config(root: Path, promql_url: str, **fleet: object) -> dict[str, dict[str, object]]:
    """web.yaml of a hub without a local inverter, every file under `root`."""
    return {
        "fleet": {"promql_url": promql_url, "stale_after_s": STALE_AFTER_S, "lookback_s": LOOKBACK_S,
                  "sites": [LISTED_ONLY], **fleet},
        "data": {"prom_dir": str(root / "prometheus")},
        "history": {"db_path": str(root / "history.db")},
        "security": {"users_file": str(root / "users.json"), "secret_key_file": str(root / "secret"),
                     "token_store": str(root / "tokens.json"), "audit_log": str(root / "audit.jsonl"),
                     "revoked_sessions_file": str(root / "revoked.json")},
    }
