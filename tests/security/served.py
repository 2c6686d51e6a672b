"""The web app as it runs in production: `web_interface.py` in its own process, on a free port.

Server-level defences (waitress's limits, the per-address connection cap, timeouts) live in how
`web_interface.py` builds its server, so the tests that probe them start that very program
rather than a test server of their own. `ServedApp` writes a web.yaml under a temporary folder,
starts the program with `--port 0`, reads the port it prints, and stops it with SIGTERM.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


def web_yaml(root: Path, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """A web.yaml for a private folder: data, history, socket and security files under `root`."""
    data: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "threads": 16, "max_streams": 4, "log_level": "WARNING"},
        "data": {"prom_dir": str(root / "prometheus"), "poll_interval_s": 0.5},
        "history": {"db_path": str(root / "var" / "history.db"), "timezone": "UTC"},
        "daemon": {"control_socket": str(root / "run" / "control.sock"), "timeout_s": 1},
        "alerts": {"tick_s": 0.2},
    }
    for section, keys in (overrides or {}).items():
        data.setdefault(section, {}).update(keys)
    return data


class ServedApp:
    """`web_interface.py -c <root>/web.yaml --port 0` in a child process."""

    def __init__(self, root: Path, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Write the web.yaml; nothing runs until `start()`."""
        self.root = root
        (root / "prometheus").mkdir(parents=True, exist_ok=True)
        (root / "var").mkdir(parents=True, exist_ok=True)
        self.config_path = root / "web.yaml"
        self.config_path.write_text(yaml.safe_dump(web_yaml(root, overrides)), encoding="utf-8")
        self.log_path = root / "web.log"
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def users_file(self) -> Path:
        """The accounts file this app reads (security.users_file's default, under root)."""
        return self.root / "var" / "users.json"

    def start(self) -> ServedApp:
        """Start the program and wait for the line that names its port."""
        log = self.log_path.open("w", encoding="utf-8")
        self._process = subprocess.Popen(
            [sys.executable, str(REPO / "web_interface.py"), "-c", str(self.config_path), "--port", "0"],
            cwd=self.root, stdout=subprocess.PIPE, stderr=log, text=True)
        lines: queue.Queue[str] = queue.Queue()
        assert self._process.stdout is not None
        stdout = self._process.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if self._process.poll() is not None:
                    break
                continue
            if line.startswith("listening on http://"):
                self.port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
                return self
        self.stop()
        raise RuntimeError(f"web_interface.py did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM, then wait (kill after 15 s)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None

    def log(self) -> str:
        """What the program logged so far."""
        return self.log_path.read_text(encoding="utf-8")
