"""GET /metrics: Prometheus exposition of the current values and of the web app's own health.

Each app has its own CollectorRegistry (never the process-wide default), so two apps in one test
process never share or collide. The values are produced at scrape time from the live-state
snapshots by a custom collector: nothing is copied into gauges between scrapes. Today's energy
per source and flow comes from the energy module (`Energy.today_wh`), the figures /api/energy shows.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from solarmon.inverter.readings import PROMETHEUS_UNIT_WORDS
from solarmon.web.history import HistoryUnavailableError
from solarmon.web.runtime import WebContext, get_context

LOG = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

PREFIX = "solarmon"
UNIT_SUFFIX = PROMETHEUS_UNIT_WORDS  # one table with the .prom reader (solarmon/inverter/readings.py)
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
# The `flow` label of solarmon_energy_today_watt_hours per energy kind (solarmon/web/energy.py KINDS):
# the fleet contract's names (docs/FLEET.md); the energy module's `grid` is the grid import.
ENERGY_FLOWS = {"pv": "pv", "load": "load", "grid": "grid_in", "battery_charge": "battery_charge",
                "battery_discharge": "battery_discharge"}


def metric_name(key: str, unit: str) -> str:
    """A valid Prometheus name for a value key, with its unit as suffix (`battery_voltage_volts`)."""
    name = _INVALID.sub("_", key).strip("_").lower() or "value"
    suffix = UNIT_SUFFIX.get(unit)
    if suffix and not name.endswith(suffix):
        name = f"{name}_{suffix}"
    return f"{PREFIX}_{name}"


class WebAppCollector(Collector):
    """Collects the live values of every source and the app's health from one WebContext."""

    def __init__(self, ctx: WebContext) -> None:
        """Collect from `ctx` on every scrape."""
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        """Yield one family per value key (labelled by source) and the health families."""
        ctx = self.ctx
        state = ctx.parts.state
        families: dict[str, GaugeMetricFamily] = {}
        up = GaugeMetricFamily(f"{PREFIX}_source_up", "1 when the source's latest reading was ok, not stale",
                               labels=["source"])
        age = GaugeMetricFamily(f"{PREFIX}_source_age_seconds", "age of the source's newest values",
                                labels=["source"])
        errors = CounterMetricFamily(f"{PREFIX}_source_errors", "errors counted per source and kind",
                                     labels=["source", "kind"])
        if state is not None:
            snaps = state.snapshots()
            for source, snap in snaps.items():
                age.add_metric([source], snap.age_s)
                if not snap.fresh:
                    continue  # a stale source exports no values: they are not the present
                for key, value in snap.values.items():
                    # Strings (the mode name, the firmware version) are not samples.
                    if isinstance(value, str):
                        continue
                    unit = snap.units.get(key, "")
                    name = metric_name(key, unit)
                    family = families.get(name)
                    if family is None:
                        help_text = f"{key} [{unit}]" if unit else key
                        family = GaugeMetricFamily(name, help_text, labels=["source"])
                        families[name] = family
                    family.add_metric([source], float(value))
            for source, health in state.health().items():
                snap = snaps.get(source)
                live = health.ok and (snap is None or snap.fresh)
                up.add_metric([source], 1.0 if live else 0.0)
                for kind, count in health.errors_by_kind.items():
                    errors.add_metric([source, kind], float(count))
        link = CounterMetricFamily(f"{PREFIX}_daemon_errors", "the daemon's failed exchanges with the "
                                   "inverter, by kind (its mpp_solar_errors_total)",
                                   labels=["source", "kind"])
        if state is not None:
            for source, counts in state.link_errors().items():
                for kind, count in counts.items():
                    link.add_metric([source, kind], count)
        yield from families.values()
        yield from (up, age, errors, link)
        yield from self._energy_today()
        yield from self._app_health()

    def _energy_today(self) -> Iterator[Metric]:
        """Today's energy per source and flow, as the energy module reports it (never re-derived)."""
        energy = self.ctx.parts.energy
        if energy is None:
            return
        try:
            today = energy.today_wh()
        except (HistoryUnavailableError, sqlite3.Error) as exc:
            # The live values and the app's health are still worth a scrape; /api/energy says why.
            LOG.debug("metrics: no energy today (%s)", exc)
            return
        family = GaugeMetricFamily(f"{PREFIX}_energy_today_watt_hours",
                                   "energy so far today (local day) per source and flow [Wh]",
                                   labels=["source", "flow"])
        for (source, kind), wh in sorted(today.items()):
            family.add_metric([source, ENERGY_FLOWS.get(kind, kind)], wh)
        yield family

    def _app_health(self) -> Iterator[Metric]:
        """The web app itself: uptime, open streams, refused streams, reader errors, services."""
        ctx = self.ctx
        yield GaugeMetricFamily(f"{PREFIX}_web_uptime_seconds", "seconds since the app was built",
                                value=time.time() - ctx.started_at)
        streams = ctx.parts.streams
        if streams is not None:
            info = streams.describe()
            yield GaugeMetricFamily(f"{PREFIX}_web_streams_open", "open live streams", value=info["open"])
            yield GaugeMetricFamily(f"{PREFIX}_web_streams_max", "live streams allowed", value=info["max"])
            yield CounterMetricFamily(f"{PREFIX}_web_streams_refused", "live streams refused (limit reached)",
                                      value=info["refused"])
        reader = ctx.parts.reader
        if reader is not None:
            family = CounterMetricFamily(f"{PREFIX}_web_reader_errors", "ignored .prom files by kind",
                                         labels=["kind"])
            for kind, count in reader.errors().items():
                family.add_metric([kind], float(count))
            yield family
        runtime = ctx.parts.runtime
        if runtime is not None:
            family = GaugeMetricFamily(f"{PREFIX}_web_service_running", "1 when the service runs",
                                       labels=["service"])
            for service in runtime.describe():
                family.add_metric([service["name"]], 1.0 if service["running"] else 0.0)
            yield family


def init_app(app: Flask, ctx: WebContext) -> None:
    """Give the app its own registry with the collector, and register /metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WebAppCollector(ctx))
    ctx.parts.registry = registry
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Response:
    """The exposition text of this app's registry."""
    registry: CollectorRegistry = get_context().parts.registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
