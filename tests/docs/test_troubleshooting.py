"""docs/TROUBLESHOOTING.md covers the failure modes the issue names and every error kind the code
reports: the inverter errors, the transport's frame kinds, the reader's bad-file kinds, MQTT's
refusals and rejected-payload reasons."""

from __future__ import annotations

import inspect
import re

import pytest

from solarmon.inverter import errors
from solarmon.mqtt import house
from solarmon.mqtt.client import CONNACK_REASONS
from solarmon.mqtt.payload import REJECT_REASONS
from solarmon.web import promparse, promreader
from tests.docs.conftest import REPO

DOC = (REPO / "docs" / "TROUBLESHOOTING.md").read_text(encoding="utf-8")
FLAT = " ".join(DOC.split())  # quoted messages may wrap in the Markdown source
HEADINGS = [line.lstrip("#").strip().lower() for line in DOC.splitlines() if line.startswith("#")]
# Kinds a user never sees as a failure: the base class, and a setting refused before sending
# (the daemon answers `invalid` with the reason, covered under "The web app").
NOT_FAILURES = frozenset({"error", "rejected"})


def in_code(word: str) -> bool:
    """The word appears inside an inline code span (`crc`, `kind="crc"`, `device_gone: ...`)."""
    return re.search(rf"`[^`]*\b{re.escape(word)}\b[^`]*`", FLAT) is not None


def inverter_kinds() -> set[str]:
    """The `kind` of every InverterError subclass."""
    return {cls.kind for _, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, errors.InverterError)} - NOT_FAILURES


def reader_kinds() -> set[str]:
    """The kinds the .prom reader gives bad files (the literals it raises PromFileError with)."""
    source = inspect.getsource(promreader) + inspect.getsource(promparse)
    return set(re.findall(r'PromFileError\(\s*"([a-z_]+)"', source)) | set(
        re.findall(r'record_error\([^,]+,\s*"([a-z_]+)"', source))


@pytest.mark.parametrize("topic", ["no /dev/hidraw", "permission denied", "naks", "crc errors", "stale data",
                                   "broker refused", "open-meteo limits"])
def test_the_issues_failure_modes_have_a_section(topic: str) -> None:
    assert any(topic in heading for heading in HEADINGS), f"no TROUBLESHOOTING section about {topic}"


def test_each_failure_section_has_symptom_check_and_fix() -> None:
    for block in re.split(r"^### ", DOC, flags=re.MULTILINE)[1:]:
        title = block.splitlines()[0]
        for part in ("**Check**", "**Fix**"):
            assert part in block, f"TROUBLESHOOTING '{title}' lacks {part}"


@pytest.mark.parametrize("kind", sorted(inverter_kinds() | {"truncated", "echo", "garbage", "crc"}))
def test_every_device_error_kind_is_explained(kind: str) -> None:
    assert in_code(kind), f"TROUBLESHOOTING does not mention the error kind {kind}"


def test_every_bad_file_kind_is_explained() -> None:
    kinds = reader_kinds()
    assert {"empty", "truncated", "garbage", "no_samples"} <= kinds, kinds
    missing = sorted(kind for kind in kinds if not in_code(kind))
    assert not missing, f"TROUBLESHOOTING lacks the .prom reader's kinds {missing}"


def subscriber_reasons() -> set[str]:
    """Reasons the house subscriber counts itself (beyond the payload parser's)."""
    return set(re.findall(r'\["([a-z_]+)"\] \+= 1', inspect.getsource(house)))


@pytest.mark.parametrize("reason", sorted(set(REJECT_REASONS) | subscriber_reasons()))
def test_every_rejected_payload_reason_is_explained(reason: str) -> None:
    assert in_code(reason), f"TROUBLESHOOTING does not explain the rejected payload reason {reason}"


@pytest.mark.parametrize("code", [4, 5])
def test_the_brokers_login_refusals_are_quoted_as_logged(code: int) -> None:
    assert CONNACK_REASONS[code] in FLAT
