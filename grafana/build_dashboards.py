"""Writes the two Grafana dashboards of grafana/ from one list of panels.

The same panels exist in two flavours, because a user's Prometheus sees solarmon in one of two ways:

- `solarmon-web.json`: Prometheus scrapes the web app's `/metrics` (`solarmon_<key>_<unit>`
  families labelled `source="inverter:<section>"`, docs/API.md "GET /metrics");
- `solarmon-textfile.json`: node_exporter's textfile collector reads the daemon's
  `prometheus/mpp-solar-<section>.prom` files (mppsolar's names, `mpp_solar_<name>{inverter, cmd}`,
  docs/DAEMON.md) and the web app's `house.prom` / `weather.prom` (docs/MQTT.md).

Run `python grafana/build_dashboards.py` after changing a panel; tests/docs/test_grafana.py checks
that the committed JSON is what this script writes and that every metric it names is exported.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
FLAVOURS = ("web", "textfile")


@dataclass(frozen=True)
class Panel:
    """One panel: a title, a Grafana unit, and per flavour the queries (legend, PromQL)."""

    title: str
    kind: str  # "stat" or "timeseries"
    unit: str
    web: tuple[tuple[str, str], ...]
    textfile: tuple[tuple[str, str], ...]
    width: int = 6
    height: int = 8


def web_expr(metric: str) -> str:
    """A web-app query: the metric of the chosen inverter source."""
    return f'{metric}{{source=~"inverter:$inverter"}}'


def file_expr(name: str, cmd: str = "QPIGS") -> str:
    """A textfile query: mppsolar's metric name of the chosen inverter, live values only."""
    return f'mpp_solar_{name}{{inverter=~"$inverter",cmd="{cmd}"}}'


def health_expr(name: str) -> str:
    """A textfile query of one of the daemon's own families (no cmd label)."""
    return f'mpp_solar_{name}{{inverter=~"$inverter"}}'


PANELS: tuple[Panel, ...] = (
    Panel("Battery charge", "stat", "percent",
          (("{{source}}", web_expr("solarmon_battery_capacity_percent")),),
          (("{{inverter}}", file_expr("battery_capacity")),), width=4, height=5),
    Panel("Battery voltage", "stat", "volt",
          (("{{source}}", web_expr("solarmon_battery_voltage_volts")),),
          (("{{inverter}}", file_expr("battery_voltage")),), width=4, height=5),
    Panel("PV power", "stat", "watt",
          (("{{source}}", web_expr("solarmon_pv_input_power_watts")),),
          (("{{inverter}}", file_expr("pv_input_power")),), width=4, height=5),
    Panel("Load", "stat", "watt",
          (("{{source}}", web_expr("solarmon_ac_output_active_power_watts")),),
          (("{{inverter}}", file_expr("ac_output_active_power")),), width=4, height=5),
    Panel("Heat sink", "stat", "celsius",
          (("{{source}}", web_expr("solarmon_inverter_heat_sink_temperature_celsius")),),
          (("{{inverter}}", file_expr("inverter_heat_sink_temperature")),), width=4, height=5),
    Panel("Inverter answering", "stat", "bool_yes_no",
          (("{{source}}", web_expr("solarmon_source_up")),),
          (("{{inverter}}", health_expr("up")),), width=4, height=5),
    Panel("Power", "timeseries", "watt",
          (("PV", web_expr("solarmon_pv_input_power_watts")),
           ("load", web_expr("solarmon_ac_output_active_power_watts")),
           ("apparent load (VA)", web_expr("solarmon_ac_output_apparent_power_voltamperes"))),
          (("PV", file_expr("pv_input_power")), ("load", file_expr("ac_output_active_power")),
           ("apparent load (VA)", file_expr("ac_output_apparent_power"))), width=12),
    Panel("Battery voltage and charge", "timeseries", "volt",
          (("battery", web_expr("solarmon_battery_voltage_volts")),
           ("from SCC", web_expr("solarmon_battery_voltage_from_scc_volts"))),
          (("battery", file_expr("battery_voltage")), ("from SCC", file_expr("battery_voltage_from_scc"))),
          width=12),
    Panel("Battery current", "timeseries", "amp",
          (("charging", web_expr("solarmon_battery_charging_current_amperes")),
           ("discharging", web_expr("solarmon_battery_discharge_current_amperes"))),
          (("charging", file_expr("battery_charging_current")),
           ("discharging", file_expr("battery_discharge_current"))), width=12),
    Panel("AC voltages", "timeseries", "volt",
          (("grid", web_expr("solarmon_ac_input_voltage_volts")),
           ("output", web_expr("solarmon_ac_output_voltage_volts"))),
          (("grid", file_expr("ac_input_voltage")), ("output", file_expr("ac_output_voltage"))), width=12),
    Panel("Load of the rating", "timeseries", "percent",
          (("load", web_expr("solarmon_ac_output_load_percent")),),
          (("load", file_expr("ac_output_load")),), width=8),
    Panel("Warnings and faults active", "timeseries", "short",
          (("warnings", web_expr("solarmon_warnings_active")),
           ("faults", web_expr("solarmon_faults_active"))),
          (("warnings", file_expr("warnings_active", "QPIWS")),
           ("faults", file_expr("faults_active", "QPIWS"))),
          width=8),
    Panel("Age of the newest values", "timeseries", "s",
          (("{{source}}", 'solarmon_source_age_seconds'),),
          (("{{inverter}}", f'time() - {health_expr("last_success_timestamp_seconds")}'),), width=8),
    Panel("Link errors per minute", "timeseries", "short",
          (("{{source}} {{kind}}", f"increase({web_expr('solarmon_daemon_errors_total')}[5m]) / 5"),),
          (("{{inverter}} {{kind}}", f'increase({health_expr("errors_total")}[5m]) / 5'),), width=12),
    Panel("Poll / web health", "timeseries", "short",
          (("live streams open", "solarmon_web_streams_open"),
           ("services running", "sum(solarmon_web_service_running)")),
          (("poll duration (s)", health_expr("poll_duration_seconds")),
           ("consecutive failures", health_expr("consecutive_failures"))), width=12),
    Panel("House, weather and battery (BMS) sensors", "timeseries", "short",
          (("{{source}}", 'solarmon_source_up{source=~"house|weather|battery"}'),),
          (("{{sensor}} ({{unit}})", "house_sensor_value"),
           ("weather {{sensor}} ({{unit}})", "weather_sensor_value"),
           ("battery {{sensor}} ({{unit}})", "battery_sensor_value")),
          width=24),
)


