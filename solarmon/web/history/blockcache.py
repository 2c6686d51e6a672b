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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

BLOCK_BUCKETS = 64
ROLLUP_REACH_S = 3600  # the coarsest rollup: a sample at t changes rows from floor(t, 1 h) on
MAX_BLOCKS = 4096  # ~64 buckets x 4 arrays of ~8 characters: a few MB at most

# (series, tier, step, block start) -> (t, avg, min, max) fragments without brackets
Key = tuple[int, str, int, int]
Fragments = tuple[str, str, str, str]


class BlockCache:
    """Thread-safe LRU of block fragments with per-series invalidation."""

    def __init__(self, max_blocks: int = MAX_BLOCKS) -> None:
        self.max_blocks = max_blocks
        self._blocks: OrderedDict[Key, Fragments] = OrderedDict()
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
        """The block's fragments, or None."""
        with self._lock:
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

    def clear(self) -> None:
        """Drop everything (after retention deleted rows)."""
        with self._lock:
            self._epoch += 1
            self._blocks.clear()
