"""Home Assistant discovery payloads built from real decoded PI30 replies."""

from __future__ import annotations

import json

import pytest

from solarmon.inverter import catalog
from solarmon.inverter.codec import decode_raw
from solarmon.inverter.frame import encode_reply
from solarmon.inverter.readings import Field
from solarmon.mqtt.discovery import DeviceInfo, Topics, discovery_messages, slug

# PI30.md's reference replies (a 5 kW 48 V unit).
PAYLOADS = {
    "QPIGS": "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
    "00 00 00856 010",
    "QPIRI": "230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 54.0 0 1",
    "QMOD": "B",
    "QPIWS": "00000000000100000000000000000000",
}
DEVICE = DeviceInfo(section="inverter", name="Main inverter", serial="92932004102443", sw_version="00072.70")
TOPICS = Topics("solarmon", "inverter")


def fields() -> list[Field]:
    out: list[Field] = []
    for command, payload in PAYLOADS.items():
        out.extend(decode_raw(command, encode_reply(payload)).fields)
    return out


@pytest.fixture(scope="module")
def configs() -> dict[str, tuple[str, dict]]:
    """{field key: (discovery topic, config)}"""
    result = {}
    for topic, payload in discovery_messages(fields(), DEVICE, TOPICS):
        config = json.loads(payload)
        key = config["unique_id"].removeprefix(DEVICE.ident + "_")
        result[key] = (topic, config)
    return result


@pytest.mark.parametrize(
    ("key", "component", "device_class", "state_class", "unit"),
    [
        ("ac_output_active_power", "sensor", "power", "measurement", "W"),
        ("ac_output_apparent_power", "sensor", "apparent_power", "measurement", "VA"),
        ("pv_input_power", "sensor", "power", "measurement", "W"),
        ("battery_voltage", "sensor", "voltage", "measurement", "V"),
        ("battery_charging_current", "sensor", "current", "measurement", "A"),
        ("battery_capacity", "sensor", "battery", "measurement", "%"),
        ("ac_output_load", "sensor", None, "measurement", "%"),
        ("inverter_heat_sink_temperature", "sensor", "temperature", "measurement", "°C"),
        ("ac_output_frequency", "sensor", "frequency", "measurement", "Hz"),
        ("device_mode", "sensor", "enum", None, None),
        ("is_load_on", "binary_sensor", None, None, None),
        ("rated_battery_voltage", "sensor", "voltage", "measurement", "V"),
    ],
)
def test_entity_classes(
    configs: dict,
    key: str,
    component: str,
    device_class: str | None,
    state_class: str | None,
    unit: str | None,
) -> None:
    topic, config = configs[key]
    assert topic == f"homeassistant/{component}/solarmon_92932004102443/{key}/config"
    assert config.get("device_class") == device_class
    assert config.get("state_class") == state_class
    assert config.get("unit_of_measurement") == unit
    assert config["state_topic"] == "solarmon/inverter/state"
    assert key in config["value_template"]


def test_energy_counter_is_kwh_total_increasing() -> None:
    [(_, payload)] = discovery_messages(
        [Field("pv_energy_total", "pv_generated_energy", 123456, "Wh")], DEVICE, TOPICS
    )
    config = json.loads(payload)
    assert (config["device_class"], config["state_class"], config["unit_of_measurement"]) == (
        "energy",
        "total_increasing",
        "kWh",
    )
    assert "* 0.001" in config["value_template"]


def test_every_entity_shares_device_and_availability(configs: dict) -> None:
    unique_ids = [c["unique_id"] for _, c in configs.values()]
    assert len(unique_ids) == len(set(unique_ids)) == len(fields())
    for _, config in configs.values():
        assert config["device"]["identifiers"] == ["solarmon_92932004102443"]
        assert config["device"]["sw_version"] == "00072.70"
        assert config["availability"] == [
            {"topic": "solarmon/status"},
            {"topic": "solarmon/inverter/availability"},
        ]
        assert config["availability_mode"] == "all"


def test_mode_options_include_the_decoded_state(configs: dict) -> None:
    _, config = configs["device_mode"]
    assert "Battery" in config["options"]
    assert "Line" in config["options"]


def test_warnings_are_diagnostic_problems_and_ratings_diagnostic(configs: dict) -> None:
    warning = next(c for _, c in configs.values() if c.get("device_class") == "problem")
    assert warning["entity_category"] == "diagnostic"
    assert configs["rated_battery_voltage"][1]["entity_category"] == "diagnostic"
    assert "entity_category" not in configs["battery_voltage"][1]


def test_without_serial_the_section_is_the_identity() -> None:
    device = DeviceInfo(section="Garage Unit", name="Garage")
    assert device.ident == "solarmon_garage_unit"
    assert slug("--") == "inverter"


def test_every_value_template_renders_a_valid_state(configs: dict) -> None:
    """Render each template with Jinja (what HA uses) over the state JSON the publisher sends."""
    import jinja2

    state = json.loads(json.dumps({f.key: f.value for f in fields()}))  # as it travels: JSON
    env = jinja2.Environment(autoescape=False)  # states, not HTML
    for key, (topic, config) in configs.items():
        rendered = env.from_string(config["value_template"]).render(value_json=state).strip()
        if topic.startswith("homeassistant/binary_sensor/"):
            assert rendered == ("ON" if state[key] else "OFF"), key
        elif config.get("device_class") == "enum":
            assert rendered in config["options"], (key, rendered)
        elif "state_class" in config:
            assert float(rendered) == pytest.approx(float(state[key])), key
        else:
            assert rendered == str(state[key]), key


def test_names_units_and_classes_come_from_the_catalog(configs: dict) -> None:
    for key, (topic, config) in configs.items():
        entry = catalog.info(key)
        assert config["name"] == entry.label
        if topic.startswith("homeassistant/binary_sensor/"):
            continue
        if "options" in config:
            assert config["options"] == list(entry.choices.values())
            continue
        assert config.get("device_class") == entry.ha_device_class, key
        assert config.get("state_class") == entry.ha_state_class, key
        assert config.get("unit_of_measurement", "") == entry.unit, key
    assert configs["pv_input_power"][1]["name"] == "PV input power"
    # A setting is not diagnostic; a rating, a default and a fault bit are.
    assert "entity_category" not in configs["battery_type"][1]
    assert configs["bus_over"][1]["entity_category"] == "diagnostic"
