"""Logging: to ``log_file`` (reopened after logrotate moves it) or to stderr, which is the journal
under systemd (then without our own timestamps: the journal has its own).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: Path | None, level: int = logging.INFO,
                  logger: logging.Logger | None = None) -> None:
    """Replace ``logger``'s (default: the root logger's) handlers with one for ``log_file`` (or stderr).

    WatchedFileHandler notices a rotated-away file and opens the new one, so logrotate needs no
    copytruncate and no signal to the daemon. Raises OSError when the file cannot be opened.
    """
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
    else:
        handler = logging.StreamHandler()
        under_journal = bool(os.environ.get("JOURNAL_STREAM"))
        handler.setFormatter(logging.Formatter(JOURNAL_FORMAT if under_journal else FILE_FORMAT))
    root = logger or logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
