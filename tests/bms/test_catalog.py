"""The BMS catalog: the same entry type and kinds as the inverter's, every key once, alarms by kind."""

from __future__ import annotations

from solarmon.bms import catalog
from solarmon.inverter import catalog as inverter_catalog


def test_entries_are_inverter_catalog_entries() -> None:
    for key, entry in catalog.CATALOG.items():
        assert isinstance(entry, inverter_catalog.FieldInfo)
        assert entry.key == key == entry.name
        assert entry.command == catalog.COMMAND
        assert entry.label


def test_alarm_bits_have_alarm_kinds() -> None:
    for key, kind, _help in (*catalog.JK_ALARMS, *catalog.JBD_ALARMS):
        assert catalog.CATALOG[key].kind is kind
    for key in catalog.DALY_BITS:
        if key is not None:
            assert catalog.CATALOG[key].kind in catalog.ALARM_KINDS


def test_units() -> None:
    assert catalog.CATALOG["pack_current"].unit == "A"
    assert catalog.CATALOG["cell_voltage_48"].unit == "V"
    assert catalog.CATALOG["temperature_16"].unit == "°C"
    assert catalog.CATALOG["soc"].ha_device_class == "battery"


def test_classify_alarms_ignores_clear_and_unknown() -> None:
    assert catalog.classify_alarms({"cell_overvoltage": False, "pack_voltage": 53.0, "nope": 1}) == ([], [])
    assert catalog.classify_alarms({"daly_soc_low_l1": 1}) == ([], ["daly_soc_low_l1"])
