"""The .prom journal: the last hour (by default) of the exact .prom texts the daemon wrote.

The web app replays it on start into its history (solarmon/web/journal.py), so readings made
while the web app was down or restarting are not a gap in the charts. The journal holds the file's
text, not decoded values, so it stays valid whatever the reader does with a file.

Format (docs/INTERFACES.md, "The .prom journal"): beside ``mpp-solar-<section>.prom`` the segments
``mpp-solar-<section>.prom.journal`` (current) and ``....journal.1`` (previous). A segment is a
sequence of records; each record is one header line ``#J <unix time> <byte length>\\n`` followed by
exactly that many bytes of UTF-8 .prom text. Records are appended with one ``write()`` on an
``O_APPEND`` descriptor; a record cut short (a crash mid-write) fails its length check and ends
the segment for readers, never yielding a partial file.

Bounds: when the current segment's first record is older than half of ``max_age_s``, or it
outgrows half of ``max_bytes``, it is renamed over ``.1`` (atomic) and a new one begun; so the pair
holds between half and all of ``max_age_s`` of readings and never more than ~``max_bytes``.

fsync policy: records are not fsynced (the .prom file itself is, every cycle; fsyncing the journal
too would double the writes on an SD card). A power cut may lose the last few seconds of journal,
which the OS had not written yet; a torn tail is detected by the framing. A daemon crash loses
nothing: the data is in the page cache.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".journal"
OLD_SUFFIX = ".journal.1"
HEADER_RE = re.compile(rb"#J (\d+(?:\.\d+)?) (\d+)\n")
MAX_HEADER_BYTES = 64
MAX_RECORD_BYTES = 4 * 1024 * 1024  # a .prom file is a few kB; anything larger is not ours


def journal_path(prom_file: Path) -> Path:
    """The current segment of ``prom_file``'s journal."""
    return prom_file.with_name(prom_file.name + SUFFIX)


@dataclass(frozen=True)
class Record:
    """One journaled file: when it was written (Unix time) and its exact text."""

    written: float
    text: str


def frame(written: float, text: str) -> bytes:
    """One record's bytes: the header line and the text."""
    body = text.encode("utf-8")
    return b"#J %.3f %d\n" % (written, len(body)) + body


def read_segment(path: Path) -> Iterator[Record]:
    """Every whole record of one segment, oldest first; stops at the first torn or foreign one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    pos = 0
    while pos < len(data):
        match = HEADER_RE.match(data, pos, min(len(data), pos + MAX_HEADER_BYTES))
        if match is None:
            return
        length = int(match.group(2))
        start = match.end()
        if length > MAX_RECORD_BYTES or start + length > len(data):
            return  # cut short by a crash mid-append: the rest cannot be trusted
        try:
            text = data[start : start + length].decode("utf-8")
        except UnicodeDecodeError:
            return
        yield Record(float(match.group(1)), text)
        pos = start + length


def read_journal(prom_file_or_journal: Path) -> list[Record]:
    """The records of both segments of a journal (``....prom`` or ``....prom.journal``), oldest first."""
    current = prom_file_or_journal
    if not current.name.endswith(SUFFIX):
        current = journal_path(current)
    old = current.with_name(current.name[: -len(SUFFIX)] + OLD_SUFFIX)
    return [*read_segment(old), *read_segment(current)]


class PromJournal:
    """Appends each written .prom text to the journal of one file, within age and size bounds."""

    def __init__(self, prom_file: Path, *, max_age_s: float, max_bytes: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = journal_path(prom_file)
        self.old_path = self.path.with_name(prom_file.name + OLD_SUFFIX)
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.clock = clock
        self._fd: int | None = None
        self._size = 0
        self._first: float | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._size = os.fstat(self._fd).st_size
            first = next(read_segment(self.path), None) if self._size else None
            self._first = first.written if first is not None else None
        return self._fd

    def _rotate(self) -> None:
        self.close()
        os.replace(self.path, self.old_path)

    def append(self, text: str, written: float | None = None) -> None:
        """Append one record (raises OSError, e.g. a full disk; the caller logs on the transition)."""
        now = self.clock() if written is None else written
        record = frame(now, text)
        self._open()
        too_old = self._first is not None and now - self._first > self.max_age_s / 2
        if self._size and (too_old or self._size + len(record) > self.max_bytes / 2):
            self._rotate()
        fd = self._open()
        try:
            written_bytes = os.write(fd, record)
            if written_bytes != len(record):
                raise OSError(f"short write to {self.path} ({written_bytes} of {len(record)} bytes)")
        except OSError:
            # A full disk mid-record: cut the torn record off, so the records appended once there
            # is space again are not hidden behind it.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._size)
            raise
        self._size += written_bytes
        if self._first is None:
            self._first = now

    def close(self) -> None:
        """Close the descriptor (the next append reopens)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
