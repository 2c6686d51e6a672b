"""docs/CONFIGURATION.md lists the forecast's keys exactly as their loaders define them: web.yaml
`forecast:` (solarmon.forecast.config.KEY_TABLE) and weather.yaml `arrays` / `forecast`
(solarmon.weather.config.FORECAST_KEY_TABLE), defaults and limits included."""

from __future__ import annotations

import re

from solarmon.forecast.config import KEY_TABLE
from solarmon.weather.config import FORECAST_KEY_TABLE
from tests.docs.conftest import REPO, section

DOC = (REPO / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `([a-z_][a-z0-9_.\[\]]*)` \|(.*)$", re.MULTILINE)


def rows(text: str) -> dict[str, list[str]]:
    return {m.group(1): [c.strip() for c in m.group(2).rstrip("|").split("|")] for m in ROW.finditer(text)}


def test_web_yaml_forecast_table_matches_the_loader() -> None:
    table = {k: v for k, v in rows(section(DOC, "`forecast:`")).items() if k.startswith("forecast.")}
    assert sorted(table) == sorted(f"forecast.{key}" for key, *_ in KEY_TABLE)
    for key, kind, default, low, high in KEY_TABLE:
        kind_cell, default_cell, allowed = table[f"forecast.{key}"][:3]
        assert kind_cell == kind, key
        shown = str(default).lower() if isinstance(default, bool) else str(default) or '""'
        assert default_cell == f"`{shown}`", key
        assert allowed == ("" if low is None else f"{low:g} to {high:g}"), key


def test_weather_yaml_forecast_table_matches_the_loader() -> None:
    table = rows(section(DOC, "weather.yaml: arrays and forecast"))
    assert sorted(table) == sorted(key for key, *_ in FORECAST_KEY_TABLE)
    for key, default, allowed in FORECAST_KEY_TABLE:
        assert table[key][0].strip("`") == default.strip("`"), key
        assert table[key][1] == allowed, key
