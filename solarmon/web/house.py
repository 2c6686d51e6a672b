"""The web app's MQTT part: house sensors, weather and a BMS into the live state and the history.

Registered by name in `create_app()` (solarmon/web/__init__.py). The broker client, the payload
parser and the subscriber are the MQTT adapter's (solarmon/mqtt/); this module is the web side's
glue. Enabled when web.yaml has an `mqtt:` section (keys: solarmon.mqtt.credentials; the
default user is `solarmon-web`); an optional `house:` section tunes the subscriber:

    house:
      prom_interval_s: 5     # house/weather/battery.prom rewritten at most this often (1..3600)

Values reach `LiveState` as sources `house`, `weather` and `battery` (so /api/house,
/api/weather, /api/battery, the stream and /api/status see them) and the history as the same
SourceUpdates. The fetcher's own
word marks the `weather` source in error: `offline` on weather/status (its last will) or a
`"stale": true` digest (its last fetch failed); the next fresh values clear it. The .prom files go
to the data folder (`data.prom_dir`); the web app's own .prom reader is told to skip them, since
the values already arrive here first-hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask

from solarmon.confighelper import ConfigSection
from solarmon.mqtt.credentials import mqtt_settings_from_config
from solarmon.mqtt.house import PROM_INTERVAL_S, HouseSubscriber, WeatherStatus
from solarmon.mqtt.payload import SensorValue
from solarmon.web.runtime import WebContext
from solarmon.web.state import SourceUpdate

LOG = logging.getLogger(__name__)

PROM_FILES = ("house.prom", "weather.prom", "battery.prom")
HOUSE_KEYS = frozenset({"prom_interval_s"})


def to_updates(batch: list[SensorValue], update_type: Callable[..., Any]) -> list[Any]:
    """One SourceUpdate per source for a batch: values merged, the newest value of a sensor wins."""
    grouped: dict[str, dict[str, Any]] = {}
    for value in batch:
        entry = grouped.setdefault(value.source, {"ts": value.received_s, "values": {}, "units": {}})
        entry["ts"] = max(entry["ts"], value.received_s)
        entry["values"][value.name] = value.value
        entry["units"][value.name] = value.unit or ""
    return [
        update_type(source=src, ts=e["ts"], values=e["values"], units=e["units"])
        for src, e in grouped.items()
    ]


def _prom_interval(section: Any, source: str) -> float:
    """`house.prom_interval_s`: how often house/weather/battery.prom are rewritten at most."""
    helper = ConfigSection(section, source=source, prefix="house.")
    helper.warn_unknown(HOUSE_KEYS)
    return helper.getfloat("prom_interval_s", PROM_INTERVAL_S, minval=1, maxval=3600)


def init_app(_app: Flask, ctx: WebContext) -> None:
    """Build the subscriber from web.yaml and register it as the `mqtt` service (not started here)."""
    raw = ctx.config.raw_sections
    if raw.get("mqtt") is None:
        LOG.info("no mqtt section in %s: house sensors and weather off", ctx.config.source)
        return
    # A bad section must stop the start-up with a clear message, like any other web.yaml error.
    settings = mqtt_settings_from_config(
        raw["mqtt"], source=ctx.config.source, client_id="solarmon-web", default_username="solarmon-web"
    )
    interval = _prom_interval(raw.get("house"), ctx.config.source)
    state, history, reader = ctx.parts.state, ctx.parts.history, ctx.parts.reader

    def feed(batch: list[SensorValue]) -> None:
        for update in to_updates(batch, SourceUpdate):
            if state is not None:
                state.apply(update)
            if history is not None:
                history.submit(update)

    def weather_status(status: WeatherStatus) -> None:
        # Values keep their last reading; the source's health says why they may be old.
        if state is None:
            return
        if status.online is False:
            state.record_error(
                "weather", "fetcher_offline", "the weather fetcher is offline (weather/status)"
            )
        elif status.stale:
            state.record_error("weather", "stale", status.error or "the last weather fetch failed")

    subscriber = HouseSubscriber(
        settings,
        sinks=[feed],
        status_sinks=[weather_status],
        prom_dir=ctx.config.path(ctx.config.data.prom_dir),
        prom_interval_s=interval,
    )
    if reader is not None:
        reader.ignore_files(*PROM_FILES)
    ctx.parts.house = subscriber
    ctx.add_service(subscriber, "house")
    ctx.health["mqtt"] = lambda: mqtt_health(subscriber)


def mqtt_health(subscriber: HouseSubscriber) -> dict[str, Any]:
    """The /api/status entry: ok while connected, with the counters."""
    health = subscriber.health()
    broker = f"{subscriber.settings.host}:{subscriber.settings.port}"
    error = None if health.get("connected") else (health.get("last_error") or "not connected")
    return {"ok": bool(health.get("connected")), "error": error, "broker": broker, **health}
