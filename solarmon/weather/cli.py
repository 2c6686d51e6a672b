"""`weather_fetcher.py`: wire config, Open-Meteo client, MQTT connection and the fetcher loop.

Exit codes: 0 success (`--once`) or clean stop, 1 the fetch or the publish failed (`--once`),
2 bad configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from solarmon.confighelper import ConfigError
from solarmon.mqtt.client import Availability, MqttConnection
from solarmon.weather.client import OpenMeteoClient
from solarmon.weather.config import WeatherConfig, load_weather_config
from solarmon.weather.fetcher import STATUS_TOPIC, WeatherFetcher
from solarmon.weather.forecast import Forecaster

LOG = logging.getLogger("weather_fetcher")
CONFIG_ENV = "SOLARMON_WEATHER_CONFIG"
CONNECT_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_S = 10.0


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(description="Fetch Open-Meteo current weather and publish it to MQTT.")
    parser.add_argument(
        "--config", type=Path, help=f"weather.yaml (default: ${CONFIG_ENV}, else ./weather.yaml)"
    )
    parser.add_argument("--once", action="store_true", help="fetch and publish once, then exit 0/1")
    parser.add_argument("--no-mqtt", action="store_true", help="do not publish (with --once: print only)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def config_path(path: Path | None) -> Path | None:
    """The weather.yaml in use (None: the defaults, no file)."""
    if path is None and os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    if path is None and Path("weather.yaml").exists():
        return Path("weather.yaml")
    return path


def build_forecaster(
    config: WeatherConfig, client: OpenMeteoClient, publisher: MqttConnection | None, source: Path | None
) -> Forecaster | None:
    """The forecast job when forecast.enabled; forecast.prom_file relative to weather.yaml's folder."""
    if not config.forecast_enabled:
        return None
    prom = None
    if config.forecast_prom:
        prom = Path(config.forecast_prom)
        if not prom.is_absolute() and source is not None:
            prom = source.resolve().parent / prom
    return Forecaster(config, client, publisher=publisher, prom_path=prom)


def resolve_config(path: Path | None) -> WeatherConfig:
    """The config from --config, the env var, ./weather.yaml, or the defaults when none exists."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    if path is None:
        default = Path("weather.yaml")
        return load_weather_config(default) if default.exists() else WeatherConfig()
    return load_weather_config(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fetcher; see the module docstring for exit codes."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = resolve_config(args.config)
    except ConfigError as exc:
        LOG.error("%s", exc)
        return 2
    connection = None
    if not args.no_mqtt:
        connection = MqttConnection(config.mqtt, availability=Availability(STATUS_TOPIC))
    client = OpenMeteoClient(config)
    forecaster = build_forecaster(config, client, connection, config_path(args.config))
    fetcher = WeatherFetcher(config, client, publisher=connection, forecaster=forecaster)
    client.sleep = fetcher.wait
    if connection is not None:
        connection.start()
    try:
        return run_once(fetcher, connection) if args.once else run_forever(fetcher)
    finally:
        if connection is not None:
            connection.stop()


def run_once(fetcher: WeatherFetcher, connection: MqttConnection | None) -> int:
    """One fetch; 0 only if it was fetched and (when publishing) acknowledged by the broker."""
    if connection is not None and not connection.wait_connected(CONNECT_TIMEOUT_S, until_refused=True):
        LOG.error(
            "cannot connect to the MQTT broker %s:%s (%s)",
            connection.settings.host,
            connection.settings.port,
            connection.health().last_error or "no answer",
        )
        return 1
    ok = fetcher.fetch_once()
    printed = fetcher.digest()
    if fetcher.forecaster is not None:
        printed["forecast"] = fetcher.forecaster.snapshot()
    print(json.dumps(printed, indent=2))
    if connection is not None and not connection.flush(FLUSH_TIMEOUT_S):
        LOG.error("the broker did not acknowledge the weather messages in %.0f s", FLUSH_TIMEOUT_S)
        return 1
    return 0 if ok else 1


def run_forever(fetcher: WeatherFetcher) -> int:
    """Fetch every interval until SIGTERM / SIGINT."""
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        LOG.info("signal %d: stopping", signum)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    LOG.info(
        "weather fetcher: %s (%.4f, %.4f) every %.0f s",
        fetcher.config.location_name,
        fetcher.config.latitude,
        fetcher.config.longitude,
        fetcher.config.interval_s,
    )
    fetcher.start()
    done.wait()
    fetcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
