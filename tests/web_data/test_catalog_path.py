"""Issue 13/14 on the web side of the data path: every series mapped to its catalog key without
guessing, flags as numbers, withdrawn values never shown as live, cut files refused."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from solarmon.inverter import catalog
from solarmon.web.promparse import PromFileError, parse_prom_text
from solarmon.web.state import LiveState
from tests.web_data.conftest import QMOD, QPIGS, QPIRI, FakeClock, write_daemon_file, write_mppsolar_files

# QPIRI with battery type 2 (User); QDI's factory default battery type is 0 (AGM).
QPIRI_USER = QPIRI.replace(" 54.0 0 10 010 ", " 54.0 2 10 010 ")
QDI = "230.0 50.0 0030 44.0 54.0 56.4 46.0 60 0 0 2 0 0 0 0 0 1 1 1 0 1 0 54.0 0 0 000"
# QPIWS with a1 (inverter fault) and a9 (over temperature: a fault while a1 is set) and a5 (line fail).
QPIWS_A1_A9 = "01000100010000000000000000000000"


def read_all(prom_dir: Path, live: LiveState) -> None:
    for path in sorted(prom_dir.glob("*.prom")):
        for update in parse_prom_text(path.read_text(), filename=path.name, mtime=path.stat().st_mtime):
            live.apply(update)


def test_qdi_default_never_overwrites_the_qpiri_setting(prom_dir):
    """Defect 1: with QDI in `command`, QDI's factory default battery type (AGM) replaced QPIRI's
    current one (User) under the one key `battery_type`."""
    write_daemon_file(prom_dir, "main", {"QPIGS": QPIGS, "QPIRI": QPIRI_USER, "QDI": QDI})
    live = LiveState()
    read_all(prom_dir, live)
    snap = live.snapshot("inverter:main")
    assert snap.values["battery_type"] == "User"
    assert snap.values["default_battery_type"] == "AGM"
    assert snap.values["default_battery_under_voltage"] == 44.0
    assert snap.values["battery_under_voltage"] == 42.0
    assert snap.kinds["default_battery_type"] == "default"
    assert snap.kinds["battery_type"] == "setting"


def test_every_daemon_value_has_its_catalog_key_unit_and_kind(prom_dir):
    write_daemon_file(prom_dir, "main", {"QPIGS": QPIGS, "QPIRI": QPIRI, "QDI": QDI, "QMOD": QMOD,
                                         "QPIWS": QPIWS_A1_A9, "QFLAG": "EabjDkuvxyz"})
    live = LiveState()
    read_all(prom_dir, live)
    snap = live.snapshot("inverter:main")
    for key, value in snap.values.items():
        info = catalog.info(key)
        assert info is not None, key
        assert snap.units[key] == info.unit, key
        assert snap.kinds[key] == info.kind, key
        assert not isinstance(value, str) or info.kind in ("enum", "text", "setting", "default", "rating")


def test_upstream_flags_become_numbers_with_catalog_keys(prom_dir):
    """Defect 3: upstream mppsolar writes QPIWS/QFLAG bits as `{myStr="1"} 1`; they were stored as
    the strings '0'/'1' under mppsolar's names, so no rule or /metrics family saw them."""
    write_mppsolar_files(prom_dir, "main", {"QPIWS": QPIWS_A1_A9, "QFLAG": "EabjDkuvxyz", "QPIRI": QPIRI,
                                            "QDI": QDI})
    live = LiveState()
    read_all(prom_dir, live)
    snap = live.snapshot("inverter:main")
    assert snap.values["inverter_fault"] == 1
    assert snap.values["over_temperature"] == 1
    assert snap.values["line_fail"] == 1
    assert snap.values["bus_over"] == 0
    assert snap.kinds["over_temperature"] == "fault"
    assert snap.values["buzzer"] == 1  # QFLAG "enabled"
    assert snap.values["lcd_backlight"] == 0
    assert snap.values["rated_battery_voltage"] == 48.0
    assert snap.values["default_battery_type"] == "AGM"
    assert snap.units["rated_battery_voltage"] == "V"
    assert catalog.classify_alarms(snap.values) == (["inverter_fault", "over_temperature"], ["line_fail"])


