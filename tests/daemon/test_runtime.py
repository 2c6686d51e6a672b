"""Runtime pieces around the device threads: the watchdog's stall test and rotation-friendly logging."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from solarmon.daemon.__main__ import setup_logging
from solarmon.daemon.config import load_config
from solarmon.daemon.notify import Notifier
from solarmon.daemon.service import Daemon
from solarmon.daemon.worker import open_link

from .conftest import wait_until
from .test_schedule import ManualClock


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
