"""The rule state machine over simulated value sequences: durations, hysteresis, clear conditions,
arming, thresholds from other metrics, derived data age; and the flap limiter."""

from __future__ import annotations

import pytest

from solarmon.alerts.evaluator import CLEARED, FIRED, Evaluator
from solarmon.alerts.notify import Throttle
from solarmon.alerts.rules import parse_rules

SRC = "inverter:main"


def rule(**keys):
    return parse_rules([{"name": "r", "metric": "v", **keys}], where="test")[0]


def run(r, samples, *, metric="v", extra=None):
    """Feed (t, value) samples; return [(t, kind)] of the transitions."""
    ev = Evaluator([r])
    out = []
    for t, value in samples:
        values = {metric: value, **(extra or {})}
        out += [(t, tr.kind) for tr in ev.evaluate(SRC, values, {metric: "%"}, float(t))]
    return out


@pytest.mark.parametrize(
    ("keys", "samples", "expected"),
    [
        # fires at once below 20, clears as soon as it is not below 20
        ({"below": 20}, [(0, 25), (1, 19), (2, 19), (3, 20)], [(1, FIRED), (3, CLEARED)]),
        # hysteresis 5: 21..24 keeps it firing, 25 clears
        ({"below": 20, "hysteresis": 5}, [(0, 19), (1, 21), (2, 24), (3, 25)], [(0, FIRED), (3, CLEARED)]),
        # the condition must hold for 60 s: a dip of 30 s fires nothing
        ({"below": 20, "for_s": 60}, [(0, 19), (30, 19), (40, 30), (50, 19), (100, 19), (110, 19)],
         [(110, FIRED)]),
        # clear condition with its own duration: a short recovery does not clear
        ({"above": 75, "clear": {"below": 60, "for_s": 30}},
         [(0, 80), (10, 55), (20, 70), (30, 55), (50, 55), (60, 55)], [(0, FIRED), (60, CLEARED)]),
        # above with hysteresis
        ({"above": 75, "hysteresis": 5}, [(0, 76), (1, 72), (2, 70), (3, 76)], [(0, FIRED), (2, CLEARED),
                                                                                (3, FIRED)]),
        # equals / not equals, text without regard to case
        ({"equals": "Fault"}, [(0, "Battery"), (1, "fault"), (2, "Fault"), (3, "Line")],
         [(1, FIRED), (3, CLEARED)]),
        # changes_to: a value already there at the start does not fire
        ({"changes_to": "Line"}, [(0, "Line"), (1, "Line"), (2, "Battery"), (3, "Line")], [(3, FIRED)]),
        # arm_on_clear: an off-grid house (0 V from the start) never hears "grid lost"
        ({"below": 90, "clear": {"above": 180}, "arm_on_clear": True}, [(0, 0), (10, 0), (20, 0)], []),
        ({"below": 90, "clear": {"above": 180}, "arm_on_clear": True},
         [(0, 230), (10, 0), (20, 120), (30, 230)], [(10, FIRED), (30, CLEARED)]),
        # booleans and numbers compare by value
        ({"equals": True}, [(0, 0), (1, 1), (2, False)], [(1, FIRED), (2, CLEARED)]),
        # text where a number belongs changes nothing
        ({"below": 20}, [(0, 10), (1, "n/a"), (2, 10), (3, 30)], [(0, FIRED), (3, CLEARED)]),
    ],
)
def test_rules_fire_and_clear(keys, samples, expected):
    assert run(rule(**keys), samples) == expected


def test_threshold_from_another_metric_of_the_same_source():
    r = rule(below="cutoff + 1.5", hysteresis=1)
    ev = Evaluator([r])
    fire = ev.evaluate(SRC, {"v": 43.0, "cutoff": 42.0}, {"v": "V"}, 0.0)
    assert [t.kind for t in fire] == [FIRED]
    assert fire[0].threshold == 43.5
    assert ev.evaluate(SRC, {"v": 44.0, "cutoff": 42.0}, {}, 1.0) == []  # inside the hysteresis band
    assert [t.kind for t in ev.evaluate(SRC, {"v": 44.6, "cutoff": 42.0}, {}, 2.0)] == [CLEARED]
    # without the reference the rule cannot be judged: nothing happens
    assert ev.evaluate(SRC, {"v": 10.0}, {}, 3.0) == []


