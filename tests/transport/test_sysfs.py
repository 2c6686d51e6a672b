"""port = auto: finding the inverter's hidraw node by vendor/product in a (fake) sysfs tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from solarmon.inverter.errors import DeviceGone
from solarmon.inverter.transport.hidraw import HidrawTransport
from solarmon.inverter.transport.sysfs import find_hidraw, list_hidraw, parse_hid_id
from tests.transport.conftest import make_sysfs_node

INVERTER = "0003:00000665:00005161"
KEYBOARD = "0003:0000046D:0000C31C"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0003:00000665:00005161", (3, 0x0665, 0x5161)),
        ("0003:00000665:00005161\n", (3, 0x0665, 0x5161)),
        ("0005:0000046D:0000B01A", (5, 0x046D, 0xB01A)),
    ],
)
def test_parse_hid_id(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_hid_id(text) == expected


@pytest.mark.parametrize("text", ["", "0665:5161", "0003:xyz:5161", "1:2:3:4"])
def test_parse_hid_id_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hid_id(text)


def _node(dev: Path, name: str) -> Path:
    dev.mkdir(exist_ok=True)
    (dev / name).write_bytes(b"")
    return dev / name


def test_finds_the_inverter_among_other_devices(fake_sysfs: Path, tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    for name, hid in [("hidraw0", KEYBOARD), ("hidraw2", INVERTER), ("hidraw10", KEYBOARD)]:
        make_sysfs_node(fake_sysfs, name, hid)
        _node(dev, name)
    assert find_hidraw(sysfs_root=fake_sysfs, dev_root=dev) == dev / "hidraw2"
    assert [n.name for n in list_hidraw(fake_sysfs)] == ["hidraw0", "hidraw2", "hidraw10"]


def test_none_found_is_device_gone(fake_sysfs: Path, tmp_path: Path) -> None:
    make_sysfs_node(fake_sysfs, "hidraw0", KEYBOARD)
    with pytest.raises(DeviceGone, match="0665:5161"):
        find_hidraw(sysfs_root=fake_sysfs, dev_root=tmp_path / "dev")


def test_listed_but_no_node_is_device_gone(fake_sysfs: Path, tmp_path: Path) -> None:
    make_sysfs_node(fake_sysfs, "hidraw1", INVERTER)
    with pytest.raises(DeviceGone, match="has no node"):
        find_hidraw(sysfs_root=fake_sysfs, dev_root=tmp_path / "dev")


def test_broken_uevent_is_skipped(fake_sysfs: Path, tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    make_sysfs_node(fake_sysfs, "hidraw0", "garbage")
    (fake_sysfs / "class" / "hidraw" / "hidraw3").mkdir()  # no device/uevent at all
    make_sysfs_node(fake_sysfs, "hidraw1", INVERTER)
    _node(dev, "hidraw0")
    _node(dev, "hidraw1")
    assert find_hidraw(sysfs_root=fake_sysfs, dev_root=dev) == dev / "hidraw1"


def test_auto_transport_follows_a_renumbered_node(fake_sysfs: Path, tmp_path: Path, lock_dir: Path) -> None:
    dev = tmp_path / "dev"
    make_sysfs_node(fake_sysfs, "hidraw0", INVERTER)
    _node(dev, "hidraw0")
    transport = HidrawTransport(" Auto", sysfs_root=fake_sysfs, dev_root=dev, lock_dir=lock_dir)
    transport.open()
    assert transport.path == dev / "hidraw0"
    transport.close()
    # Unplug and replug: the kernel gives the device the next free number.
    (dev / "hidraw0").unlink()
    (fake_sysfs / "class" / "hidraw" / "hidraw0" / "device" / "uevent").unlink()
    make_sysfs_node(fake_sysfs, "hidraw1", INVERTER)
    _node(dev, "hidraw1")
    transport.open()
    assert transport.path == dev / "hidraw1"
    transport.close()
