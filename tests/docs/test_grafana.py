"""grafana/: the dashboards parse, are what build_dashboards.py writes, and name only exported metrics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.conftest import REPO, Exported

sys.path.insert(0, str(REPO / "grafana"))
import build_dashboards  # a script folder, not a package

from tests.tools import require_tool

GRAFANA = REPO / "grafana"
PROMQL_WORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
                          "and", "or", "unless"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels, durations or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings (label values, regexes)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\[[^\]]*\]", "", text)  # range durations
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group(0)
        follows = text[match.end():].lstrip()
        if name in PROMQL_WORDS or follows.startswith("("):
            continue
        names.add(name)
    return names


def targets(dashboard: dict) -> list[dict]:
    """Every query target of every panel."""
    return [target for panel in dashboard["panels"] for target in panel["targets"]]


@pytest.mark.parametrize(("expr", "names"), [
    ('mpp_solar_up{inverter=~"$inverter"}', {"mpp_solar_up"}),
    ('increase(solarmon_source_errors_total{source=~"inverter:.*"}[5m]) / 5',
     {"solarmon_source_errors_total"}),
    ('time() - mpp_solar_last_success_timestamp_seconds{inverter="a"}',
     {"mpp_solar_last_success_timestamp_seconds"}),
    ("sum by (kind) (rate(x_total[1m])) or y", {"x_total", "y"}),
])
def test_metric_names_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("flavour", build_dashboards.FLAVOURS)
def test_committed_dashboard_is_what_the_builder_writes(flavour: str) -> None:
    path = GRAFANA / f"solarmon-{flavour}.json"
    text = path.read_text(encoding="utf-8")
    dashboard = json.loads(text)
    assert text == build_dashboards.render(flavour), f"run: python grafana/build_dashboards.py ({path.name})"
    assert dashboard["uid"] == f"solarmon-{flavour}"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']} runs off Grafana's 24-column grid"
        assert panel["targets"], f"{panel['title']} has no query"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("flavour", build_dashboards.FLAVOURS)
def test_dashboards_only_use_exported_metrics(flavour: str, exported: Exported) -> None:
    available = exported.web if flavour == "web" else exported.daemon | exported.sensors
    dashboard = json.loads((GRAFANA / f"solarmon-{flavour}.json").read_text(encoding="utf-8"))
    queries = [t["expr"] for t in targets(dashboard)]
    # label_values(<series>, <label>): only the series selector names a metric.
    queries += [re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", v["definition"])
                for v in dashboard["templating"]["list"] if v["type"] == "query"]
    used = {name for expr in queries for name in metric_names(expr)}
    assert used, "no metric found in the dashboard's queries"
    missing = sorted(used - available)
    assert not missing, f"solarmon-{flavour}.json names metrics nothing exports: {missing}"


def test_the_textfile_dashboard_reads_live_values_not_ratings(exported: Exported) -> None:
    # QPIRI's ratings share the live names in the daemon's files: a query without cmd= would mix
    # the rated battery voltage (48) into the live one.
    dashboard = json.loads((GRAFANA / "solarmon-textfile.json").read_text(encoding="utf-8"))
    shared = {line.split("{")[0] for line in exported.daemon_text.splitlines() if 'cmd="QPIRI"' in line}
    for target in targets(dashboard):
        for name in metric_names(target["expr"]) & shared:
            assert re.search(rf'{name}\{{[^}}]*cmd="QPIGS"', target["expr"]), target["expr"]


def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    run = subprocess.run([promtool, "check", "config", str(GRAFANA / "prometheus.yml")], capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_node_exporter_default_points_at_the_daemons_folder() -> None:
    text = (GRAFANA / "prometheus-node-exporter.default").read_text()
    args = r'^ARGS="--collector\.textfile\.directory=/opt/solarmon/prometheus"$'
    assert re.search(args, text, re.MULTILINE)
    # The daemon's default prom_output_dir, relative to the checkout (docs/CONFIGURATION.md).
    from solarmon.daemon.config import key_table

    defaults = {row["name"]: row["default"] for row in key_table()}
    assert defaults["prom_output_dir"] == "prometheus"
