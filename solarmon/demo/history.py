"""Demo history: days of realistic samples, generated fast from the simulator's own model.

`./manage_web.sh demo` starts the web app on the simulator; without history its charts would be
empty for days. This drives `solarmon.simulator.model.PlantModel` (the same physics the simulated
inverter answers QPIGS from) through simulated time and writes its live values straight into the
history, exactly as the reader would have delivered them, so rollups and energy follow as usual.
With a `World`, the house sensors and the weather are written too, from the same curves the live
publishers use. The demo's inverter is `DEMO_PROFILE`: a 48 V unit on a 16-cell LiFePO4 pack, the
pack the demo's simulated JK BMS reports (live only).

The model's final state can be saved (`state_path`): the live simulator starts from it
(`python -m solarmon.simulator --state`), so battery charge, temperatures and energy counters
carry on where the history ends instead of jumping to a fresh world. Simulated time is the wall
time shifted by `offset_s` (the demo clock, `DEMO_TIME`); the history stores wall time.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Protocol

from solarmon.demo.world import World
from solarmon.inverter import catalog
from solarmon.simulator.model import PlantModel
from solarmon.simulator.profiles import get_profile
from solarmon.simulator.state import save_state
from solarmon.weather.client import VARIABLES
from solarmon.web.state import SourceUpdate, Value, inverter_source

# QMOD letters as mppsolar names them (the daemon's files carry the same strings).
MODE_NAMES = {"P": "Power On", "S": "Standby", "L": "Line", "B": "Battery", "F": "Fault",
              "H": "Power saving", "D": "Shutdown"}  # fmt: skip
FLUSH_EVERY = 20_000
SENSOR_STEP_S = 300.0  # house and weather values: one reading every five minutes
DEMO_PROFILE = "axpert-5k-lfp"  # the inverter on a LiFePO4 pack, so a JK BMS fits it
WEATHER_UNITS = {"temperature": "°C", "humidity": "%", "apparent_temperature": "°C", "precipitation": "mm",
                 "rain": "mm", "weather_code": "wmo code", "cloud_cover": "%", "pressure": "hPa",
                 "wind_speed": "km/h", "wind_direction": "°", "wind_gusts": "km/h",
                 "shortwave_radiation": "W/m²", "tilted_irradiance": "W/m²"}  # fmt: skip


class _Sink(Protocol):
    def submit(self, update: SourceUpdate) -> None:
        """Queue one reading."""
        ...

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until queued readings are written."""
        ...


def model_time(wall_ts: float, offset_s: float = 0.0) -> dt.datetime:
    """The simulated (naive, local) time at wall time `wall_ts`: the simulator's own convention."""
    return dt.datetime.fromtimestamp(wall_ts + offset_s)


def inverter_update(model: PlantModel, source: str, ts: float) -> SourceUpdate:
    """The model's live values as the web app's reader would deliver them at `ts`."""
    values: dict[str, Value] = {
        key: (int(value) if isinstance(value, bool) else round(float(value), 3))
        for key, value in model.live_values().items()
    }
    values["device_mode"] = MODE_NAMES.get(model.mode, model.mode)
    values.update(catalog.derive(values))  # as the live state derives them on ingest
    units = {key: info.unit if (info := catalog.info(key)) is not None else "" for key in values}
    return SourceUpdate(source, ts, values, units, file="demo")


def sensor_updates(world: World, model: PlantModel, ts: float) -> list[SourceUpdate]:
    """House and weather readings at `ts`, as the MQTT part would have stored them (the BMS is
    live only: the daemon polls the simulated JK BMS)."""
    house = world.house(model.now)
    weather = {VARIABLES[var]: float(v) for var, v in world.weather(model.now, model.weather.cloud).items()}
    return [
        SourceUpdate("house", ts, {r.name: r.value for r in house}, {r.name: r.unit for r in house}),
        SourceUpdate("weather", ts, dict(weather), {k: WEATHER_UNITS.get(k, "") for k in weather}),
    ]


def fill_demo_history(
    history: _Sink,
    days: float = 3.0,
    *,
    step_s: float = 10.0,
    section: str = "demo",
    seed: int = 1,
    profile: str = DEMO_PROFILE,
    end: float | None = None,
    offset_s: float = 0.0,
    model: PlantModel | None = None,
    world: World | None = None,
    state_path: Path | None = None,
) -> int:
    """Write readings every `step_s` up to `end` (default now) for the inverter `section`; return
    how many inverter readings were written. `history` must be started.

    A fresh model starts `days` before `end`; a given `model` (restored from a state file) carries
    on from its own time. With `world`, sensor readings every SENSOR_STEP_S too. With
    `state_path`, the model's state at `end` is saved there for the live simulator.
    """
    if days <= 0 or step_s <= 0:
        raise ValueError("days and step_s must be positive")
    end = time.time() if end is None else end
    if model is None:
        # create() lets one second pass: start one second early so the model's time is the start.
        start = end - days * 86400.0 - 1.0
        model = PlantModel.create(get_profile(profile), seed, model_time(start, offset_s))
    source = inverter_source(section)
    ts = model.now.timestamp() - offset_s
    count = 0
    next_sensor = ts
    while ts + step_s <= end + 1e-6:  # readings up to `end`, never after it (the future)
        model.advance(step_s)
        ts += step_s
        history.submit(inverter_update(model, source, ts))
        count += 1
        if world is not None and ts >= next_sensor:
            for update in sensor_updates(world, model, ts):
                history.submit(update)
            next_sensor = ts + SENSOR_STEP_S
        if count % FLUSH_EVERY == 0:
            history.flush(120.0)  # keeps the writer's queue from overflowing
    history.flush(120.0)
    if state_path is not None:
        save_state(model, state_path)
    return count
