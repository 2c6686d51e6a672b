"""Home Assistant MQTT discovery for the inverter: one device per inverter, one entity per field.

Pure functions from decoded fields to (topic, JSON) pairs, following HA's MQTT discovery rules:
config topic `<discovery_prefix>/<component>/<node_id>/<object_id>/config`, a `unique_id` per
entity, a shared `device` block (identifiers, name, manufacturer, model, sw_version), the
device_class / state_class / unit that HA accepts together (power W measurement, energy kWh
total_increasing, voltage, current, frequency, temperature, battery %; the mode as an `enum`
with its options), and availability through two topics that must both say `online`: the daemon's
last will and the device's own up/down state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from solarmon.inverter import tables
from solarmon.inverter.readings import Field

HA_PREFIX = "homeassistant"
MANUFACTURER = "Voltronic Power (MPP-Solar / Axpert)"
# unit -> (device_class, state_class, unit shown in HA, value scale)
UNIT_CLASSES: Mapping[str, tuple[str | None, str, str, float]] = {
    "W": ("power", "measurement", "W", 1.0),
    "VA": ("apparent_power", "measurement", "VA", 1.0),
    "V": ("voltage", "measurement", "V", 1.0),
    "A": ("current", "measurement", "A", 1.0),
    "Hz": ("frequency", "measurement", "Hz", 1.0),
    "°C": ("temperature", "measurement", "°C", 1.0),
    # HA's energy dashboard wants kWh; the inverter counts Wh.
    "Wh": ("energy", "total_increasing", "kWh", 0.001),
    "%": (None, "measurement", "%", 1.0),
}
BATTERY_KEYS = frozenset({"battery_capacity"})
WARNING_KEYS = frozenset(bit.key for bit in tables.WARNING_BITS)
SLUG_RE = re.compile(r"[^a-z0-9_]+")


def slug(text: str) -> str:
    """A lower-case [a-z0-9_] identifier (HA node ids and object ids)."""
    return SLUG_RE.sub("_", text.lower()).strip("_") or "inverter"


def enum_options() -> dict[str, list[str]]:
    """{field key: the texts it can take} for the coded fields of the PI30 tables."""
    options: dict[str, list[str]] = {"device_mode": list(tables.DEVICE_MODES.values())}
    for specs in (tables.QPIGS, tables.QPIRI, tables.QDI):
        for spec in specs:
            if getattr(spec, "choices", None):
                options[spec.key] = list(spec.choices.values())
    return options


@dataclass(frozen=True)
class DeviceInfo:
    """One inverter as HA sees it; `serial` (QID) makes the identity survive a section rename."""

    section: str
    name: str
    serial: str | None = None
    model: str | None = None
    sw_version: str | None = None

    @property
    def ident(self) -> str:
        """The device identifier and the prefix of every unique_id."""
        return "solarmon_" + slug(self.serial or self.section)

    def as_ha(self) -> dict[str, Any]:
        """HA's `device` block."""
        block: dict[str, Any] = {"identifiers": [self.ident], "name": self.name, "manufacturer": MANUFACTURER}
        if self.model:
            block["model"] = self.model
        if self.sw_version:
            block["sw_version"] = self.sw_version
        if self.serial:
            block["serial_number"] = self.serial
        return block


@dataclass(frozen=True)
class Topics:
    """Where one inverter's data lives under the configurable prefix."""

    prefix: str
    section: str

    @property
    def bridge_status(self) -> str:
        """The daemon's availability (its last will)."""
        return f"{self.prefix}/status"

    @property
    def availability(self) -> str:
        """This device's availability (offline while the inverter does not answer)."""
        return f"{self.prefix}/{self.section}/availability"

    @property
    def state(self) -> str:
        """All current values as one JSON object."""
        return f"{self.prefix}/{self.section}/state"

    def value(self, key: str) -> str:
        """One value as a plain payload."""
        return f"{self.prefix}/{self.section}/{key}"

    @property
    def set(self) -> str:
        """Setting requests (only subscribed when enabled)."""
        return f"{self.prefix}/{self.section}/set"

    @property
    def response(self) -> str:
        """Replies to setting requests."""
        return f"{self.prefix}/{self.section}/set/response"


def entity_config(
    field: Field, device: DeviceInfo, topics: Topics, options: Mapping[str, Sequence[str]]
) -> tuple[str, dict[str, Any]]:
    """(component, config payload) for one field."""
    key = field.key
    config: dict[str, Any] = {
        "name": key.replace("_", " ").capitalize(),
        "unique_id": f"{device.ident}_{key}",
        "state_topic": topics.state,
        "availability": [{"topic": topics.bridge_status}, {"topic": topics.availability}],
        "availability_mode": "all",
        "device": device.as_ha(),
        "origin": {"name": "solarmon"},
    }
    # Subscript, not attribute access: any key is a valid Jinja subscript.
    ref = f"value_json[{json.dumps(key)}]"
    if key.startswith(("rated_", "default_")) or key in WARNING_KEYS:
        config["entity_category"] = "diagnostic"
    if isinstance(field.value, bool):
        config["value_template"] = f"{{{{ 'ON' if {ref} else 'OFF' }}}}"
        config.update(payload_on="ON", payload_off="OFF")
        if key in WARNING_KEYS:
            config["device_class"] = "problem"
        return "binary_sensor", config
    if isinstance(field.value, str):
        config["value_template"] = f"{{{{ {ref} }}}}"
        if key in options:
            config.update(device_class="enum", options=list(options[key]))
        return "sensor", config
    device_class, state_class, unit, scale = UNIT_CLASSES.get(field.unit, (None, "measurement", "", 1.0))
    if key in BATTERY_KEYS:
        device_class = "battery"
    expr = ref if scale == 1.0 else f"({ref} * {scale}) | round(3)"
    config["value_template"] = f"{{{{ {expr} }}}}"
    config["state_class"] = state_class
    if device_class:
        config["device_class"] = device_class
    if unit:
        config["unit_of_measurement"] = unit
    return "sensor", config


def discovery_messages(
    fields: Iterable[Field],
    device: DeviceInfo,
    topics: Topics,
    *,
    ha_prefix: str = HA_PREFIX,
    options: Mapping[str, Sequence[str]] | None = None,
) -> list[tuple[str, str]]:
    """(config topic, JSON payload) for every field, to be published retained."""
    options = enum_options() if options is None else options
    messages = []
    for field in fields:
        component, config = entity_config(field, device, topics, options)
        topic = f"{ha_prefix}/{component}/{device.ident}/{slug(field.key)}/config"
        messages.append((topic, json.dumps(config, ensure_ascii=False, sort_keys=True)))
    return messages