def test_a_command_missing_from_the_daemon_file_is_withdrawn(prom_dir):
    """Issue 14.1: a command that failed this cycle is absent from the file; its old values must
    not stay, stamped with another command's time."""
    now = time.time()
    write_daemon_file(prom_dir, "main", {"QPIGS": QPIGS, "QMOD": QMOD}, read_at=now - 2)
    live = LiveState()
    read_all(prom_dir, live)
    assert live.snapshot("inverter:main").values["battery_voltage"] == 57.5
    write_daemon_file(prom_dir, "main", {"QMOD": QMOD}, read_at=now)  # QPIGS failed
    read_all(prom_dir, live)
    snap = live.snapshot("inverter:main")
    assert "battery_voltage" not in snap.values
    assert "pv_power_total" not in snap.values  # nor anything derived from it
    assert snap.values["device_mode"] == "Battery"
    assert snap.ages["device_mode"] < 5


def test_nan_withdraws_a_value():
    text = ('mpp_solar_battery_voltage{inverter="a",device="d",cmd="QPIGS"} 52.5\n'
            'mpp_solar_pv_input_power{inverter="a",device="d",cmd="QPIGS"} 300\n')
    live = LiveState()
    for update in parse_prom_text(text, filename="mpp-solar-a-qpigs.prom", mtime=time.time()):
        live.apply(update)
    text = text.replace("52.5", "NaN")
    for update in parse_prom_text(text, filename="mpp-solar-a-qpigs.prom", mtime=time.time()):
        live.apply(update)
    snap = live.snapshot("inverter:a")
    assert "battery_voltage" not in snap.values
    assert snap.values["pv_input_power"] == 300


def test_each_value_ages_on_its_own_and_old_ones_are_not_live(prom_dir):
    clock = FakeClock(10_000.0)
    live = LiveState(clock=clock, stale_after_s=60)
    # upstream files: one per command, each with its own time (the file's mtime)
    paths = write_mppsolar_files(prom_dir, "main", {"QPIGS": QPIGS, "QPIRI": QPIRI, "QMOD": QMOD})
    stamps = {"qpigs": 9_800.0, "qpiri": 9_000.0, "qmod": 9_990.0}
    for path in paths:
        mtime = stamps[path.stem.rsplit("-", 1)[1]]
        for update in parse_prom_text(path.read_text(), filename=path.name, mtime=mtime):
            live.apply(update)
    snap = live.snapshot("inverter:main")
    assert snap.values["device_mode"] == "Battery"
    assert snap.ages["device_mode"] == pytest.approx(10.0)
    assert "battery_voltage" not in snap.values  # 200 s old: not live
    assert snap.stale["battery_voltage"] == pytest.approx(200.0)
    assert "pv_power_total" not in snap.values
    assert "pv_power_total" in snap.stale
    # configuration stays while the source is fresh: its age is shown, it is not stale
    assert snap.values["rated_battery_voltage"] == 48.0
    assert snap.ages["rated_battery_voltage"] == pytest.approx(1000.0)
    assert snap.age_s == pytest.approx(10.0)


def test_derived_values_are_computed_once_on_ingest(prom_dir):
    write_daemon_file(prom_dir, "main", {"QPIGS": QPIGS, "QMOD": QMOD})
    live = LiveState()
    read_all(prom_dir, live)
    snap = live.snapshot("inverter:main")
    assert snap.values["pv_power_total"] == 856
    assert snap.values["battery_power"] == pytest.approx(57.5 * 12)
    assert snap.values["load_power"] == 119
    assert snap.kinds["pv_power_total"] == "derived"
    assert snap.units["battery_power"] == "W"


def test_daemon_file_without_its_end_marker_is_truncated(prom_dir):
    """Issue 14.5: a daemon file cut at a line end parsed, a number cut to "5" shown as 5 V."""
    path = write_daemon_file(prom_dir, "main", {"QPIGS": QPIGS})
    text = path.read_text()
    assert text.endswith("\n# EOF\n")
    cut = text[: text.index("mpp_solar_battery_voltage{")] + 'mpp_solar_battery_voltage{inverter="main"} 5\n'
    with pytest.raises(PromFileError) as info:
        parse_prom_text(cut, filename=path.name, mtime=0.0)
    assert info.value.kind == "truncated"
    assert math.isfinite(parse_prom_text(text, filename=path.name, mtime=0.0)[0].ts)
