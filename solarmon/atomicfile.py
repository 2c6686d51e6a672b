"""The one atomic file writer: a reader sees the old file or the new one, never a part.

Used for every file solarmon replaces while others read it: the daemon's .prom files, the web
app's house/weather/battery.prom, and the private account, token and key files. A shared low-level
module (it imports no solarmon package), so the daemon, the MQTT adapter and the web app all use
the same code (prometheus/client_python's textfile rule: temp file in the same folder + rename).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PUBLIC_MODE = 0o644  # node_exporter's textfile collector runs as its own user and must read .prom files
PRIVATE_MODE = 0o600


def write_atomic(path: Path, data: str | bytes, mode: int = PUBLIC_MODE,
                 owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) with file mode ``mode``.

    The temp file lives in the same folder (rename is atomic only within one file system), is
    created 0600 (mkstemp), so a private file is never readable by others even for a moment, and
    is fsynced before the rename, so a power cut cannot leave an empty file behind the new name.
    ``owner`` (uid, gid), when given, is set on the temp file before the rename.
    A failure (disk full, a character that cannot be encoded) leaves the old file and no temp file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if mode != PRIVATE_MODE:
            os.chmod(tmp_name, mode)
        if owner is not None:
            os.chown(tmp_name, *owner)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
