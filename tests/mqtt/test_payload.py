"""Parsing of house/weather/battery topics and payloads: accepted values and every rejection reason."""

from __future__ import annotations

import pytest

from solarmon.mqtt.payload import MAX_PAYLOAD_BYTES, PayloadRejected, parse_sensor_message


@pytest.mark.parametrize(
    ("topic", "payload", "source", "name", "value", "unit"),
    [
        ("house/temperature", b"23.5", "house", "temperature", 23.5, None),
        ("house/temperature", b" -4 \n", "house", "temperature", -4.0, None),
        ("house/humidity", b"1e2", "house", "humidity", 100.0, None),
        ("house/pressure", b".5", "house", "pressure", 0.5, None),
        (
            "house/living_room/temperature",
            b'{"value": 21.25, "unit": "\xc2\xb0C"}',
            "house",
            "living_room/temperature",
            21.25,
            "°C",
        ),
        ("house/kitchen/co2", b'{"value": 612}', "house", "kitchen/co2", 612.0, None),
        ("house/a/b/c", b"1", "house", "a/b/c", 1.0, None),
        ("weather/temperature_2m", b"-7.3", "weather", "temperature_2m", -7.3, None),
        ("battery/cell1", b'{"value": 3.301, "unit": "V"}', "battery", "cell1", 3.301, "V"),
        ("battery/cell16", b"3.287", "battery", "cell16", 3.287, None),
        ("battery/pack_2/cell3", b"3.29", "battery", "pack_2/cell3", 3.29, None),
    ],
)
def test_accepted(topic: str, payload: bytes, source: str, name: str, value: float, unit: str | None) -> None:
    parsed = parse_sensor_message(topic, payload, received_s=1000.0)
    assert (parsed.source, parsed.name, parsed.value, parsed.unit) == (source, name, value, unit)
    assert parsed.topic == topic
    assert parsed.received_s == 1000.0


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("house/temperature", b"", "empty"),
        ("house/temperature", b"   ", "empty"),
        ("house/temperature", b"1" * (MAX_PAYLOAD_BYTES + 1), "oversized"),
        ("house/a/b/c/d", b"1", "too_deep"),
        ("house", b"1", "bad_topic"),
        ("garage/temperature", b"1", "bad_topic"),
        ("battery", b"3.3", "bad_topic"),
        ("Battery/cell1", b"3.3", "bad_topic"),
        ("battery/a/b/c/d", b"3.3", "too_deep"),
        ("house/bad name", b"1", "bad_topic"),
        ("house//x", b"1", "bad_topic"),
        ("house/temperature", b"warm", "not_a_number"),
        ("house/temperature", b"1_000", "not_a_number"),
        ("house/temperature", b"0x10", "not_a_number"),
        ("house/temperature", b"\xff\xfe", "not_a_number"),
        ("house/temperature", b"nan", "non_finite"),
        ("house/temperature", b"-inf", "non_finite"),
        ("house/temperature", b"1e999", "non_finite"),
        ("house/temperature", b'{"value": NaN}', "non_finite"),
        ("house/temperature", b'{"value": Infinity}', "non_finite"),
        ("house/temperature", b'{"value": 1e999}', "non_finite"),
        ("house/temperature", b'{"value": "23.5"}', "not_a_number"),
        ("house/temperature", b'{"value": true}', "not_a_number"),
        ("house/temperature", b'{"value": null}', "not_a_number"),
        ("house/temperature", b'{"temp": 1}', "bad_json"),
        ("house/temperature", b"{not json", "bad_json"),
        ("house/temperature", b'{"value": 1, "unit": 5}', "bad_unit"),
        ("house/temperature", b'{"value": 1, "unit": "' + b"x" * 17 + b'"}', "bad_unit"),
    ],
)
def test_rejected(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as info:
        parse_sensor_message(topic, payload, received_s=0.0)
    assert info.value.reason == reason