def test_each_source_has_its_own_alert_and_sources_are_matched():
    r = rule(below=20)
    ev = Evaluator([r])
    assert [t.source for t in ev.evaluate("inverter:a", {"v": 1}, {}, 0)] == ["inverter:a"]
    assert [t.source for t in ev.evaluate("inverter:b", {"v": 1}, {}, 0)] == ["inverter:b"]
    assert ev.evaluate("house", {"v": 1}, {}, 0) == []  # the default source is any inverter
    assert sorted(ev.firing()) == [("r", "inverter:a"), ("r", "inverter:b")]
    house = parse_rules([{"name": "cold", "metric": "t", "below": 5, "source": "house"}], where="t")[0]
    assert house.matches("house")
    assert house.matches("house:garage")
    assert not house.matches("inverter:a")
    # BMS values arrive on MQTT battery/# as the source "battery": a cell rule watches only them.
    cell = parse_rules([{"name": "cell_low", "metric": "cell1", "below": 3.0, "source": "battery"}],
                       where="t")[0]
    assert cell.matches("battery")
    assert not cell.matches("house")
    ev = Evaluator([cell])
    assert [t.source for t in ev.evaluate("battery", {"cell1": 2.9}, {}, 0)] == ["battery"]
    assert ev.evaluate("house", {"cell1": 2.9}, {}, 0) == []


def test_messages_use_the_template_and_say_when_resolved():
    r = parse_rules([{"name": "battery_low", "metric": "battery_capacity", "below": 20,
                      "message": "Battery low: {value}{unit} on {device}"}], where="t")[0]
    ev = Evaluator([r])
    fired = ev.evaluate(SRC, {"battery_capacity": 18}, {"battery_capacity": "%"}, 0)[0]
    assert fired.message == "Battery low: 18% on main"
    cleared = ev.evaluate(SRC, {"battery_capacity": 40}, {"battery_capacity": "%"}, 1)[0]
    assert cleared.message == "Resolved: Battery low: 40% on main (now 40%)"


def test_restored_alert_clears_with_a_message_or_stays_silent():
    r = rule(below=20)
    ev = Evaluator([r])
    assert ev.restore("r", SRC, 100.0)
    assert not ev.restore("gone", SRC, 100.0)  # the rule was removed from the configuration
    assert ev.evaluate(SRC, {"v": 10}, {}, 200.0) == []  # still low: no second "fired"
    assert [t.kind for t in ev.evaluate(SRC, {"v": 30}, {}, 300.0)] == [CLEARED]


def test_flapping_sends_at_most_one_message_per_interval():
    r = rule(below=20)
    ev = Evaluator([r])
    throttle = Throttle(interval_s=300)
    sent = []
    values = [10, 30, 10, 30, 10, 30, 10]  # flapping every 10 s
    for i, value in enumerate(values):
        now = i * 10.0
        for tr in ev.evaluate(SRC, {"v": value}, {}, now):
            note = throttle.offer(tr, 1, now)
            if note:
                sent.append((now, note.kind, note.flaps))
        sent += [(now, n.kind, n.flaps) for n in throttle.due(now)]
    assert sent == [(0.0, FIRED, 0)]  # the first fire; the rest is held back
    # At the end of the interval the value is firing again, which people already know: nothing.
    assert throttle.due(300.0) == []
    # Later it clears for good: one message, counting the flaps nobody was told about.
    tr = ev.evaluate(SRC, {"v": 30}, {}, 400.0)[0]
    note = throttle.offer(tr, 1, 400.0)
    assert (note.kind, note.flaps) == (CLEARED, 6)
    assert "flapping" in note.body
    assert throttle.suppressed == 6


def test_a_held_back_change_is_sent_when_the_interval_ends():
    r = rule(below=20)
    ev = Evaluator([r])
    throttle = Throttle(interval_s=60)
    assert throttle.offer(ev.evaluate(SRC, {"v": 10}, {}, 0.0)[0], 1, 0.0).kind == FIRED
    assert throttle.offer(ev.evaluate(SRC, {"v": 30}, {}, 5.0)[0], 1, 5.0) is None
    assert throttle.due(30.0) == []
    due = throttle.due(60.0)
    assert [(n.kind, n.flaps) for n in due] == [(CLEARED, 0)]
    assert throttle.due(120.0) == []  # said once


@pytest.mark.parametrize(
    ("bits", "named"),
    [
        ({"bus_over": 1, "line_fail": 1}, "bus_over"),
        ({"overload": 1}, "unknown"),  # a16 without a1 is a warning
        ({"inverter_fault": 1, "overload": 1, "fan_locked": 0}, "inverter_fault, overload"),
        ({"battery_open": True, "eeprom_fault": 1}, "eeprom_fault, battery_open"),
    ],
)
def test_the_fault_message_names_the_fault_bits(bits, named):
    from solarmon.alerts.evaluator import active_faults

    assert active_faults(bits) == named