def _panel_json(panel: Panel, flavour: str, ident: int, x: int, y: int) -> dict[str, Any]:
    """One Grafana panel in schema 39 form."""
    queries = panel.web if flavour == "web" else panel.textfile
    targets = [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
               for i, (legend, expr) in enumerate(queries)]
    body: dict[str, Any] = {
        "id": ident, "type": panel.kind, "title": panel.title, "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": targets,
    }
    if panel.kind == "stat":
        body["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                           "colorMode": "value", "graphMode": "area"}
    else:
        body["options"] = {"legend": {"displayMode": "list", "placement": "bottom"},
                           "tooltip": {"mode": "multi"}}
    return body


def _variables(flavour: str) -> list[dict[str, Any]]:
    """The datasource picker and the inverter picker (sections of mpp-solar.conf)."""
    if flavour == "web":
        query = 'label_values(solarmon_source_up{source=~"inverter:.*"}, source)'
        regex = "/inverter:(.*)/"
    else:
        query = "label_values(mpp_solar_up, inverter)"
        regex = ""
    return [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0},
        {"name": "inverter", "label": "Inverter", "type": "query", "datasource": DATASOURCE,
         "query": {"query": query, "refId": "inverter"}, "definition": query, "regex": regex,
         "includeAll": True, "allValue": ".*", "multi": True, "refresh": 2, "current": {}, "hide": 0,
         "sort": 1},
    ]


def dashboard(flavour: str) -> dict[str, Any]:
    """The whole dashboard of one flavour, ready to import or provision."""
    panels = []
    x = y = row_height = 0
    for ident, panel in enumerate(PANELS, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel_json(panel, flavour, ident, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    source = "the web app's /metrics" if flavour == "web" else "the daemon's textfiles (node_exporter)"
    return {
        "uid": f"solarmon-{flavour}", "title": f"solarmon ({source})",
        "description": "solarmon: PI30 inverter, house and weather (made by grafana/build_dashboards.py).",
        "tags": ["solarmon", "solar", "pi30"], "timezone": "browser", "schemaVersion": 39, "version": 1,
        "editable": True, "refresh": "30s", "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": _variables(flavour)}, "annotations": {"list": []}, "links": [],
        "panels": panels,
    }


def render(flavour: str) -> str:
    """The file text of one flavour (stable: sorted keys, two-space indent, final newline)."""
    return json.dumps(dashboard(flavour), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write both dashboards next to this script (or into the folder given as the argument)."""
    out = Path(argv[1]) if len(argv) > 1 else HERE
    for flavour in FLAVOURS:
        (out / f"solarmon-{flavour}.json").write_text(render(flavour), encoding="utf-8")
        print(f"wrote {out / f'solarmon-{flavour}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
