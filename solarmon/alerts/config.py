"""web.yaml `alerts:`: loaded once at start, typed, validated; a bad rule stops the start (exit 2).

`key_table()` lists every key with its default, limits and help (docs/CONFIGURATION.md is checked
against it). Rules come from `alerts.rules`, from the file `alerts.rules_file` names (a list of
rules, or a mapping with `rules:`) and from the built-in defaults (`alerts.defaults`); a rule of
the same name in a later place replaces an earlier one (defaults < rules_file < rules). Unknown
keys of the section warn; unknown keys of a rule are refused (see rules.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from solarmon.alerts.defaults import default_rules
from solarmon.alerts.rules import AlertConfigError, Rule, parse_rules
from solarmon.confighelper import ConfigSection, KeyInfo

LOG = logging.getLogger(__name__)
SECTION = "alerts"


def _meta(help: str, *, min: float | None = None, max: float | None = None) -> dict[str, Any]:
    return {"help": help, "min": min, "max": max}


@dataclass(frozen=True)
class AlertsConfig:
    """The typed `alerts:` section (rules parsed separately into `rules`)."""

    enabled: bool = field(default=True, metadata=_meta("evaluate alert rules at all"))
    defaults: Any = field(default=True, metadata=_meta(
        "built-in rules: true, false, or a mapping of rule name to false or {keys to change}"))
    rules: list = field(default_factory=list, metadata=_meta(
        "your own rules (see docs/ALERTS.md); a rule named like a built-in one replaces it"))
    rules_file: str = field(default="", metadata=_meta(
        "a YAML file with more rules (relative: to web.yaml's folder)"))
    apprise_urls_file: str = field(default="", metadata=_meta(
        "file of apprise URLs, one per line, `URL` or `NAME URL` (mode 0600: they carry credentials). "
        "Empty: no apprise channels"))
    mqtt_topic_prefix: str = field(default="alerts", metadata=_meta(
        "MQTT topic prefix of alert messages (needs the mqtt: section); empty: no MQTT channel"))
    notify_interval_s: float = field(default=300.0, metadata=_meta(
        "at most one message per alert (rule and source) in this many seconds: a flapping value "
        "stays quiet", min=0, max=86400))
    tick_s: float = field(default=5.0, metadata=_meta(
        "how often rules are re-checked without a new sample (durations, data age)", min=0.05, max=3600))
    retry_initial_s: float = field(default=5.0, metadata=_meta(
        "first wait before re-sending to a failing channel (doubles each time)", min=0.01, max=3600))
    retry_max_s: float = field(default=300.0, metadata=_meta(
        "longest wait between attempts", min=0.01, max=86400))
    retry_attempts: int = field(default=10, metadata=_meta(
        "attempts per message before it is given up (and logged)", min=1, max=1000))
    log_retention_days: float = field(default=365.0, metadata=_meta(
        "days cleared alerts are kept in the log", min=1, max=36500))

    parsed_rules: tuple[Rule, ...] = ()
    base_dir: Path = field(default_factory=Path.cwd)

    def path(self, value: str) -> Path:
        """A configured path: absolute as given, relative to web.yaml's folder."""
        p = Path(value)
        return p if p.is_absolute() else self.base_dir / p


TYPES = {"enabled": "bool", "defaults": "mapping", "rules": "list", "rules_file": "str",
         "apprise_urls_file": "str", "mqtt_topic_prefix": "str", "notify_interval_s": "float",
         "tick_s": "float", "retry_initial_s": "float", "retry_max_s": "float", "retry_attempts": "int",
         "log_retention_days": "float"}


def key_table() -> list[KeyInfo]:
    """Every `alerts.*` key with its type, default, limits and help."""
    rows = []
    for f in fields(AlertsConfig):
        if f.name not in TYPES:
            continue
        default = [] if f.name == "rules" else f.default
        rows.append(KeyInfo(SECTION, f.name, TYPES[f.name], default, f.metadata["help"],
                            f.metadata["min"], f.metadata["max"], None))
    return rows


def load_alerts_config(section: Any, *, where: str, base_dir: Path) -> AlertsConfig:
    """Type and validate the `alerts:` section (None: the defaults) and parse every rule."""
    if section is None:
        section = {}
    if not isinstance(section, Mapping):
        raise AlertConfigError(f"{where}: section 'alerts' must be a mapping of keys")
    table = {info.name: info for info in key_table()}
    helper = ConfigSection(section, source=where, prefix=f"{SECTION}.")
    helper.warn_unknown(table)
    values: dict[str, Any] = {}
    for name, info in table.items():
        if helper.has(name):  # rules and defaults are checked by their own parsers below
            values[name] = helper.get(name) if info.type in ("list", "mapping") else helper.typed(info)
    config = AlertsConfig(**values, base_dir=base_dir)
    if config.retry_max_s < config.retry_initial_s:
        raise AlertConfigError(f"{where}: alerts.retry_max_s must be at least alerts.retry_initial_s")
    prefix = config.mqtt_topic_prefix
    if prefix and (any(c in prefix for c in "#+") or prefix.startswith("/") or prefix.endswith("/")):
        raise AlertConfigError(f"{where}: alerts.mqtt_topic_prefix must be a plain topic such as 'alerts'")
    defaults = default_rules(config.defaults, where=f"{where}: alerts.defaults")
    by_name: dict[str, Rule] = {r.name: r for r in defaults}
    if config.rules_file:
        for rule in _rules_from_file(config.path(config.rules_file)):
            by_name[rule.name] = rule
    for rule in parse_rules(config.rules, where=f"{where}: alerts.rules"):
        by_name[rule.name] = rule
    return AlertsConfig(**{**values, "parsed_rules": tuple(by_name.values())}, base_dir=base_dir)


def _rules_from_file(path: Path) -> list[Rule]:
    """Rules from an alerts file: a YAML list of rules, or a mapping with a `rules:` list."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AlertConfigError(f"{path}: cannot read the alerts file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise AlertConfigError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, Mapping):
        unknown = sorted(set(map(str, data)) - {"rules"})
        if unknown:
            raise AlertConfigError(f"{path}: only a 'rules:' list belongs here (found {', '.join(unknown)})")
        data = data.get("rules")
    return parse_rules(data, where=str(path))
