"""A cache of finished chart fragments: the JSON text of whole blocks of buckets of one series.

A chart's range is cut at block boundaries (BLOCK_BUCKETS buckets, aligned to multiples of the
block's length): the partial blocks at both ends are queried every time, each whole block in
between is queried once and then served from here as text (its part of the t / avg / min / max
arrays). A refreshed 24-hour chart then formats only its newest and oldest blocks instead of
720 buckets per metric (issue 14.18; formatting numbers is most of a query's time).

Correctness rests on invalidation by the only writer, in the same process: after every committed
batch and every rollup the writer reports each touched series and the oldest time it touched,
and every block of that series ending after it is dropped. A generation per series stops a query
that read before a write from storing what it read after the invalidation. Retention clears it.

A first query reads its range in one statement per metric and leaves that text here as a *run*
(`put_run`); it is cut into blocks only when a later query asks for one of them, so the first
query does not pay for cutting blocks it may never need again.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping

BLOCK_BUCKETS = 64
ROLLUP_REACH_S = 3600  # the coarsest rollup: a sample at t changes rows from floor(t, 1 h) on
MAX_BLOCKS = 4096  # ~64 buckets x 4 arrays of ~8 characters: a few MB at most
MAX_RUNS = 256  # uncut runs (one per series, tier and bucket width at most)

# (series, tier, step, block start) -> (t, avg, min, max) fragments without brackets
Key = tuple[int, str, int, int]
Fragments = tuple[str, str, str, str]
# (series, tier, step) -> (first block start, end of the last whole block, block length, the four
# arrays of the read starting at or before `first`, generation when it was read)
RunKey = tuple[int, str, int]
Run = tuple[int, int, int, Fragments, tuple[int, int]]


class BlockCache:
    """Thread-safe LRU of block fragments with per-series invalidation."""

    def __init__(self, max_blocks: int = MAX_BLOCKS) -> None:
        self.max_blocks = max_blocks
        self._blocks: OrderedDict[Key, Fragments] = OrderedDict()
        self._runs: OrderedDict[RunKey, Run] = OrderedDict()
        self._generation: dict[int, int] = {}
        self._epoch = 0  # bumped by clear()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def generation(self, series: int) -> tuple[int, int]:
        """The series' generation now (pass it back to :meth:`put`)."""
        with self._lock:
            return self._epoch, self._generation.get(series, 0)

    def get(self, key: Key) -> Fragments | None:
        """The block's fragments, or None (a run holding the block is cut into blocks first)."""
        with self._lock:
            found = self._blocks.get(key)
            if found is None:
                run = self._runs.get(key[:3])
                if run is not None and run[0] <= key[3] < run[1]:
                    del self._runs[key[:3]]
                    first, last, span, arrays, generation = run
                    for start, fragments in cut_blocks(arrays, first, last, span):
                        self._store((*key[:3], start), fragments, generation)
                    found = self._blocks.get(key)
            if found is None:
                self.misses += 1
                return None
            self._blocks.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Key, fragments: Fragments, generation: tuple[int, int]) -> None:
        """Store a block read while the series was at ``generation`` (dropped if it changed since)."""
        with self._lock:
            self._store(key, fragments, generation)

    def put_run(self, key: RunKey, first: int, last: int, span: int, arrays: Fragments,
                generation: tuple[int, int]) -> None:
        """Keep a read's four arrays, whose whole blocks [first, last) are cut out on demand."""
        with self._lock:
            if (self._epoch, self._generation.get(key[0], 0)) != generation:
                return
            self._runs[key] = (first, last, span, arrays, generation)
            self._runs.move_to_end(key)
            while len(self._runs) > MAX_RUNS:
                self._runs.popitem(last=False)

    def _store(self, key: Key, fragments: Fragments, generation: tuple[int, int]) -> None:
        """put() with the lock held."""
        if (self._epoch, self._generation.get(key[0], 0)) != generation:
            return
        self._blocks[key] = fragments
        self._blocks.move_to_end(key)
        while len(self._blocks) > self.max_blocks:
            self._blocks.popitem(last=False)

    def invalidate(self, touched: Mapping[int, tuple[int, int]]) -> None:
        """Drop every block of each touched series that ends after the oldest time touched (less an
        hour: a raw sample changes the rollup rows of its whole hour)."""
        if not touched:
            return
        with self._lock:
            for series in touched:
                self._generation[series] = self._generation.get(series, 0) + 1
            stale = [key for key in self._blocks if key[0] in touched
                     and key[3] + key[2] * BLOCK_BUCKETS > touched[key[0]][0] - ROLLUP_REACH_S]
            for key in stale:
                del self._blocks[key]
            for run_key in [k for k in self._runs if k[0] in touched]:
                del self._runs[run_key]

    def clear(self) -> None:
        """Drop everything (after retention deleted rows)."""
        with self._lock:
            self._epoch += 1
            self._blocks.clear()
            self._runs.clear()


def cut_blocks(arrays: Fragments, first: int, last: int, span: int) -> Iterator[tuple[int, Fragments]]:
    """(block start, its four arrays) for each whole block [start, start + span) in [first, last),
    cut out of the arrays' text (each element is a number without commas: integer times and
    printf'd reals; the time array is sorted)."""
    items = [[], [], [], []] if len(arrays[0]) <= 2 else [a[1:-1].split(",") for a in arrays]
    times = items[0]  # parsed only where bisect probes them
    for start in range(first, last, span):
        i = bisect.bisect_left(times, start, key=int)
        j = bisect.bisect_left(times, start + span, i, key=int)
        yield start, tuple("[" + ",".join(col[i:j]) + "]" for col in items)  # type: ignore[misc]
