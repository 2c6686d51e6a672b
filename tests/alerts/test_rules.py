"""Rule parsing: good rules become typed rules, bad ones are refused naming the rule and the reason."""

from __future__ import annotations

import pytest

from solarmon.alerts.defaults import DEFAULT_RULES, default_rules
from solarmon.alerts.rules import AlertConfigError, parse_rules
from solarmon.web.config import ConfigError

CAP = {"name": "r", "metric": "battery_capacity"}
MODE = {"name": "r", "metric": "device_mode"}


def one(**keys):
    return parse_rules([{"name": "r", "metric": "battery_capacity", **keys}], where="web.yaml")[0]


@pytest.mark.parametrize(
    ("keys", "condition", "clear"),
    [
        ({"below": 20}, "below 20", "at or above 20"),
        ({"below": 20, "hysteresis": 5}, "below 20", "at or above 25"),
        ({"above": 75, "hysteresis": 5}, "above 75", "at or below 70"),
        ({"above": 75, "clear": {"below": 60, "for_s": 30}}, "above 75", "below 60"),
        ({"below": "battery_under_voltage + 1.5"}, "below battery_under_voltage + 1.5",
         "at or above battery_under_voltage + 1.5"),
        ({"below": "battery_under_voltage + 1.5", "hysteresis": 1}, "below battery_under_voltage + 1.5",
         "at or above battery_under_voltage + 2.5"),
        ({"below": "rated_battery_voltage - 2"}, "below rated_battery_voltage - 2",
         "at or above rated_battery_voltage - 2"),
        ({"equals": "Fault"}, "equals Fault", "not equals Fault"),
        ({"changes_to": "Line"}, "changes to Line", "not equals Line"),
        ({"equals": True}, "equals True", "not equals True"),
    ],
)
def test_conditions_and_their_clear_conditions(keys, condition, clear):
    rule = one(**keys)
    assert rule.condition.describe() == condition
    assert rule.clear.describe() == clear


def test_defaults_of_a_rule():
    rule = one(below=20)
    assert (rule.source, rule.severity, rule.for_s, rule.channels, rule.arm_on_clear) == \
        ("inverter", "warning", 0.0, None, False)
    assert one(changes_to="Line").arm_on_clear  # changes_to only fires after another value was seen
    assert one(below=5, channels=["mqtt"], severity="critical").channels == ("mqtt",)
    assert parse_rules([{"name": "off", "metric": "x", "below": 1, "enabled": False}], where="w") == []


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (CAP, "needs exactly one condition"),
        ({**CAP, "below": 20, "above": 90}, "needs exactly one condition"),
        ({**CAP, "below": "20 %"}, "must be a number or 'metric + number'"),
        ({**CAP, "below": float("nan")}, "finite number"),
        ({**CAP, "below": 20, "for": 60}, "unknown key(s) for"),
        ({**CAP, "below": 20, "for_s": -1}, "for_s must be a number of seconds"),
        ({**CAP, "below": 20, "for_s": "1m"}, "for_s must be a number"),
        ({**CAP, "below": 20, "severity": "urgent"}, "severity must be one of"),
        ({**CAP, "below": 20, "hysteresis": -2}, "hysteresis must be"),
        ({**CAP, "below": 20, "hysteresis": 2, "clear": {"above": 30}},
         "either hysteresis or clear"),
        ({**CAP, "below": 20, "clear": {"above": 10}}, "overlaps"),
        ({**CAP, "below": 20, "clear": {"below": 30}}, "must clear above"),
        ({**CAP, "below": 20, "clear": {"for_s": 3}}, "clear needs exactly one"),
        ({**MODE, "equals": "Fault", "hysteresis": 1}, "only applies to above/below"),
        ({**MODE, "equals": "Fault", "clear": {"equals": "fault"}},
         "clear equals the firing value"),
        ({**MODE, "equals": ""}, "needs a number, true/false or text"),
        ({**CAP, "below": 20, "channels": "mqtt"}, "channels must be"),
        ({**CAP, "below": 20, "channels": []}, "channels must be"),
        ({**CAP, "below": 20, "message": "{value} {colour}"}, "{colour}"),
        ({**CAP, "below": 20, "source": "inverter main"}, "source must be"),
        ({"name": "r", "metric": "battery capacity", "below": 20}, "metric must name a value key"),
        ({"name": "Bad Name", "metric": "battery_capacity", "below": 20}, "name must be"),
        ({**CAP, "below": 20, "arm_on_clear": "yes please"},
         "arm_on_clear must be true or false"),
    ],
)
def test_bad_rules_are_refused_with_the_rule_and_the_reason(rule, reason):
    with pytest.raises(AlertConfigError) as info:
        parse_rules([{"name": "fine", "metric": "battery_voltage", "below": 44}, rule], where="web.yaml")
    message = str(info.value)
    assert message.startswith("web.yaml: rule ")
    assert f"rule {rule['name']!r}" in message
    assert reason in message


def test_a_bad_rule_is_a_configuration_error():
    # web_interface.py turns every ConfigError into exit status 2.
    assert issubclass(AlertConfigError, ConfigError)


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        ("battery_low", "must be a list of mappings"),
        (["battery_low"], "rule #1: must be a mapping"),
        ([{"name": "a", "metric": "x", "below": 1}, {"name": "a", "metric": "y", "below": 2}],
         "used by an earlier"),
    ],
)
def test_bad_rule_lists(items, reason):
    with pytest.raises(AlertConfigError, match=reason):
        parse_rules(items, where="web.yaml")


def test_every_builtin_rule_parses_and_is_named_in_the_docs():
    from pathlib import Path

    rules = default_rules()
    assert [r.name for r in rules] == [item["name"] for item in DEFAULT_RULES]
    assert all(r.builtin for r in rules)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ALERTS.md").read_text()
    for rule in rules:
        assert f"`{rule.name}`" in doc, f"docs/ALERTS.md does not describe {rule.name}"


def test_default_overrides():
    assert default_rules(False) == []
    names = [r.name for r in default_rules({"heat_sink_hot": False})]
    assert "heat_sink_hot" not in names
    assert len(names) == len(DEFAULT_RULES) - 1
    changed = {r.name: r for r in default_rules({"battery_low": {"below": 35, "severity": "critical"}})}
    assert changed["battery_low"].condition.describe() == "below 35"
    assert changed["battery_low"].clear.describe() == "at or above 45"  # the shipped hysteresis stays
    assert changed["battery_low"].severity == "critical"
    with pytest.raises(AlertConfigError, match="no built-in rule named battery_empty"):
        default_rules({"battery_empty": False})
    with pytest.raises(AlertConfigError, match="cannot be renamed"):
        default_rules({"battery_low": {"name": "other"}})
    with pytest.raises(AlertConfigError, match="rule 'battery_low': severity"):
        default_rules({"battery_low": {"severity": "loud"}})
