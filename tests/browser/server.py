"""The web app as a browser sees it: served by waitress on a free localhost port, in a thread.

Also a plausible day of an off-grid system (sun curve, evening load, battery following both) to
seed the history with, so every chart range has data to draw without waiting for days.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from typing import Any

import waitress

UNITS = {
    "battery_voltage": "V", "battery_capacity": "%", "battery_charging_current": "A",
    "battery_discharge_current": "A", "pv_input_voltage": "V", "pv_input_power": "W",
    "pv_input_current_for_battery": "A", "ac_output_active_power": "W",
    "ac_output_apparent_power": "VA", "ac_output_voltage": "V", "ac_output_frequency": "Hz",
    "ac_output_load": "%", "ac_input_voltage": "V", "ac_input_frequency": "Hz",
    "inverter_heat_sink_temperature": "°C", "bus_voltage": "V",
}


def day_values(ts: float, rng: random.Random) -> dict[str, float]:
    """One reading of a 5 kVA off-grid system at time `ts` (UTC hours as the local day)."""
    hour = (ts % 86400) / 3600
    sun = max(0.0, math.sin((hour - 6) / 12 * math.pi))
    pv = round(3200 * sun * rng.uniform(0.7, 1.0))
    load = round(250 + 500 * max(0.0, math.sin((hour - 16) / 6 * math.pi)) + rng.uniform(0, 120))
    soc = round(max(20.0, min(100.0, 60 + 35 * math.sin((hour - 10) / 24 * 2 * math.pi))))
    volts = round(47.5 + soc / 100 * 8 + (1.2 if pv > load else 0.0), 2)
    net_w = pv - load
    return {
        "battery_voltage": volts,
        "battery_capacity": soc,
        "battery_charging_current": round(max(0.0, net_w) / volts, 1),
        "battery_discharge_current": round(max(0.0, -net_w) / volts, 1),
        "pv_input_voltage": round(95 + 25 * sun, 1) if pv else 0.0,
        "pv_input_power": pv,
        "pv_input_current_for_battery": round(pv / volts, 1),
        "ac_output_active_power": load,
        "ac_output_apparent_power": round(load * 1.1),
        "ac_output_voltage": 230.0,
        "ac_output_frequency": 50.0,
        "ac_output_load": round(load / 50),
        "ac_input_voltage": 0.0,
        "ac_input_frequency": 0.0,
        "inverter_heat_sink_temperature": round(30 + 15 * sun),
        "bus_voltage": 380,
    }


def seed_history(history: Any, source: str, *, days: float, step_s: int, now: float | None = None) -> int:
    """Submit `days` of readings every `step_s` seconds up to `now` and wait until written."""
    from solarmon.web.state import SourceUpdate

    now = time.time() if now is None else now
    rng = random.Random(7)
    count = 0
    start = int(now - days * 86400)
    for ts in range(start - start % step_s, int(now) - step_s, step_s):
        values = day_values(ts, rng)
        history.submit(SourceUpdate(source, float(ts), dict(values), dict(UNITS)))
        count += 1
    if not history.flush(timeout_s=120):
        raise RuntimeError("the history writer did not catch up with the seeded readings")
    return count


class ServerThread:
    """Serve a WSGI app with waitress on 127.0.0.1 and a free port until `stop()`."""

    def __init__(self, app: Any, threads: int = 16) -> None:
        """Bind now (so the port is known), serve after `start()`."""
        self._server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                              ident="solarmon-test")
        self.port = self._server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._app = app
        self._thread = threading.Thread(target=self._run, name="waitress-test", daemon=True)

    def _run(self) -> None:
        # The listening socket closing under select() at stop raises one of these: a normal end.
        with contextlib.suppress(OSError, ValueError):
            self._server.run()

    def start(self) -> ServerThread:
        """Start serving in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving. Call after the app's Runtime stopped: its live streams then end within a
        poll, and their threads must finish before the server closes its sockets under them."""
        from solarmon.web.runtime import get_context

        streams = get_context(self._app).parts.streams
        deadline = time.monotonic() + 5
        while streams is not None and streams.describe()["open"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self._server.task_dispatcher.shutdown()
        self._server.close()
        self._thread.join(5)
