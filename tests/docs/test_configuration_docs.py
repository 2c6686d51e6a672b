"""docs/CONFIGURATION.md lists every key of both config loaders, with the loader's default and limits.

The loaders' key tables (`solarmon.daemon.config.key_table()`, `solarmon.web.config.key_table()`)
are the truth; a key added, renamed or re-defaulted in code without the docs fails here, and so
does a documented key the loader no longer knows.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from solarmon.daemon.config import SCOPE_DEVICE, SCOPE_SETUP
from solarmon.daemon.config import key_table as daemon_keys
from solarmon.web.config import key_table as web_keys
from tests.docs.conftest import REPO, section

DOC = (REPO / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `([a-z_][a-z0-9_.]*)` \|(.*)$", re.MULTILINE)


def table_rows(text: str) -> dict[str, list[str]]:
    """Key -> its row's other cells, for every `| `key` | ... |` row of the text."""
    return {m.group(1): [cell.strip() for cell in m.group(2).rstrip("|").split("|")]
            for m in ROW.finditer(text)}


def daemon_tables() -> dict[str, dict[str, list[str]]]:
    """The [SETUP] table and the device-section table of the mpp-solar.conf part."""
    text = section(DOC, "mpp-solar.conf")
    setup, _, device = text.partition("Device sections")
    return {SCOPE_SETUP: table_rows(setup), SCOPE_DEVICE: table_rows(device)}


def renderings(default: Any) -> set[str]:
    """How a default may be written in a cell: `60`, `0.5`, `true`, `""` / (empty) for nothing."""
    if default == "":
        return {'`""`', "(empty)"}
    if isinstance(default, bool):
        return {f"`{json.dumps(default)}`"}
    return {f"`{default}`"}


@pytest.mark.parametrize("row", daemon_keys(), ids=lambda r: f"{r['scope']}.{r['name']}")
def test_every_mpp_solar_conf_key_is_documented_with_default_and_limits(row: dict[str, Any]) -> None:
    cells = daemon_tables()[row["scope"]].get(row["name"])
    where = "[SETUP]" if row["scope"] == SCOPE_SETUP else "device section"
    assert cells is not None, f"docs/CONFIGURATION.md: {row['name']} missing from the {where} table"
    default, allowed = cells[0], cells[1]
    assert default in renderings(row["default"]), f"{row['name']}: docs {default}, code {row['default']!r}"
    assert allowed == row["limits"], f"{row['name']}: docs allow {allowed!r}, code {row['limits']!r}"


def test_no_mpp_solar_conf_key_is_documented_that_the_loader_does_not_know() -> None:
    known = {(row["scope"], row["name"]) for row in daemon_keys()}
    for scope, rows in daemon_tables().items():
        stale = sorted(name for name in rows if (scope, name) not in known)
        assert not stale, f"docs/CONFIGURATION.md documents keys the loader does not read ({scope}): {stale}"


@pytest.mark.parametrize("info", web_keys(), ids=lambda info: info.dotted)
def test_every_web_yaml_key_is_documented_with_default_and_limits(info: Any) -> None:
    cells = table_rows(section(DOC, "web.yaml")).get(info.dotted)
    assert cells is not None, f"docs/CONFIGURATION.md web.yaml table lacks {info.dotted}"
    kind, default, allowed = cells[0], cells[1], cells[2]
    assert kind == info.type, f"{info.dotted}: docs say type {kind}, code {info.type}"
    assert default in renderings(info.default), f"{info.dotted}: docs say {default}, code {info.default!r}"
    if info.min is not None or info.max is not None:
        assert allowed == f"{info.min:g} to {info.max:g}", f"{info.dotted}: docs allow {allowed!r}"
    if info.choices:
        assert all(choice in allowed for choice in info.choices), f"{info.dotted}: {allowed!r}"


def test_no_web_yaml_key_is_documented_that_the_loader_does_not_know() -> None:
    known = {info.dotted for info in web_keys()}
    typed = {info.section for info in web_keys()}  # alerts: has its own loader and table (tests/alerts)
    rows = table_rows(section(DOC, "web.yaml"))
    stale = sorted(key for key in rows if key.split(".")[0] in typed and key not in known)
    assert not stale, f"docs/CONFIGURATION.md documents web.yaml keys the loader does not read: {stale}"


def test_the_shipped_files_only_use_documented_keys() -> None:
    # mpp-solar.conf and web.yaml of the repository are what a user copies: every key in them
    # must be one the docs explain.
    from configparser import ConfigParser

    import yaml

    conf = ConfigParser(interpolation=None)
    conf.read(REPO / "mpp-solar.conf", encoding="utf-8")
    tables = daemon_tables()
    for name in conf.sections():
        scope = SCOPE_SETUP if name == "SETUP" else SCOPE_DEVICE
        for key in conf[name]:
            assert key in tables[scope], f"mpp-solar.conf [{name}] {key} is not in docs/CONFIGURATION.md"
    web = yaml.safe_load((REPO / "web.yaml").read_text(encoding="utf-8"))
    documented = set(table_rows(section(DOC, "web.yaml")))
    typed = {info.section for info in web_keys()}  # mqtt:, alerts: ... are documented by their parts
    for part, keys in web.items():
        for key in keys if part in typed else {}:
            assert f"{part}.{key}" in documented, f"web.yaml {part}.{key} is not in docs/CONFIGURATION.md"
