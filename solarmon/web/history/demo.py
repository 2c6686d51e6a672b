"""Demo history: a few days of realistic samples, generated fast from the simulator's own model.

`./manage_web.sh demo` starts the web app on the simulator; without history its charts would be
empty for days. This drives `solarmon.simulator.model.PlantModel` (the same physics the simulated
inverter answers QPIGS from) through simulated time and writes its live values straight into the
history, exactly as the reader would have delivered them, so rollups and energy follow as usual.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol

from solarmon.inverter import catalog
from solarmon.web.state import SourceUpdate, Value, inverter_source

# QMOD letters as mppsolar names them (the daemon's files carry the same strings).
MODE_NAMES = {"P": "Power On", "S": "Standby", "L": "Line", "B": "Battery", "F": "Fault",
              "H": "Power saving", "D": "Shutdown"}  # fmt: skip
FLUSH_EVERY = 20_000


class _Sink(Protocol):
    def submit(self, update: SourceUpdate) -> None:
        """Queue one reading."""
        ...

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until queued readings are written."""
        ...


def fill_demo_history(
    history: _Sink,
    days: float = 3.0,
    *,
    step_s: float = 10.0,
    section: str = "demo",
    seed: int = 1,
    profile: str = "axpert-5k",
    end: float | None = None,
) -> int:
    """Write `days` of simulated readings, every `step_s`, ending at `end` (default now), for the
    inverter `section`; return how many readings were written. `history` must be started."""
    from solarmon.simulator.model import PlantModel  # the simulator is only needed for the demo
    from solarmon.simulator.profiles import get_profile

    if days <= 0 or step_s <= 0:
        raise ValueError("days and step_s must be positive")
    end = time.time() if end is None else end
    start = end - days * 86400.0
    model = PlantModel.create(get_profile(profile), seed, dt.datetime.fromtimestamp(start, dt.UTC))
    source = inverter_source(section)
    units: dict[str, str] = {}
    count = 0
    ts = start
    while ts + step_s <= end + 1e-6:  # readings up to `end`, never after it (the future)
        model.advance(step_s)
        ts += step_s
        values: dict[str, Value] = {
            key: (int(value) if isinstance(value, bool) else round(float(value), 3))
            for key, value in model.live_values().items()
        }
        values["device_mode"] = MODE_NAMES.get(model.mode, model.mode)
        values.update(catalog.derive(values))  # as the live state derives them on ingest
        if not units:
            units = {key: info.unit if (info := catalog.info(key)) is not None else ""
                     for key in values}
        history.submit(SourceUpdate(source, ts, values, units, file="demo"))
        count += 1
        if count % FLUSH_EVERY == 0:
            history.flush(120.0)  # keeps the writer's queue from overflowing
    history.flush(120.0)
    return count
