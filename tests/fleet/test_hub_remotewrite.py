"""Our remote-write encoder (solarmon/fleet/remotewrite.py) against the real decoder: what
VictoriaMetrics reads back is exactly what was written — labels, float values, millisecond
timestamps — for bodies of every snappy literal size (tag, 1-, 2-byte lengths, several chunks).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from solarmon.fleet.remotewrite import MAX_LITERAL, Series, encode_write_request, snappy_block, varint
from tests.fleet.hubstore import VictoriaMetrics
from tests.tools import require_tool

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    binary = require_tool("victoria-metrics", "apt-get install victoria-metrics (scripts/setup.sh does)")
    store = VictoriaMetrics(binary, tmp_path_factory.mktemp("rw") / "data").start()
    yield store
    store.stop()


def export(vm: VictoriaMetrics, match: str) -> list[dict]:
    """The raw samples of `match` (VictoriaMetrics' JSON-lines export)."""
    url = f"{vm.url}/api/v1/export?" + urllib.parse.urlencode({"match[]": match})
    with urllib.request.urlopen(url, timeout=10) as response:
        return [json.loads(line) for line in response.read().splitlines() if line.strip()]


def test_the_snappy_block_is_a_length_and_literals() -> None:
    assert snappy_block(b"hello") == b"\x05\x10hello"
    assert snappy_block(b"x" * 60)[:2] == b"\x3c\xec"  # length 60: the length-1 (59) in the tag
    assert snappy_block(b"x" * 61)[:3] == b"\x3d\xf0\x3c"  # 61: tag 60, one length byte (60)
    assert snappy_block(b"x" * 300)[:5] == b"\xac\x02\xf4\x2b\x01"  # tag 61: two length bytes
    assert varint(300) == b"\xac\x02"
    assert varint(-1) == b"\xff" * 9 + b"\x01"  # a negative int64 is its two's complement


@pytest.mark.parametrize("label_chars", [1, 59, 61, 300, 5000])
def test_what_the_store_reads_back_is_what_was_written(vm: VictoriaMetrics, label_chars: int) -> None:
    now_ms = int(time.time() * 1000)
    # Older than 30 s: VictoriaMetrics leaves the last 30 s out of exports (-search.latencyOffset).
    samples = [(now_ms - 120000, 0.1), (now_ms - 90000, -2.25), (now_ms - 45001, 123456.789)]
    name = f"rw_roundtrip_{label_chars}"
    series = [Series({"__name__": name, "site": "farm", "long": "v" * label_chars}, samples)]
    assert len(encode_write_request(series)) > label_chars
    vm.write(series)
    got = export(vm, name)
    assert len(got) == 1
    assert got[0]["metric"] == {"__name__": name, "site": "farm", "long": "v" * label_chars}
    assert got[0]["timestamps"] == [ts for ts, _v in samples]
    assert got[0]["values"] == [v for _ts, v in samples]


def test_a_body_of_many_literal_chunks(vm: VictoriaMetrics) -> None:
    now_ms = int(time.time() * 1000)
    series = [Series({"__name__": "rw_many", "site": f"site-{i:04d}"}, [(now_ms - 1000, float(i))])
              for i in range(3000)]
    assert len(encode_write_request(series)) > 2 * MAX_LITERAL
    vm.write(series)
    got = {s["metric"]["site"]: s["values"] for s in export(vm, "rw_many")}
    assert len(got) == 3000
    assert got["site-2999"] == [2999.0]
