"""Fixtures of the MQTT tests: a real Daemon whose inverter link answers PI30.md's reference replies."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from solarmon.daemon.config import load_config
from solarmon.daemon.service import Daemon
from solarmon.inverter.codec import decode_raw
from solarmon.inverter.frame import encode_reply
from solarmon.inverter.readings import Reading

# PI30.md's reference replies; settings are ACKed (the boundary: a link that answers like the unit).
REPLIES = {
    "QPIGS": "000.0 00.0 230.0 49.9 0161 0119 003 460 57.50 012 100 0069 0014 103.8 57.45 00000 00110110 "
    "00 00 00856 010",
    "QPIRI": "230.0 21.7 230.0 50.0 21.7 5000 4000 48.0 46.0 42.0 56.4 54.0 0 10 010 1 0 0 6 01 0 0 54.0 0 1",
    "QMOD": "B",
    "QPIWS": "00000000000100000000000000000000",
    "QFLAG": "EakxyDbjuvz",
}


class ReferenceLink:
    """Answers queries with the reference replies and ACKs settings, through the real codec."""

    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    def query(self, command: str) -> Reading:
        # A command without a reference reply is NAKed, as a unit does with one it does not know.
        return decode_raw(command, encode_reply(REPLIES.get(command, "NAK")))

    def send(self, command: str) -> Reading:
        self.sent.append(command)
        return decode_raw(command, encode_reply("ACK"))

    def close(self) -> None:
        pass


def reading(command: str) -> Reading:
    return decode_raw(command, encode_reply(REPLIES[command]))


@pytest.fixture
def sent() -> list[str]:
    return []


@pytest.fixture
def daemon_outputs() -> str:
    """The section's `outputs` (override in a module)."""
    return "prom_file"


@pytest.fixture
def daemon_setup_extra() -> str:
    """Extra [SETUP] lines (override in a module)."""
    return ""


@pytest.fixture
def daemon(tmp_path: Path, sent: list[str], daemon_outputs: str, daemon_setup_extra: str) -> Iterator[Daemon]:
    """A started Daemon (pause 1 h: one cycle at start) over ReferenceLink."""
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text(
        textwrap.dedent(f"""
        [SETUP]
        pause = 3600
        control_socket =
        audit_log = {tmp_path}/audit.jsonl
        @EXTRA@

        [inverter]
        port = /dev/null
        porttype = serial
        command = QPIGS
        allowed_settings = PGR, MCHGC
        outputs = {daemon_outputs}
        prom_output_dir = {tmp_path}/prometheus
        """).replace("@EXTRA@", daemon_setup_extra)
    )
    d = Daemon(load_config(conf), lambda _device: ReferenceLink(sent))
    d.start()
    yield d
    d.stop()
