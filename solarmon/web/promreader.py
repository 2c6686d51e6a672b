"""Reader of the Prometheus text files in `prometheus/`: watches the folder, parses what changed
(`solarmon.web.promparse`) and hands each reading to the live state and, with the derived values
the live state added, to the history.

The reader is told of a change by inotify (`dirwatch.py`) and reads the file at once; it also scans
every `poll_interval_s` (the only way where inotify is unavailable, and a safety net where it is).

Devices are keyed by the `inverter` label; file kinds and naming rules are in promparse and in
docs/INTERFACES.md, "Web data path".
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from solarmon.web.dirwatch import DirWatch
from solarmon.web.promparse import PromFileError, parse_prom_text, source_for_filename
from solarmon.web.state import LiveState, SourceUpdate

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.25
MAX_FILE_BYTES = 1_048_576
# A file that changed under a read is read again at once, this many times in all (then at the next
# poll): an atomic writer that replaced it twice meanwhile can leave it on its old inode number.
READ_ATTEMPTS = 3


@dataclass(frozen=True)
class _FileKey:
    mtime_ns: int
    size: int
    inode: int


class PromReader:
    """Watches a folder of .prom files and delivers each changed file's readings.

    Built cold: `start()` starts the watching thread, `stop()` ends it. `scan()` can also be called
    from any thread (e.g. /api/refresh); scans are serialised by a lock.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        live: LiveState,
        *,
        sinks: Iterable[Callable[[SourceUpdate], None]] = (),
        poll_interval_s: float = POLL_INTERVAL_S,
        max_file_bytes: int = MAX_FILE_BYTES,
        use_inotify: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self._live = live
        self._sinks = list(sinks)
        self._poll_interval_s = poll_interval_s
        self._max_file_bytes = max_file_bytes
        self._seen: dict[str, _FileKey] = {}
        self._errors: collections.Counter[str] = collections.Counter()
        self._scan_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reads = 0
        self._ignored: set[str] = set()
        self._use_inotify = use_inotify
        self._watch: DirWatch | None = None
        self.wakeups = 0  # scans started by an inotify event (not by the poll timer)

    def ignore_files(self, *names: str) -> None:
        """Never read these file names (house.prom / weather.prom when MQTT feeds the state directly)."""
        with self._scan_lock:
            self._ignored.update(names)

    def start(self) -> None:
        """Start the polling thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="prom-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the watching thread and wait for it."""
        self._stop.set()
        watch = self._watch
        if watch is not None:
            watch.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def errors(self) -> dict[str, int]:
        """Return the count of ignored files per error kind."""
        with self._scan_lock:
            return dict(self._errors)

    @property
    def running(self) -> bool:
        """True while the polling thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def reads(self) -> int:
        """How many files were read and parsed (for tests of "no re-read when unchanged")."""
        return self._reads

    def scan(self, *, force: bool = False) -> int:
        """Read every new or changed file now (all of them with `force`); return how many."""
        with self._scan_lock:
            try:
                entries = [e for e in os.scandir(self.directory)
                           if e.name.endswith(".prom") and e.name not in self._ignored]
            except OSError as exc:
                self._count_error("folder", str(self.directory), f"cannot list: {exc}")
                return 0
            present = set()
            count = 0
            for entry in sorted(entries, key=lambda e: e.name):
                present.add(entry.name)
                try:
                    st = entry.stat()
                except OSError:
                    continue  # removed between listing and stat: nothing to read
                key = _FileKey(st.st_mtime_ns, st.st_size, st.st_ino)
                if not force and self._seen.get(entry.name) == key:
                    continue
                self._seen[entry.name] = key
                count += 1
                self._read_changing_file(Path(entry.path), key)
            for gone in set(self._seen) - present:
                del self._seen[gone]
            return count

    def refresh(self) -> int:
        """Re-read every file now, changed or not (GET /api/refresh); return how many."""
        return self.scan(force=True)

    @property
    def watching(self) -> bool:
        """True while inotify tells the reader of changes (False: it only polls)."""
        return self._watch is not None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._watch is None and self._use_inotify:
                    # opened before the scan, so a write during the scan is not missed
                    self._watch = DirWatch.open(self.directory)
                try:
                    self.scan()
                except Exception:  # the reader must outlive any surprise; it is counted and logged
                    log.exception("prom reader scan failed")
                    self._errors["internal"] += 1
                self._wait()
        finally:
            if self._watch is not None:
                self._watch.close()
                self._watch = None

    def _wait(self) -> None:
        """Until a .prom file changes (inotify) or the poll interval passes."""
        watch = self._watch
        if watch is None:
            self._stop.wait(self._poll_interval_s)
            return
        if watch.wait(self._poll_interval_s):
            self.wakeups += 1
        if watch.broken:  # the folder was removed or replaced: watch the new one next time
            watch.close()
            self._watch = None

    def _read_changing_file(self, path: Path, listed: _FileKey) -> None:
        """Read one file; while it changed under the read, stat and read it again (READ_ATTEMPTS)."""
        for _ in range(READ_ATTEMPTS):
            if self._read_file(path, listed):
                return
            try:
                st = path.stat()
            except OSError:
                return  # removed meanwhile: the next scan forgets it
            listed = _FileKey(st.st_mtime_ns, st.st_size, st.st_ino)

    def _read_file(self, path: Path, listed: _FileKey) -> bool:
        """Read and apply one file; `listed` is its stat at the listing. False only when it changed
        under the read (counted `changing`, forgotten so the next poll reads it again).

        The file judged is the one opened: a writer's atomic rename between the listing and the
        open replaced it by a whole newer version, which is read (dropping it would leave the older
        values live). Refused: a size other than the bytes read, or the listed inode with another
        size or mtime (rewritten in place since the listing: the read may hold half of it)."""
        self._reads += 1
        source = source_for_filename(path.name)
        if listed.size > self._max_file_bytes:
            self._count_error("too_large", source,
                              f"{path.name}: {listed.size} bytes > {self._max_file_bytes}")
            return True
        try:
            with path.open("rb") as fh:
                raw = fh.read(self._max_file_bytes + 1)
                st = os.fstat(fh.fileno())  # the file read, not the one listed
        except OSError as exc:
            self._count_error("unreadable", source, f"{path.name}: {exc}")
            return True
        if len(raw) > self._max_file_bytes:  # grew after the stat
            self._count_error("too_large", source, f"{path.name}: over {self._max_file_bytes} bytes")
            return True
        read = _FileKey(st.st_mtime_ns, st.st_size, st.st_ino)
        if len(raw) != read.size or (read.inode == listed.inode and read != listed):
            # Forgotten, so the next poll reads it again even if the writer's final version ends
            # up with the same size and mtime tick.
            self._seen.pop(path.name, None)
            self._errors["changing"] += 1
            return False
        self._seen[path.name] = read
        try:
            text = raw.decode("utf-8")
            updates = parse_prom_text(text, filename=path.name, mtime=st.st_mtime)
        except UnicodeDecodeError as exc:
            self._count_error("garbage", source, f"{path.name}: not UTF-8 ({exc.reason})")
            return True
        except PromFileError as exc:
            self._count_error(exc.kind, source, str(exc))
            return True
        for update in updates:
            update = self._live.apply(update)  # now with its derived values
            for sink in self._sinks:
                try:
                    sink(update)
                except Exception:  # a failing sink (history) must not stop the live view
                    log.exception("sink failed for %s", update.source)
                    self._errors["sink"] += 1
        return True

    def _count_error(self, kind: str, source: str, message: str) -> None:
        self._errors[kind] += 1
        log.warning("ignored .prom file (%s): %s", kind, message)
        self._live.record_error(source, kind, message)

