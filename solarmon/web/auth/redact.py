"""What /api/status may show to whom: file paths only to operators and admins (issue 14, 14h).

The status answer names files (the daemon's socket, the history database) and its errors may
quote them. Anyone may read it when `public_read` is on, and a map of the machine's folders is of
use to an attacker only, so for anyone below operator the path keys are left out and paths
inside texts replaced. Applied after the view (`init_app` installs it), so the status view and
the parts' health probes stay free to report whatever helps an operator.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, request

from solarmon.web.auth.roles import current_identity

REDACTED_ENDPOINTS = frozenset({"api.status"})
PATH_KEYS = frozenset({"path", "paths", "socket", "socket_path", "db_path", "file", "prom_dir", "folder",
                       "dir", "directory", "config", "log", "audit_log"})
# An absolute path of two or more parts (/var/lib/x, /run/mpp-solar/control.sock), not a URL's.
PATH_RE = re.compile(r"(?<![\w:/.~-])/[^\s/'\":]+(?:/[^\s/'\",;:)]*)+")
HIDDEN = "[path hidden]"


def redact(value: Any) -> Any:
    """`value` without path keys and with paths in strings replaced (a new object)."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k not in PATH_KEYS}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return PATH_RE.sub(HIDDEN, value)
    return value


def redact_status(response: Response) -> Response:
    """after_request: strip paths from /api/status unless the caller is an operator or admin."""
    if (request.endpoint not in REDACTED_ENDPOINTS or response.mimetype != "application/json"
            or current_identity().has_role("operator")):
        return response
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return response
    response.set_data(json.dumps(redact(body), ensure_ascii=False))
    return response
