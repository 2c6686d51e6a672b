"""The fetcher's forecast: hourly bodies (tests/weather/data/hourly_*.json) served by a local HTTP
server to the real client, pvlib's model, the document, MQTT (real Mosquitto) and forecast.prom."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from solarmon.confighelper import ConfigError
from solarmon.weather import forecast_wire as wire
from solarmon.weather.client import OpenMeteoClient, WeatherDecodeError, parse_hourly
from solarmon.weather.config import ArrayConfig, WeatherConfig, parse_weather_config
from solarmon.weather.forecast import Forecaster
from solarmon.weather.pvmodel import model_arrays
from tests.fixtures.broker import Broker, Recorder
from tests.weather.conftest import FakeOpenMeteo, Reply, body

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)
PLANES = {"-90": "hourly_east.json", "90": "hourly_west.json", "0": "hourly_clear_south.json",
          "180": "hourly_southern_north_facing.json"}


def hourly(name: str):
    return parse_hourly(json.loads(body(name)))


def by_azimuth(query: dict[str, list[str]]) -> Reply | None:
    """Hourly requests get the body recorded for their plane; current ones the default."""
    if "hourly" not in query:
        return None
    return Reply(200, body(PLANES[query["azimuth"][0]]))


def centre_hour_utc(power: tuple[float, ...], starts: tuple[float, ...], day: int = 1) -> float:
    """The energy-weighted mean UTC hour of day `day` of the three (each hour at its middle), taken
    on the clock's circle: Sydney's day spans midnight UTC."""
    window = range(24 * day, 24 * day + 24)
    hours = [(datetime.fromtimestamp(starts[i], UTC).hour + 0.5, power[i]) for i in window]
    x = sum(w * math.cos(2 * math.pi * h / 24) for h, w in hours)
    y = sum(w * math.sin(2 * math.pi * h / 24) for h, w in hours)
    return (math.atan2(y, x) * 24 / (2 * math.pi)) % 24


def test_hourly_body_parses_into_72_hours_that_start_an_hour_before_their_stamp() -> None:
    weather = hourly("hourly_clear_south.json")
    assert len(weather.start_ts) == 72
    # "2026-06-17T00:00" is the mean of the hour before it: it starts at 2026-06-16 23:00 UTC.
    assert weather.start_ts[0] == datetime(2026, 6, 16, 23, tzinfo=UTC).timestamp()
    assert weather.wind_m_s[0] > 0
    assert not math.isnan(weather.temp_c[0])
    with pytest.raises(WeatherDecodeError, match="hourly.temperature_2m"):
        parse_hourly({"hourly": {"time": ["2026-06-17T00:00"], "global_tilted_irradiance": [1],
                                 "temperature_2m": [], "wind_speed_10m": [1]}})


def test_east_peaks_in_the_morning_west_in_the_afternoon() -> None:
    east_w, west_w = hourly("hourly_east.json"), hourly("hourly_west.json")
    arrays = [ArrayConfig("east", 30, -90, 2.0), ArrayConfig("west", 30, 90, 2.0)]
    east, west = model_arrays(arrays, [east_w, west_w])
    # Solar noon at 72.8 W is about 16:51 UTC.
    assert centre_hour_utc(east.power_w, east_w.start_ts) < 15.9
    assert centre_hour_utc(west.power_w, west_w.start_ts) > 17.8
    assert 0.2 * 2000 < max(east.power_w) <= 2000


def test_southern_hemisphere_north_facing_array_peaks_at_local_noon() -> None:
    weather = hourly("hourly_southern_north_facing.json")
    (array,) = model_arrays([ArrayConfig("roof", 30, 180, 5.0)], [weather])
    # Sydney's solar noon in December is about 01:50 UTC.
    assert 1.3 <= centre_hour_utc(array.power_w, weather.start_ts) <= 2.5
    day_kwh = sum(array.power_w[24:48]) / 1000
    assert 25 < day_kwh < 40, day_kwh  # a clear summer day, 5 kWp: 5-7 kWh/kWp


def test_clear_day_gives_several_times_a_cloudy_day_and_pv_max_clips() -> None:
    array = ArrayConfig("roof", 40, 0, 3.0, losses_pct=14)
    (clear,) = model_arrays([array], [hourly("hourly_clear_south.json")])
    (cloudy,) = model_arrays([array], [hourly("hourly_cloudy_south.json")])
    clear_kwh, cloudy_kwh = sum(clear.power_w[24:48]) / 1000, sum(cloudy.power_w[24:48]) / 1000
    assert clear_kwh > 4 * cloudy_kwh > 0
    assert max(clear.power_w) > 2000
    (clipped,) = model_arrays([array], [hourly("hourly_clear_south.json")], pv_max_w=1500)
    assert max(clipped.power_w) == pytest.approx(1500, abs=0.2)
    assert clipped.power_w[6] == clear.power_w[6] == 0  # 05:00-06:00 UTC: 1 am in Vermont


def test_forecaster_asks_each_plane_once_and_builds_the_document(
    open_meteo: FakeOpenMeteo, tmp_path: Path
) -> None:
    open_meteo.responder = by_azimuth
    config = WeatherConfig(base_url=open_meteo.url, timeout_s=2, retries=0, arrays=(
        ArrayConfig("east", 30, -90, 2.0), ArrayConfig("west", 30, 90, 1.5, tracker="pv2"),
        ArrayConfig("east2", 30, -90, 1.0)))
    noon = datetime(2026, 6, 18, 17, 10, tzinfo=UTC).timestamp()
    forecaster = Forecaster(config, OpenMeteoClient(config), prom_path=tmp_path / "forecast.prom",
                            clock=lambda: noon)
    assert forecaster.run() is True
    hourly_queries = [q for q in open_meteo.requests if "hourly" in q]
    assert sorted(q["azimuth"][0] for q in hourly_queries) == ["-90", "90"]  # east2 shares east's plane
    query = hourly_queries[0]
    assert query["past_days"] == ["1"]
    assert query["forecast_days"] == ["2"]
    assert query["hourly"] == ["global_tilted_irradiance,temperature_2m,wind_speed_10m"]
    doc = forecaster.last
    assert doc is not None
    assert len(doc["hours"]) == 72
    assert [a["name"] for a in doc["arrays"]] == ["east", "west", "east2"]
    hour = doc["hours"][40]
    assert hour["total_w"] == pytest.approx(sum(hour["power_w"].values()), abs=0.5)
    assert hour["power_w"]["east2"] == pytest.approx(hour["power_w"]["east"] / 2, rel=0.01)
    text = (tmp_path / "forecast.prom").read_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = families["solarmon_forecast_energy_kwh"].samples
    energy = {(s.labels["array"], s.labels["day"]): s.value for s in samples}
    assert energy[("total", "today")] == pytest.approx(
        energy[("east", "today")] + energy[("west", "today")] + energy[("east2", "today")], abs=0.01)
    assert energy[("east", "today")] > 5
    assert energy[("west", "tomorrow")] > 3
    power = {s.labels["array"]: s.value for s in families["solarmon_forecast_power_watts"].samples}
    assert power["total"] > 1000  # 17:00-18:00 UTC on a June day in Vermont


def test_forecast_failure_keeps_the_last_one_and_counts(open_meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    open_meteo.responder = by_azimuth
    config = WeatherConfig(base_url=open_meteo.url, timeout_s=2, retries=0, arrays=(ArrayConfig("s", 40, 0),))
    forecaster = Forecaster(config, OpenMeteoClient(config), prom_path=tmp_path / "f.prom")
    assert forecaster.run()
    made = forecaster.last["generated_ts"]  # type: ignore[index]
    open_meteo.responder = lambda q: Reply(400, body("error_bad_variable.json")) if "hourly" in q else None
    assert forecaster.run() is False
    assert forecaster.last["generated_ts"] == made  # type: ignore[index]
    assert "HTTP 400" in (forecaster.last_error or "")
    assert "solarmon_forecast_failures_total 1.0" in (tmp_path / "f.prom").read_text()


def test_arrays_config_defaults_and_errors() -> None:
    (default,) = parse_weather_config({"panels": {"tilt_deg": 25, "azimuth_deg": 10}}, env={}).arrays
    assert (default.name, default.tilt_deg, default.azimuth_deg, default.peak_kw) == ("panels", 25, 10, 1.0)
    two = parse_weather_config({"arrays": [{"name": "e", "azimuth_deg": -90, "peak_kw": 2},
                                           {"name": "w", "azimuth_deg": 90, "tracker": "pv2"}]}, env={})
    assert [a.name for a in two.arrays] == ["e", "w"]
    assert two.arrays[1].tracker == "pv2"
    for data, message in (
        ({"arrays": []}, "arrays must be a list of 1..8"),
        ({"arrays": [{"name": "a"}, {"name": "a"}]}, "name 'a' is used twice"),
        ({"arrays": [{"name": "total"}]}, "reserved"),
        ({"arrays": [{"peak_kw": 0}]}, "arrays[0].peak_kw must be a number in 0.01..1000"),
        ({"arrays": [{"tracker": "pv3"}]}, "tracker must be one of"),
        ({"forecast": {"pv_max_w": -1}}, "forecast.pv_max_w must be a number in 0..100000"),
        ({"forecast": {"enabled": "yes"}}, "forecast.enabled must be true or false"),
    ):
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_weather_config(data, source="w.yaml", env={})


def test_fetcher_publishes_forecast_retained_through_the_acl(
    tmp_path: Path, open_meteo: FakeOpenMeteo, mqtt_broker: Broker, mqtt_connect
) -> None:
    """weather_fetcher.py --once: the web app's account reads forecast/# (retained), the file is there."""
    open_meteo.responder = by_azimuth
    password_file = tmp_path / "weather.pass"
    password_file.write_text(mqtt_broker.users["solarmon-weather"] + "\n")
    password_file.chmod(0o600)
    config = tmp_path / "weather.yaml"
    config.write_text(yaml.safe_dump({
        "api": {"base_url": open_meteo.url, "timeout_s": 2, "retries": 0},
        "arrays": [{"name": "east", "tilt_deg": 30, "azimuth_deg": -90, "peak_kw": 2},
                   {"name": "west", "tilt_deg": 30, "azimuth_deg": 90, "peak_kw": 2}],
        "forecast": {"pv_max_w": 3000, "prom_file": "out/forecast.prom"},
        "mqtt": {"host": mqtt_broker.host, "port": mqtt_broker.port, "username": "solarmon-weather",
                 "password_file": str(password_file)},
    }))
    command = [sys.executable, str(REPO / "weather_fetcher.py"), "--once", "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=40, cwd=REPO,
                            env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["forecast"]["hours"] == 72
    assert printed["forecast"]["error"] is None
    assert (tmp_path / "out" / "forecast.prom").exists()  # relative to weather.yaml's folder
    retained = Recorder()
    mqtt_connect("solarmon-web", subscriptions=["forecast/#"], on_message=retained)
    assert retained.wait_for(lambda ms: any(m.topic == "forecast/hourly" for m in ms))
    assert all(len(m.payload) <= 4096 for m in retained.messages)  # the broker's message_size_limit
    parts = {name: json.loads(retained.on(f"forecast/{name}/hourly")[-1].payload)
             for name in ("east", "west")}
    doc = wire.join(json.loads(retained.on("forecast/hourly")[-1].payload), parts)
    assert doc is not None
    assert len(doc["hours"]) == 72
    assert [a["name"] for a in doc["arrays"]] == ["east", "west"]
    assert max(h["total_w"] for h in doc["hours"]) <= 3000.0 + 0.5
    assert retained.wait_for(lambda ms: any(m.topic == "forecast/total/energy_tomorrow_kwh" for m in ms))
