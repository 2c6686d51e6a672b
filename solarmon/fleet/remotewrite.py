"""A Prometheus remote-write encoder: series in, the body of `POST /api/v1/write` out.

The remote-write protocol (version 1) is a protobuf `WriteRequest` compressed with snappy's block
format. Both are small enough to write by hand, so the fleet tests and the fleet benchmark can feed
a real VictoriaMetrics the way a site's Prometheus agent does without a protobuf or snappy
package:

```
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries  { repeated Label labels = 1; repeated Sample samples = 2; }
message Label       { string name = 1; string value = 2; }
message Sample      { double value = 1; int64 timestamp = 2; }   // timestamp in ms
```

Snappy's block format is the uncompressed length as a varint followed by elements; an element may
be a literal, so a block of literals only is a valid (uncompressed) snappy block that every
decoder accepts. Labels are sorted by name, `__name__` included, as receivers expect.
Nothing here opens a socket: `post_write()` is a helper for tests and benchmarks over urllib.
"""

from __future__ import annotations

import struct
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "application/x-protobuf"
CONTENT_ENCODING = "snappy"
PROTOCOL_VERSION = "0.1.0"
# A literal element carries at most 2**32 bytes; shorter ones keep a decoder's buffers small.
MAX_LITERAL = 65536
_WIRE_VARINT, _WIRE_FIXED64, _WIRE_BYTES = 0, 1, 2


@dataclass
class Series:
    """One time series: its labels (with `__name__`) and samples as (timestamp in ms, value)."""

    labels: Mapping[str, str]
    samples: list[tuple[int, float]] = field(default_factory=list)


def varint(value: int) -> bytes:
    """An unsigned protobuf / snappy varint (negative int64 as its two's complement, 10 bytes)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return varint((number << 3) | wire)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _key(number, _WIRE_BYTES) + varint(len(payload)) + payload


def encode_label(name: str, value: str) -> bytes:
    """A `Label` message."""
    return _bytes_field(1, name.encode()) + _bytes_field(2, value.encode())


def encode_sample(timestamp_ms: int, value: float) -> bytes:
    """A `Sample` message (value as a little-endian double, timestamp as a varint int64)."""
    return _key(1, _WIRE_FIXED64) + struct.pack("<d", value) + _key(2, _WIRE_VARINT) + varint(timestamp_ms)


def encode_series(series: Series) -> bytes:
    """A `TimeSeries` message, labels sorted by name."""
    parts = [_bytes_field(1, encode_label(name, str(series.labels[name]))) for name in sorted(series.labels)]
    parts += [_bytes_field(2, encode_sample(int(ts), float(value))) for ts, value in series.samples]
    return b"".join(parts)


def encode_write_request(series: Iterable[Series]) -> bytes:
    """The protobuf `WriteRequest` of `series` (not compressed)."""
    return b"".join(_bytes_field(1, encode_series(s)) for s in series)


def snappy_block(data: bytes) -> bytes:
    """`data` in snappy's block format, as literals only (valid for every decoder, no smaller)."""
    out = bytearray(varint(len(data)))
    for start in range(0, len(data), MAX_LITERAL):
        chunk = data[start:start + MAX_LITERAL]
        size = len(chunk) - 1
        if size < 60:
            out.append(size << 2)
        elif size < 1 << 8:
            out += bytes((60 << 2, size))
        elif size < 1 << 16:
            out.append(61 << 2)
            out += size.to_bytes(2, "little")
        else:
            out.append(62 << 2)
            out += size.to_bytes(3, "little")
        out += chunk
    return bytes(out)


def write_body(series: Iterable[Series]) -> bytes:
    """The body of a remote-write POST: the WriteRequest, snappy-compressed."""
    return snappy_block(encode_write_request(series))


def write_headers() -> dict[str, str]:
    """The headers remote-write version 1 asks for."""
    return {"Content-Type": CONTENT_TYPE, "Content-Encoding": CONTENT_ENCODING,
            "X-Prometheus-Remote-Write-Version": PROTOCOL_VERSION}


def post_write(url: str, series: Sequence[Series], *, timeout_s: float = 10.0,
               batch_series: int = 2000) -> int:
    """POST `series` to a remote-write URL (e.g. http://host:8428/api/v1/write) in batches of
    `batch_series`; returns the number of samples sent. A refusal raises urllib's HTTPError."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    sent = 0
    for start in range(0, len(series), batch_series):
        batch = series[start:start + batch_series]
        request = urllib.request.Request(url, data=write_body(batch), headers=write_headers(),  # noqa: S310
                                         method="POST")
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only
            response.read()
        sent += sum(len(s.samples) for s in batch)
    return sent
