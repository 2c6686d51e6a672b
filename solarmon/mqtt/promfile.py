"""house.prom / weather.prom: the latest sensor values as a Prometheus textfile, written atomically.

Written with prometheus_client's own exposition code (temp file + rename, so a reader such as
node_exporter's textfile collector never sees half a file), from a snapshot: the collector holds
no state of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from solarmon.atomicfile import write_atomic
from solarmon.mqtt.payload import SensorValue


@dataclass(frozen=True)
class SensorSnapshot:
    """What one source's file shows: latest values and the message counters."""

    source: str
    values: Sequence[SensorValue]
    accepted: int
    rejected: Mapping[str, int]


class _SnapshotCollector:
    """A one-shot collector over a snapshot (a fresh registry per write, no global state)."""

    def __init__(self, snapshot: SensorSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """Yield the value, timestamp and counter families."""
        src = self.snapshot.source
        value = GaugeMetricFamily(
            f"{src}_sensor_value", f"Latest {src} value received over MQTT", labels=["sensor", "unit"]
        )
        updated = GaugeMetricFamily(
            f"{src}_sensor_last_update_timestamp_seconds",
            f"When the latest {src} value arrived (Unix time)",
            labels=["sensor"],
        )
        for item in sorted(self.snapshot.values, key=lambda v: v.name):
            value.add_metric([item.name, item.unit or ""], item.value)
            updated.add_metric([item.name], item.received_s)
        yield value
        yield updated
        accepted = CounterMetricFamily(f"{src}_messages_accepted", f"{src} messages stored")
        accepted.add_metric([], self.snapshot.accepted)
        yield accepted
        rejected = CounterMetricFamily(
            f"{src}_messages_rejected", f"{src} messages rejected, by reason", labels=["reason"]
        )
        for reason, count in sorted(self.snapshot.rejected.items()):
            rejected.add_metric([reason], count)
        yield rejected


def write_snapshot(path: Path, snapshot: SensorSnapshot) -> None:
    """Atomically replace `path` with the snapshot in Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    # Mode 0644 whatever the service's umask, like the daemon's files: node_exporter's textfile
    # collector runs as its own user and must be able to read them.
    write_atomic(path, generate_latest(registry).decode("utf-8"), mode=0o644)
