"""The demo's live feeds: house sensors publishing over MQTT, the BMS's current, a scripted outage.

One thread (`Feeds`) asks the simulator for its state over the control socket every few seconds,
publishes the rooms on `house/#` (as `house-sensor`) from the same `World` curves the generated
history used, holds the simulated JK BMS's current at the inverter's battery current (its control
socket), so the BMS counts the charge of the same battery the inverter charges, and plays the
outage script: the grid fails a minute and a half after the start for four minutes, then every
half hour, so the `grid_lost` alert fires and clears while someone watches.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from solarmon.demo.world import Reading, World
from solarmon.mqtt.client import MqttConnection, MqttSettings

LOG = logging.getLogger(__name__)
SNAPSHOT_EVERY_S = 5.0
HOUSE_EVERY_S = 30.0
OUTAGE_FIRST_S = 90.0
OUTAGE_LENGTH_S = 240.0
OUTAGE_EVERY_S = 1800.0
CONTROL_TIMEOUT_S = 5.0


def control(path: Path, message: dict[str, Any]) -> dict[str, Any]:
    """Send one message to the simulator's control socket and return its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONTROL_TIMEOUT_S)
        sock.connect(str(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data or b"{}")
    if not reply.get("ok"):
        raise RuntimeError(f"simulator refused {message}: {reply.get('error')}")
    return reply


def outage_due(elapsed_s: float) -> bool:
    """Whether the scripted outage has the grid down `elapsed_s` after the start."""
    if elapsed_s < OUTAGE_FIRST_S:
        return False
    return (elapsed_s - OUTAGE_FIRST_S) % OUTAGE_EVERY_S < OUTAGE_LENGTH_S


def _payload(reading: Reading) -> str:
    return json.dumps({"value": reading.value, "unit": reading.unit})


class Feeds:
    """The feeding thread; `start()` / `stop()`. `snapshot()` is the simulator's latest state."""

    def __init__(
        self,
        world: World,
        control_path: Path,
        now: Callable[[], datetime],
        house: MqttSettings | None,
        bms_control: Path | None,
        outages: bool = True,
    ) -> None:
        self._world = world
        self._control = control_path
        self._now = now
        self._house = MqttConnection(house) if house is not None else None
        self._bms_control = bms_control
        self._outages = outages
        self._grid_down: bool | None = None  # unknown: the first tick sets the grid either way
        self._latest: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-feeds", daemon=True)

    def snapshot(self) -> dict[str, Any]:
        """A copy of the simulator's latest state (empty before the first answer)."""
        with self._lock:
            return dict(self._latest)

    def cloudiness(self) -> float:
        """The simulated sky's cloudiness (0..1) for the weather server."""
        return float(self.snapshot().get("cloudiness", 0.3))

    def start(self) -> None:
        """Connect the publisher (in the background) and start the thread."""
        if self._house is not None:
            self._house.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and disconnect."""
        self._stop.set()
        self._thread.join(timeout=10.0)
        if self._house is not None:
            self._house.stop()

    def _run(self) -> None:
        started = time.monotonic()
        next_house = 0.0
        while not self._stop.is_set():
            elapsed = time.monotonic() - started
            try:
                self._tick(elapsed, next_house <= elapsed)
            except (OSError, RuntimeError, ValueError) as exc:
                LOG.warning("demo feeds: %s", exc)  # the simulators may be starting or stopping
            if next_house <= elapsed:
                next_house = elapsed + HOUSE_EVERY_S
            self._stop.wait(SNAPSHOT_EVERY_S)

    def _tick(self, elapsed: float, house_due: bool) -> None:
        down = outage_due(elapsed)
        if self._outages and down != self._grid_down:
            # The first tick sets the grid either way: a state saved during an outage has it off.
            control(self._control, {"op": "set", "grid": not down})
            if self._grid_down is not None or down:
                LOG.warning("demo: grid %s (scripted outage)", "lost" if down else "back")
            self._grid_down = down
        state = control(self._control, {"op": "snapshot"})["state"]
        with self._lock:
            self._latest = state
        if self._bms_control is not None:
            current = round(float(state.get("battery_current_a", 0.0)), 2)
            control(self._bms_control, {"op": "set", "current_a": current})
        if house_due and self._house is not None:
            for reading in self._world.house(self._now()):
                self._house.publish(f"house/{reading.name}", _payload(reading), qos=1)
