"""Replay the daemon's .prom journal into the history on start, so a restart leaves no gap.

The daemon appends every .prom text it writes to ``<file>.prom.journal`` (solarmon/promjournal.py,
docs/INTERFACES.md "The .prom journal"). Before the reader starts, this service reads each journal,
parses every record newer than what the history already holds for its source with the reader's
own parser (``parse_prom_text``: the same values, units and times a live read would give) and
submits them to the history, oldest first. Only the history is fed: the live view is the reader's,
and readings from minutes ago are not live. Replaying twice adds nothing (only readings newer than
the history's newest are submitted, and a raw row is keyed by its second anyway).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from solarmon.promjournal import SUFFIX, read_journal
from solarmon.web.promparse import PromFileError, parse_prom_text
from solarmon.web.state import FUTURE_TOLERANCE_S

LOG = logging.getLogger(__name__)
FLUSH_TIMEOUT_S = 60.0


class JournalReplay:
    """A start-up step (a service with nothing to stop): journal records -> history.submit."""

    def __init__(self, prom_dir: Path, history: Any) -> None:
        self.prom_dir = Path(prom_dir)
        self.history = history
        self.replayed = 0  # readings submitted by the last start()
        self.skipped = 0  # records already in the history, or unusable

    def start(self) -> None:
        """Replay every journal in the folder (errors per journal are logged, never fatal)."""
        self.replayed = self.skipped = 0
        for journal in sorted(self.prom_dir.glob(f"*.prom{SUFFIX}")):
            try:
                self._replay(journal)
            except OSError as exc:
                LOG.warning("cannot replay %s: %s", journal, exc)
        if self.replayed:
            self.history.flush(FLUSH_TIMEOUT_S)
            LOG.info("replayed %d readings from the daemon's journal into the history", self.replayed)

    def stop(self) -> None:
        """Nothing runs after start()."""

    def _replay(self, journal: Path) -> None:
        filename = journal.name[: -len(SUFFIX)]
        records = read_journal(journal)
        if not records:
            return
        latest: dict[str, float] = {}

        def newest_held(source: str) -> float:
            if source not in latest:
                held = self.history.latest_ts(source)
                # A raw row is keyed by its whole second: a reading within that second is held.
                latest[source] = float("-inf") if held is None else held + 1
            return latest[source]

        # A record is written after its readings were made: one written before the history's
        # newest reading cannot hold a newer one, so it is not even parsed.
        try:
            sources = [u.source for u in parse_prom_text(records[-1].text, filename=filename,
                                                         mtime=records[-1].written)]
        except PromFileError:
            sources = []
        floor = min((newest_held(s) for s in sources), default=float("-inf"))
        for record in records:
            if record.written < floor:
                self.skipped += 1
                continue
            try:
                updates = parse_prom_text(record.text, filename=filename, mtime=record.written)
            except PromFileError as exc:
                LOG.debug("journal record of %s skipped: %s", filename, exc)
                self.skipped += 1
                continue
            for update in updates:
                if update.ts < newest_held(update.source):
                    continue
                if update.ts > time.time() + FUTURE_TOLERANCE_S:  # stamped by a clock ahead
                    self.skipped += 1  # (state.py): a row in the future is never stored
                    continue
                self.history.submit(update)
                latest[update.source] = update.ts + 1e-9  # the same reading journaled twice: once
                self.replayed += 1
