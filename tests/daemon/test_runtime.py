"""Runtime pieces around the device threads: the watchdog's stall test and rotation-friendly logging."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from solarmon.daemon.__main__ import setup_logging
from solarmon.daemon.config import load_config
from solarmon.daemon.notify import Notifier
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link

from .conftest import ManualClock, wait_until


def test_a_stuck_device_thread_withholds_the_watchdog(write_conf, tmp_path: Path) -> None:
    conf = write_conf(f"[SETUP]\ncontrol_socket =\naudit_log = a.jsonl\n[inv]\nport = {tmp_path}/absent\n"
                      "porttype = serial\nprom_output_dir = prom\ntimeout = 1\n")
    clock = ManualClock()
    daemon = Daemon(load_config(conf), open_link, notifier=Notifier({}), clock=clock)
    worker = daemon.workers["inv"]
    limit = daemon._stall_limit_s(worker)
    daemon.start()
    release = threading.Event()
    try:
        wait_until(lambda: worker.cycles >= 1, what="the first cycle")
        assert daemon.healthy_threads()
        # A request that never finishes holds the thread, as a wedged device call would.
        stuck = worker.submit(lambda: {"ok": release.wait(60)})
        wait_until(stuck.running, what="the thread to take the request")
        clock.advance(limit + 1)
        assert not daemon.healthy_threads()
        release.set()
        assert stuck.result(10) == {"ok": True}
        wait_until(daemon.healthy_threads, what="the thread to come round again")
    finally:
        release.set()
        daemon.stop()
    assert not worker._thread.is_alive()
    assert not daemon.healthy_threads()  # a dead thread is never healthy


def test_log_file_survives_rotation(tmp_path: Path) -> None:
    logger = logging.getLogger("solarmon.test.rotation")
    logger.propagate = False
    path = tmp_path / "logs" / "mpp-solar.log"
    setup_logging(path, logging.INFO, logger=logger)
    try:
        logger.info("first")
        path.rename(tmp_path / "logs" / "mpp-solar.log.1")  # what logrotate does
        logger.warning("second")
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
    assert "first" in (tmp_path / "logs" / "mpp-solar.log.1").read_text()
    new = path.read_text()
    assert "WARNING solarmon.test.rotation: second" in new
    assert "first" not in new


def test_usb_reset_is_wired_only_when_configured(write_conf, tmp_path: Path) -> None:
    from solarmon.inverter.errors import DeviceGone

    conf = write_conf(f"[plain]\nport = {tmp_path}/hidraw7\nporttype = hidraw\n"
                      f"[resetting]\nport = {tmp_path}/hidraw8\nporttype = hidraw\nusb_reset_after = 3\n")
    plain, resetting = load_config(conf).devices
    assert open_link(plain).transport.reset_device() is False  # no resetter: never touches USB
    vendors = [d / "idVendor" for d in Path("/sys/bus/usb/devices").glob("*")]
    if any(v.exists() and v.read_text().strip() == "0665" for v in vendors):
        pytest.skip("a real 0665:5161 bridge is attached: the test must not reset it")
    # With a resetter a reset is really attempted, and fails clearly: no such device on the bus.
    with pytest.raises(DeviceGone, match="0665:5161|libusb"):
        open_link(resetting).transport.reset_device()
