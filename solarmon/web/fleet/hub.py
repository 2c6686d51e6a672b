"""The fleet as the hub sees it: every site's status and headline values, from a handful of
instant queries over ALL sites at once, cached for a few seconds; and one site's history for the
drill-down charts, in /api/historical's shape.

The queries (MetricsQL: VictoriaMetrics' `tlast_over_time` gives a series' newest sample time,
which PromQL cannot within a long window), each one for the whole fleet whatever its size:
  1. the newest sample time of `solarmon_source_age_seconds` per site and inverter source;
  2. its value: the data's own age when that sample was scraped;
  3. the newest PV, load, battery SoC, battery and grid power per site and source;
  4. today's energy per site, source and flow;
  5. the newest sample time of every `solarmon_alert_active` series (active = present in the
     site's newest scrape);
  6. the site names seen within `forget_after_days` (label values).
Status rules (docs/FLEET.md, the fleet contract): `up` when the newest sample is younger than
stale_after_s AND the data's age in it is below stale_after_s; `stale` with the reason
(`no_recent_sample`: uplink or agent down; `data_old`: the site's daemon stopped writing, or both);
`down` when there is no sample within lookback_s.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from solarmon.inverter import catalog
from solarmon.web.config import FleetConfig
from solarmon.web.fleet.events import FleetEvents
from solarmon.web.fleet.promql import PromClient, RangeSeries, Sample
from solarmon.web.metrics import metric_name
from solarmon.web.state import INVERTER_PREFIX

LOG = logging.getLogger(__name__)
AGE_METRIC = "solarmon_source_age_seconds"
ALERT_METRIC = "solarmon_alert_active"
ENERGY_METRIC = "solarmon_energy_today_watt_hours"
INVERTER_SOURCES = f'source=~"{INVERTER_PREFIX}.+"'
# The headline values: our name in /api/fleet -> the catalog key whose series the site exports.
HEADLINE: dict[str, str] = {
    "pv_w": "pv_power_total", "load_w": "load_power", "soc_percent": "battery_capacity",
    "battery_w": "battery_power", "grid_w": "grid_power",
}
STATUSES = ("up", "stale", "down")
# Two samples of one scrape share its timestamp; this much apart they still count as one scrape.
SAME_SCRAPE_S = 1.0
RENDERED_VIEWS = 64  # sorted / filtered views of one snapshot kept serialized
MAX_RANGE_POINTS = 11000  # VictoriaMetrics' default -search.maxPointsPerTimeseries is 30e3


def series_name(key: str) -> str:
    """The store's series name of a catalog key, as a site's /metrics names it (one rule:
    solarmon.web.metrics.metric_name with the catalog's unit)."""
    info = catalog.info(key)
    return metric_name(key, info.unit if info is not None else "")


def unit_of(key: str) -> str:
    """The catalog unit of a key ('' when unknown)."""
    info = catalog.info(key)
    return info.unit if info is not None else ""


@dataclass
class SiteView:
    """One site in /api/fleet (`as_dict()` is its JSON)."""

    site: str
    status: str = "down"
    stale_reason: str | None = None
    source: str | None = None
    sample_ts: float | None = None
    sample_age_s: float | None = None
    data_age_s: float | None = None
    values: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(HEADLINE))
    values_age_s: float | None = None
    energy_today_wh: dict[str, float] = field(default_factory=dict)
    alerts: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of this site."""
        age = None if self.sample_age_s is None else self.sample_age_s + (self.data_age_s or 0.0)
        return {
            "site": self.site, "status": self.status, "stale_reason": self.stale_reason,
            "source": self.source, "age_s": _round(age), "sample_age_s": _round(self.sample_age_s),
            "data_age_s": _round(self.data_age_s), "values_age_s": _round(self.values_age_s),
            **{name: _round(value, 2) for name, value in self.values.items()},
            "energy_today_wh": {flow: _round(wh, 1) for flow, wh in sorted(self.energy_today_wh.items())},
            "alerts": self.alerts, "alert_count": len(self.alerts),
        }


@dataclass(frozen=True)
class FleetSnapshot:
    """Every site at one moment (`ts`), as built from one set of queries."""

    ts: float
    sites: dict[str, dict[str, Any]]
    took_s: float


class FleetHub:
    """Builds the fleet snapshot from the store (cached for `cache_s`) and one site's history."""

    def __init__(self, config: FleetConfig, client: PromClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        """`client` is started and stopped by the web app's runtime (a service of its own)."""
        self.config = config
        self.client = client
        self.clock = clock
        self._cache: FleetSnapshot | None = None
        self._lock = threading.Lock()  # one rebuild at a time: many browsers wait for one query set
        self.queries_run = 0  # query sets sent to the store (tests and the bench count them)
        self.events: FleetEvents | None = None  # the central broker's site events (fleet.broker)
        self._rendered: dict[Any, str] = {}  # per view of the current snapshot: its JSON text
        self._rendered_ts: float | None = None
        self._rendered_lock = threading.Lock()

    # -- the whole fleet --------------------------------------------------------------------------
    def snapshot(self) -> tuple[FleetSnapshot, bool]:
        """The current snapshot and whether it came from the cache."""
        cached = self._fresh_cache()
        if cached is not None:
            return cached, True
        with self._lock:
            cached = self._fresh_cache()  # another request rebuilt it while this one waited
            if cached is not None:
                return cached, True
            started = time.monotonic()
            snap = self._build(self.clock())
            snap = FleetSnapshot(snap.ts, snap.sites, time.monotonic() - started)
            self._cache = snap
            return snap, False

    def rendered(self, snap: FleetSnapshot, key: Any, render: Callable[[], str]) -> str:
        """The text `render()` makes of `snap` for the view `key`, made once per snapshot and view
        (at most RENDERED_VIEWS views are kept; a new snapshot forgets them all)."""
        with self._rendered_lock:
            if self._rendered_ts != snap.ts:
                self._rendered, self._rendered_ts = {}, snap.ts
            text = self._rendered.get(key)
        if text is None:
            text = render()
            with self._rendered_lock:
                if self._rendered_ts == snap.ts and len(self._rendered) < RENDERED_VIEWS:
                    self._rendered[key] = text
        return text

    def _fresh_cache(self) -> FleetSnapshot | None:
        snap = self._cache
        if snap is not None and self.config.cache_s > 0 and 0 <= self.clock() - snap.ts < self.config.cache_s:
            return snap
        return None

    def _build(self, now: float) -> FleetSnapshot:
        """Run the query set for time `now` and combine it into every site's view.

        Only the ages look back the whole lookback_s; values and energy first look back a short
        window (`recent_window_s`), which holds every live site's newest scrape, and only the
        sites without values in it are asked again over lookback_s, by name: the store scans a
        day of samples for those few, not for the whole fleet.
        """
        lb = f"{int(self.config.lookback_s)}s"
        recent = f"{int(self.recent_window_s)}s"
        ages = f"{AGE_METRIC}{{{INVERTER_SOURCES}}}[{lb}]"
        since = now - self.config.forget_after_days * 86400
        client = self.client
        queries: dict[str, Callable[[], Any]] = {
            "sample_ts": lambda: client.query(f"tlast_over_time({ages})", now),
            "data_age": lambda: client.query(f"last_over_time({ages})", now),
            **self._value_queries(INVERTER_SOURCES, recent, now),
            "alerts_ts": lambda: client.query(f"tlast_over_time({ALERT_METRIC}[{lb}])", now),
            "known": lambda: client.label_values("site", AGE_METRIC, since, now),
        }
        results = client.run_all(queries)
        self.queries_run += 1
        sites = {name: SiteView(name) for name in [*self.config.sites, *results["known"]]}
        newest_scrape: dict[str, float] = {}
        # 1 + 2: the site's inverter source (the first by name) and its ages.
        by_site: dict[str, dict[str, float]] = {}
        for s in results["sample_ts"]:
            by_site.setdefault(s.labels.get("site", ""), {})[s.labels.get("source", "")] = s.value
        for site, sources in by_site.items():
            if not site:
                continue
            view = sites.setdefault(site, SiteView(site))
            view.source = sorted(sources)[0]
            view.sample_ts = sources[view.source]
            view.sample_age_s = max(0.0, now - view.sample_ts)
            newest_scrape[site] = max(sources.values())
        for s in results["data_age"]:
            view = sites.get(s.labels.get("site", ""))
            if view is not None and s.labels.get("source") == view.source:
                view.data_age_s = s.value
        # 3 + 4: headline values, how old the newest of them is, today's energy per flow.
        self._apply_values(results, sites, now)
        older = sorted(name for name, view in sites.items()
                       if view.source is not None and view.values_age_s is None)
        if older:  # stale sites: their last values, wherever they lie in the lookback window
            pattern = "|".join(re.escape(name).replace("\\", "\\\\") for name in older)
            selector = f'{INVERTER_SOURCES},site=~"{pattern}"'
            self._apply_values(client.run_all(self._value_queries(selector, lb, now)), sites, now)
        # 5: alerts present in the site's newest scrape are active (a cleared alert's series ends).
        for s in results["alerts_ts"]:
            site = s.labels.get("site", "")
            if site in sites and s.value >= newest_scrape.get(site, math.inf) - SAME_SCRAPE_S:
                labels = ("rule", "severity", "source")
                sites[site].alerts.append({key: s.labels.get(key, "") for key in labels})
        for view in sites.values():
            view.alerts.sort(key=lambda a: (a["severity"] != "critical", a["rule"], a["source"]))
            self._decide(view)
        return FleetSnapshot(now, {name: view.as_dict() for name, view in sorted(sites.items())}, 0.0)

    def _value_queries(self, selector: str, window: str, now: float) -> dict[str, Callable[[], Any]]:
        """The headline values, their newest time and today's energy over `window`."""
        names = "|".join(series_name(key) for key in HEADLINE.values())
        values = f'{{__name__=~"{names}",{selector}}}[{window}]'
        energy = f"{ENERGY_METRIC}{{{selector}}}[{window}]"
        client = self.client
        return {
            "values": lambda: client.query(f"last_over_time({values}) keep_metric_names", now),
            "values_ts": lambda: client.query(f"max by (site, source) (tlast_over_time({values}))", now),
            "energy": lambda: client.query(f"last_over_time({energy})", now),
        }

    @staticmethod
    def _apply_values(results: dict[str, Any], sites: dict[str, SiteView], now: float) -> None:
        """Put the answers of `_value_queries` into the sites' views (their chosen source only)."""
        keys = {series_name(key): name for name, key in HEADLINE.items()}
        for s in _of_source(results["values"], sites):
            name = keys.get(s.labels.get("__name__", ""))
            if name is not None:
                sites[s.labels["site"]].values[name] = s.value
        for s in _of_source(results["values_ts"], sites):
            sites[s.labels["site"]].values_age_s = max(0.0, now - s.value)
        for s in _of_source(results["energy"], sites):
            sites[s.labels["site"]].energy_today_wh[s.labels.get("flow", "")] = s.value

    @property
    def recent_window_s(self) -> float:
        """The short look-back of values: twice stale_after_s, at least 10 minutes, at most lookback_s."""
        return min(self.config.lookback_s, max(600.0, 2 * self.config.stale_after_s))

    def _decide(self, view: SiteView) -> None:
        """up / stale (with the reason) / down, by the contract's rules."""
        limit = self.config.stale_after_s
        if view.sample_age_s is None:
            view.status, view.stale_reason = "down", None
            return
        late = view.sample_age_s >= limit
        old = view.data_age_s is None or view.data_age_s >= limit
        if not late and not old:
            view.status, view.stale_reason = "up", None
            return
        view.status = "stale"
        view.stale_reason = "no_recent_sample_and_data_old" if late and old else (
            "no_recent_sample" if late else "data_old")

    # -- one site's history -----------------------------------------------------------------------
    def history(self, site: str, source: str, keys: list[str], start: float, end: float,
                points: int) -> dict[str, Any]:
        """avg/min/max of `keys` for one site's source from `start` to `end`, in at most `points`
        steps: /api/historical's body (tier `store`), so the charts draw it unchanged."""
        span = max(1.0, end - start)
        step = max(1, math.ceil(span / max(1, min(points, MAX_RANGE_POINTS))))
        names = {series_name(key): key for key in keys}
        selector = f'{{__name__=~"{"|".join(names)}",site="{site}",source="{source}"}}'
        window = f"{step}s"
        client = self.client
        # Buckets start at multiples of the step and are named by their start, as the history's
        # are; `x_over_time(...[step])` evaluated at a time covers the step before it, so each
        # bucket is asked at its end. Gaps stay null.
        first = math.floor(start / step) * step
        times = [float(first + step * i) for i in range(max(0, int((end - first) // step) + 1))]
        results = client.run_all({
            kind: (lambda k=kind: client.query_range(f"{k}_over_time({selector}[{window}]) keep_metric_names",
                                                     first + step, times[-1] + step, step))
            for kind in ("avg", "min", "max")
        })
        series: dict[str, dict[str, Any]] = {}
        for kind, found in results.items():
            for rs in found:
                key = names.get(rs.labels.get("__name__", ""))
                if key is None:
                    continue
                entry = series.setdefault(key, {"unit": unit_of(key), "avg": [None] * len(times),
                                                "min": [None] * len(times), "max": [None] * len(times)})
                _fill(entry[kind], rs, first, step)
        ordered = {key: series[key] for key in keys if key in series}
        return {"source": source, "site": site, "tier": "store", "step_s": step, "start": start, "end": end,
                "t": times, "series": ordered, "unknown": [key for key in keys if key not in series]}


def _fill(column: list[float | None], rs: RangeSeries, first: float, step: int) -> None:
    """Put a range series' points (at their buckets' ends) into the column of bucket starts."""
    for ts, value in rs.points:
        i = round((ts - step - first) / step)
        if 0 <= i < len(column):
            column[i] = round(value, 4)


def _of_source(samples: Iterable[Sample], sites: dict[str, SiteView]) -> Iterable[Sample]:
    """The samples of each known site's chosen source."""
    for s in samples:
        view = sites.get(s.labels.get("site", ""))
        if view is not None and view.source is not None and s.labels.get("source") == view.source:
            yield s


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
