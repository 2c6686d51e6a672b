"""A history database made from the simulator's model: the inverter's readings (with the catalog's
derived values, as the web app stores them) and the weather fetcher's irradiance on the panels.

The irradiance is what the fetcher would have published every 10 minutes: Open-Meteo's current
global tilted irradiance. Here it is the simulator's own sky (clear-sky shape x cloud dimming, as
a share of 1000 W/m2) at the moment of the fetch, times a random forecast error (lognormal,
`error_sigma`): a weather model sees the clouds, but not exactly, and not between fetches.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

from solarmon.inverter.catalog import derive
from solarmon.simulator.model import PlantModel
from solarmon.simulator.profiles import get_profile
from solarmon.web.history import History
from solarmon.web.state import SourceUpdate, inverter_source

FETCH_EVERY_S = 600.0


def fill(
    history: History,
    *,
    end: float,
    days: float,
    step_s: float = 120.0,
    section: str = "sim",
    profile: str = "axpert-5k",
    seed: int = 3,
    error_sigma: float = 0.12,
    soc_pin: float | None = None,
    load_scale: float | None = None,
) -> PlantModel:
    """Write `days` of readings ending at `end` into a started History; return the model."""
    start = end - days * 86400.0
    model = PlantModel.create(get_profile(profile), seed, dt.datetime.fromtimestamp(start, dt.UTC))
    if load_scale is not None:
        model.household.scale = load_scale
    rng = random.Random(seed + 1000)
    source = inverter_source(section)
    ts, next_fetch = start, start
    while ts + step_s <= end + 1e-6:
        model.advance(step_s)
        ts += step_s
        if soc_pin is not None:
            model.battery.soc = soc_pin / 100.0
        values: dict[str, float | int] = {
            k: (int(v) if isinstance(v, bool) else round(float(v), 3)) for k, v in model.live_values().items()
        }
        values.update({k: round(v, 3) for k, v in derive(values).items()})
        history.submit(SourceUpdate(source, ts, dict(values), {}, file="sim"))
        if ts >= next_fetch:
            sky = model.weather.pv_fraction(model.now, 1.0) * 1000.0
            error = math.exp(rng.gauss(0.0, error_sigma))
            hour = model.now.hour + model.now.minute / 60.0
            temp = 18.0 + 6.0 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)
            history.submit(SourceUpdate("weather", ts, {"tilted_irradiance": round(sky * error, 1),
                                                        "temperature": round(temp, 1)},
                                        {"tilted_irradiance": "W/m²", "temperature": "°C"}, file="mqtt"))
            next_fetch += FETCH_EVERY_S
    history.flush(120.0)
    return model


def make_db(path: Path, **kwargs: object) -> Path:
    """A history database file at `path` filled by `fill` (History started and stopped here)."""
    history = History(path, raw_retention_days=None, minute_retention_days=None)
    history.start()
    try:
        fill(history, **kwargs)  # type: ignore[arg-type]
    finally:
        history.stop()
    return path
