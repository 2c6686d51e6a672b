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

from solarmon.inverter import catalog
from solarmon.inverter.catalog import CATALOG, Kind
from solarmon.inverter.readings import Field

HA_PREFIX = "homeassistant"
MANUFACTURER = "Voltronic Power (MPP-Solar / Axpert)"
# Units HA should show differently: catalog unit -> (HA unit, value scale).
HA_UNITS: Mapping[str, tuple[str, float]] = {"Wh": ("kWh", 0.001)}
DIAGNOSTIC_KINDS = frozenset({Kind.RATING, Kind.DEFAULT, Kind.WARNING, Kind.FAULT})
SLUG_RE = re.compile(r"[^a-z0-9_]+")


def slug(text: str) -> str:
    """A lower-case [a-z0-9_] identifier (HA node ids and object ids)."""
    return SLUG_RE.sub("_", text.lower()).strip("_") or "inverter"


def enum_options() -> dict[str, list[str]]:
    """{field key: the texts it can take} for the coded fields of the catalog."""
    return {key: list(entry.choices.values()) for key, entry in CATALOG.items() if entry.choices}


@dataclass(frozen=True)
class DeviceInfo:
    """One inverter as HA sees it; `serial` (QID) makes the identity survive a section rename."""

    section: str
    name: str
    serial: str | None = None
    model: str | None = None
    sw_version: str | None = None
    via_device: str | None = None  # the system's identifier, for a unit of a parallel system
    role: str = ""  # "system" for a parallel section: its serial is also its host unit's

    @property
    def ident(self) -> str:
        """The device identifier and the prefix of every unique_id."""
        base = "solarmon_" + slug(self.serial or self.section)
        return f"{base}_{self.role}" if self.role else base

    def as_ha(self) -> dict[str, Any]:
        """HA's `device` block."""
        block: dict[str, Any] = {"identifiers": [self.ident], "name": self.name, "manufacturer": MANUFACTURER}
        if self.model:
            block["model"] = self.model
        if self.sw_version:
            block["sw_version"] = self.sw_version
        if self.serial:
            block["serial_number"] = self.serial
        if self.via_device:
            block["via_device"] = self.via_device
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
    entry = catalog.info(key) or catalog.of_field(field, "")
    config: dict[str, Any] = {
        "name": entry.label,
        "unique_id": f"{device.ident}_{key}",
        "state_topic": topics.state,
        "availability": [{"topic": topics.bridge_status}, {"topic": topics.availability}],
        "availability_mode": "all",
        "device": device.as_ha(),
        "origin": {"name": "solarmon"},
    }
    # Subscript, not attribute access: any key is a valid Jinja subscript.
    ref = f"value_json[{json.dumps(key)}]"
    if entry.kind in DIAGNOSTIC_KINDS:
        config["entity_category"] = "diagnostic"
    if isinstance(field.value, bool):
        config["value_template"] = f"{{{{ 'ON' if {ref} else 'OFF' }}}}"
        config.update(payload_on="ON", payload_off="OFF")
        if entry.ha_device_class == "problem":
            config["device_class"] = "problem"
        return "binary_sensor", config
    if isinstance(field.value, str):
        config["value_template"] = f"{{{{ {ref} }}}}"
        if key in options:
            config.update(device_class="enum", options=list(options[key]))
        return "sensor", config
    unit, scale = HA_UNITS.get(entry.unit, (entry.unit, 1.0))
    expr = ref if scale == 1.0 else f"({ref} * {scale}) | round(3)"
    config["value_template"] = f"{{{{ {expr} }}}}"
    if entry.ha_state_class:
        config["state_class"] = entry.ha_state_class
    if entry.ha_device_class:
        config["device_class"] = entry.ha_device_class
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
