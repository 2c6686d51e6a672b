"""hidraw writes: 8-byte zero-padded reports that the kernel delivers intact (PI30.md §2).

The kernel strips a leading 0x00 of a hidraw write as the report number. These tests model that
rule (``kernel_output_reports``) and prove that, for every command, the device receives exactly
the request bytes, zero-padded to whole reports — including commands whose CRC puts a 0x00 at
the start of the second report (PCVV24.2, PBDV27.5).
"""

from __future__ import annotations

import pytest

from solarmon.inverter.frame import encode_request
from solarmon.inverter.transport.hidraw import REPORT_BYTES, hid_write_buffers, kernel_output_reports

COMMANDS = [
    "QPIGS", "QMOD", "QPIWS", "QPIRI", "QFLAG", "QID", "QVFW", "QVFW2", "QPI", "QDI", "QBOOT", "QOPM",
    "QPIGS2", "QMCHGCR", "QMUCHGCR", "QET", "QEY2026", "QEM202611", "QED20261126", "QLD20261126",
    "POP02", "PCP03", "PGR01", "PBT02", "PBCV48.0", "PBDV54.0", "PSDV42.0", "PCVV56.4", "PBFT54.0",
    "F50", "MCHGC060", "MUCHGC030", "PEa", "PDb", "PF",
    # CRC byte 0x00 at offset 8: the case the report-ID prefix exists for.
    "PCVV24.2", "PBDV27.5", "PCVV45.3", "PBFT10.8",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_device_receives_the_request_intact(command: str) -> None:
    request = encode_request(command)
    reports = kernel_output_reports(hid_write_buffers(request))
    assert all(len(report) == REPORT_BYTES for report in reports)
    joined = b"".join(reports)
    assert joined == request.ljust(len(joined), b"\x00")
    assert len(joined) - len(request) < REPORT_BYTES


@pytest.mark.parametrize("command", COMMANDS)
def test_no_write_loses_a_data_byte(command: str) -> None:
    # A plain 8-byte write never starts with 0x00; a 9-byte one is exactly prefix + report.
    for buffer in hid_write_buffers(encode_request(command)):
        if len(buffer) == REPORT_BYTES:
            assert buffer[0] != 0x00
        else:
            assert len(buffer) == REPORT_BYTES + 1
            assert buffer[0] == 0x00


@pytest.mark.parametrize(("command", "prefixed"), [("PCVV24.2", 1), ("PBDV27.5", 1), ("PBCV48.0", 0)])
def test_prefix_only_where_needed(command: str, prefixed: int) -> None:
    buffers = hid_write_buffers(encode_request(command))
    assert sum(len(b) == REPORT_BYTES + 1 for b in buffers) == prefixed
    # The zero CRC byte really is at offset 8 for the prefixed ones.
    assert (encode_request(command)[8] == 0x00) == bool(prefixed)


def test_long_commands_use_several_reports() -> None:
    assert len(hid_write_buffers(encode_request("QED20261126"))) == 2
    assert len(hid_write_buffers(encode_request("QPIGS2"))) == 2
    assert len(hid_write_buffers(encode_request("QPIGS"))) == 1
