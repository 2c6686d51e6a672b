"""Prometheus families of the alerts part, added to the web app's own registry (`/metrics`), so
Grafana and Prometheus' own alerting can see active alerts and failing channels too.

Produced at scrape time from the service (nothing is copied into gauges between scrapes):
`solarmon_alerts_active{severity}`, `solarmon_alert_active{rule,severity,source}` (1 per active
alert, nothing when none: what a fleet hub lists per site, docs/FLEET.md), `solarmon_alerts_unacknowledged`,
`solarmon_alert_evaluations_total`, `solarmon_alert_channel_up{channel}` and
`solarmon_alert_messages_total{channel,result}` (result: delivered, failed, dropped, retried).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from solarmon.alerts.rules import SEVERITIES

RESULTS = {"delivered": "delivered", "failed": "failed", "dropped": "dropped", "retries": "retried"}


class AlertsCollector(Collector):
    """Collects the alert service's state for one app's registry."""

    def __init__(self, service: Any) -> None:
        """`service` is the app's AlertService."""
        self.service = service

    def collect(self) -> Iterator[Metric]:
        """The families listed in the module docstring."""
        summary = self.service.summary()
        active = GaugeMetricFamily("solarmon_alerts_active", "Active alerts by severity", labels=["severity"])
        for severity in SEVERITIES:
            active.add_metric([severity], summary["counts"].get(severity, 0))
        yield active
        each = GaugeMetricFamily("solarmon_alert_active", "1 per active alert, by rule, severity and source",
                                 labels=["rule", "severity", "source"])
        for row in summary["alerts"]:
            each.add_metric([row["rule"], row["severity"], row["source"]], 1)
        yield each
        yield GaugeMetricFamily("solarmon_alerts_unacknowledged", "Active alerts nobody has acknowledged",
                                value=summary["unacknowledged"])
        yield CounterMetricFamily("solarmon_alert_evaluations", "Rule evaluations of a source",
                                  value=self.service.evaluations)
        stats = self.service.delivery.stats()
        up = GaugeMetricFamily("solarmon_alert_channel_up", "1 while the channel's last attempt worked",
                               labels=["channel"])
        messages = CounterMetricFamily("solarmon_alert_messages", "Alert messages by channel and outcome",
                                       labels=["channel", "result"])
        for name, s in stats.items():
            up.add_metric([name], 1 if s["ok"] else 0)
            for key, result in RESULTS.items():
                messages.add_metric([name, result], s[key])
        yield up
        yield messages
