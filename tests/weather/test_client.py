"""OpenMeteoClient against a local HTTP server: realistic bodies and every failure mode."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from solarmon.weather.client import (
    VARIABLES,
    OpenMeteoClient,
    WeatherApiError,
    WeatherDecodeError,
    WeatherUnavailable,
    parse_observation,
)
from solarmon.weather.config import WeatherConfig
from tests.weather.conftest import FakeOpenMeteo, Reply, body

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(weather_config: WeatherConfig, sleeps: list[float]) -> OpenMeteoClient:
    return OpenMeteoClient(weather_config, sleep=sleeps.append)


@pytest.mark.parametrize(
    ("fixture", "utc", "values", "missing"),
    [
        (
            "current_winter_morning.json",
            "2026-11-26T14:45",
            {
                "temperature": -3.4,
                "humidity": 81.0,
                "weather_code": 71.0,
                "pressure": 1012.6,
                "wind_gusts": 33.5,
                "tilted_irradiance": 121.4,
            },
            (),
        ),
        # The time is local when a timezone is requested: utc_offset_seconds turns it into UTC.
        (
            "current_summer_noon_local_tz.json",
            "2026-07-02T16:30",
            {"temperature": 27.1, "shortwave_radiation": 871.0, "tilted_irradiance": 912.7},
            (),
        ),
        (
            "current_gti_null.json",
            "2026-11-27T03:00",
            {"temperature": -9.8, "cloud_cover": 4.0},
            ("tilted_irradiance",),
        ),
    ],
)
def test_parse_recorded_bodies(
    fixture: str, utc: str, values: dict[str, float], missing: tuple[str, ...]
) -> None:
    obs = parse_observation(json.loads(body(fixture)))
    assert obs.ts == datetime.fromisoformat(utc).replace(tzinfo=UTC).timestamp()
    for name, value in values.items():
        assert obs.values[name] == value
    assert obs.missing == missing
    assert set(obs.values) == set(VARIABLES.values()) - set(missing)
    assert obs.units["temperature"] == "°C"
    assert obs.units["tilted_irradiance" if not missing else "shortwave_radiation"] == "W/m²"


def test_request_carries_place_panels_and_variables(
    client: OpenMeteoClient, open_meteo: FakeOpenMeteo
) -> None:
    client.fetch()
    [query] = open_meteo.requests
    assert open_meteo.paths == ["/v1/forecast"]
    assert query["latitude"] == ["43.7776"]
    assert query["longitude"] == ["-72.8145"]
    assert query["tilt"] == ["45"]
    assert query["azimuth"] == ["-10"]
    assert query["current"][0].split(",") == list(VARIABLES)


def test_400_reason_raised_not_retried(
    client: OpenMeteoClient, open_meteo: FakeOpenMeteo, sleeps: list[float]
) -> None:
    open_meteo.queue(Reply(400, body("error_bad_variable.json")))
    with pytest.raises(WeatherApiError) as info:
        client.fetch()
    assert info.value.status == 400
    assert "invalid String value global_tilted_irradiancee" in info.value.reason
    assert len(open_meteo.requests) == 1
    assert sleeps == []


def test_429_then_ok_retries_with_retry_after(
    client: OpenMeteoClient, open_meteo: FakeOpenMeteo, sleeps: list[float]
) -> None:
    open_meteo.queue(
        Reply(429, body("error_rate_limited.json"), {"Content-Type": "application/json", "Retry-After": "7"})
    )
    obs = client.fetch()
    assert obs.values["temperature"] == -3.4
    assert len(open_meteo.requests) == 2
    assert sleeps == [7.0]


def test_500_every_time_gives_unavailable_after_backoff(
    client: OpenMeteoClient, open_meteo: FakeOpenMeteo, sleeps: list[float]
) -> None:
    open_meteo.default = Reply(500, b"Internal Server Error", {"Content-Type": "text/plain"})
    with pytest.raises(WeatherUnavailable, match="HTTP 500: Internal Server Error"):
        client.fetch()
    assert len(open_meteo.requests) == 3  # retries=2
    assert sleeps == [0.01, 0.02]  # exponential backoff


def test_timeout_gives_unavailable(weather_config: WeatherConfig, open_meteo: FakeOpenMeteo) -> None:
    open_meteo.default = Reply(200, body("current_winter_morning.json"), delay_s=1.0)
    with pytest.raises(WeatherUnavailable, match="no answer within 0.3 s"):
        OpenMeteoClient(replace(weather_config, retries=0)).fetch()


def test_nothing_listening_gives_unavailable(weather_config: WeatherConfig) -> None:
    from tests.fixtures.broker import free_port

    dead = replace(weather_config, base_url=f"http://127.0.0.1:{free_port()}/v1/forecast", retries=0)
    with pytest.raises(WeatherUnavailable, match="cannot reach"):
        OpenMeteoClient(dead).fetch()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"latitude": 43.7, "current": {"time": "2026-11-26T14:45"', "not JSON"),
        (b"<html>gateway</html>", "not JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"latitude": 43.7}', 'no "current" object'),
        (body("current_winter_morning.json").replace(b'"rain": 0.0,', b""), "current.rain"),
        (
            body("current_winter_morning.json").replace(b'"2026-11-26T14:45"', b'"yesterday"'),
            "not an ISO time",
        ),
        (
            body("current_winter_morning.json").replace(b'"cloud_cover": 100', b'"cloud_cover": "lots"'),
            "current.cloud_cover is not a finite number",
        ),
    ],
)
def test_bad_bodies_give_decode_errors(
    client: OpenMeteoClient, open_meteo: FakeOpenMeteo, payload: bytes, message: str
) -> None:
    open_meteo.queue(Reply(200, payload))
    with pytest.raises(WeatherDecodeError, match=message):
        client.fetch()
    assert len(open_meteo.requests) == 1  # a bad body is not retried
