"""Demo history: the simulator's model written straight into the history, charts and energy work."""

from __future__ import annotations

import pytest

from solarmon.demo.history import fill_demo_history
from solarmon.web.energy import Energy
from tests.web_data.conftest import T0


def test_demo_fill_gives_charts_and_energy(make_history):
    history = make_history(clock=lambda: T0)
    count = fill_demo_history(history, days=1.0, step_s=30.0, section="demo", end=T0)
    assert count == 2880
    metrics = {m["metric"]: m["unit"] for m in history.metrics("inverter:demo")}
    assert metrics["battery_voltage"] == "V"
    assert metrics["pv_input_power"] == "W"
    assert "device_mode" not in metrics  # a string: live only
    chart = history.historical("inverter:demo", ["battery_capacity", "pv_input_power"], T0 - 86400, T0, 1000)
    soc = [v for v in chart["series"]["battery_capacity"]["avg"] if v is not None]
    assert soc
    assert all(0 <= v <= 100 for v in soc)
    assert max(chart["series"]["pv_input_power"]["max"]) > 0  # the sun came up in the simulated day
    report = Energy(history, "UTC").report("day", count=2, now=T0)
    dev = report["devices"]["inverter:demo"]
    assert sum(v or 0 for v in dev["load"]) > 0
    assert sum(v or 0 for v in dev["pv"]) > 0


def test_demo_fill_is_deterministic_for_a_seed(make_history, tmp_path):
    first = make_history(tmp_path / "a.db", clock=lambda: T0)
    second = make_history(tmp_path / "b.db", clock=lambda: T0)
    for hist in (first, second):
        fill_demo_history(hist, days=0.1, step_s=60.0, seed=5, end=T0)
    rows_a = list(first.export_rows("inverter:demo", ["battery_voltage"], T0 - 9000, T0 + 1))
    rows_b = list(second.export_rows("inverter:demo", ["battery_voltage"], T0 - 9000, T0 + 1))
    assert rows_a == rows_b
    assert len(rows_a) == 144
    assert rows_a[-1][0] == T0  # the last reading at `end`, none after it


def test_demo_fill_rejects_nonsense(history):
    with pytest.raises(ValueError, match="positive"):
        fill_demo_history(history, days=0)
