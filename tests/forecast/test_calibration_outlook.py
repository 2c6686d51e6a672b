"""Calibration and battery outlook on a history made from the simulator's model, and the
predictive alert through the real alert service."""

from __future__ import annotations

import sqlite3
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import pytest

from solarmon.alerts.defaults import default_rules
from solarmon.alerts.delivery import Delivery
from solarmon.alerts.service import AlertService
from solarmon.alerts.store import AlertStore
from solarmon.confighelper import ConfigError
from solarmon.forecast.backtest import hourly_pairs
from solarmon.forecast.calibration import calibrate, fit_factor, groups
from solarmon.forecast.config import ForecastSettings, parse_forecast_settings
from solarmon.forecast.hourly import HOUR_S
from solarmon.forecast.outlook import LoadProfile, estimate_capacity_wh, load_profile, project
from solarmon.forecast.service import ForecastService
from solarmon.forecast.store import ForecastStore
from solarmon.weather.config import ArrayConfig
from solarmon.web.forecast import history_reader, live_publisher, live_reader
from solarmon.web.state import LiveState, SourceUpdate
from tests.alerts.conftest import wait_until
from tests.forecast.conftest import forecast_doc
from tests.forecast.simhistory import make_db

UTC_ZONE = zoneinfo.ZoneInfo("UTC")
END = datetime(2026, 6, 18, 19, 0, tzinfo=UTC).timestamp()  # a Thursday evening
SOURCE = "inverter:sim"
ROOF = ArrayConfig("roof", 35, 0, 1.0)
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("cal") / "history.db", end=END, days=14)


@pytest.fixture
def conn(history_db: Path):
    connection = sqlite3.connect(history_db)
    yield connection
    connection.close()


def test_factor_from_uncurtailed_hours_and_why_they_are_left_out(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    pairs = hourly_pairs(conn, SOURCE, ROOF, int(END) - 14 * 86400, int(END))
    store = ForecastStore(tmp_path / "forecast.db")
    store.open()
    store.save([{"start_ts": h, "power_w": {"roof": m}} for h, m, _p, _c in pairs], END)
    start, end = int(END) - 14 * 86400, int(END)
    modelled = store.modelled(start, end)
    (cal,) = calibrate(conn, SOURCE, [{"name": "roof", "peak_kw": 1.0}], modelled, start, end)
    store.close()
    assert cal.status == "ok"
    assert cal.compared_with == "pv_power_total"
    assert cal.hours >= 50
    assert cal.curtailed_hours >= 10
    assert 4.3 < cal.factor < 5.0  # 4 kWp against a 1 kWp model with 14 % losses
    # Had the curtailed hours counted, the throttled afternoons would pull the factor down.
    daylight = [(m, p) for _h, m, p, _c in pairs if m >= 20]
    assert fit_factor(daylight) < cal.factor - 0.3


def test_arrays_with_their_own_trackers_are_calibrated_apart() -> None:
    assert groups([{"name": "e", "tracker": "pv1"}, {"name": "w", "tracker": "pv2"}]) == [
        (["e"], "pv_input_power"), (["w"], "pv2_charging_power")]
    assert groups([{"name": "e", "tracker": "pv1"}, {"name": "w", "tracker": ""}]) == [
        (["e", "w"], "pv_power_total")]


def test_load_profile_and_capacity_from_history(conn: sqlite3.Connection) -> None:
    profile = load_profile(conn, SOURCE, END, UTC_ZONE, days=14)
    assert profile is not None
    assert profile.days >= 13
    # The simulated household: a night base near 250 W, an evening peak near 19:30.
    assert 150 < profile.weekday[3] < 450
    assert profile.weekday[19] > 2 * profile.weekday[3]
    capacity = estimate_capacity_wh(conn, SOURCE, END, days=14)
    assert capacity is not None
    assert 0.7 * 9600 < capacity < 1.3 * 9600  # 200 Ah x 48 V


FLAT = LoadProfile(weekday=(500.0,) * 24, weekend=(500.0,) * 24, days=7)


def sunny(now: float, watts: float) -> dict[int, float]:
    """PV `watts` from 06:00 to 18:00 UTC, today and tomorrow."""
    day = int(now // 86400) * 86400
    return {day + d * 86400 + h * HOUR_S: (watts if 6 <= h < 18 else 0.0)
            for d in range(3) for h in range(24)}


def test_low_battery_in_the_evening_reaches_cutoff_before_sunrise() -> None:
    out = project(END, 30.0, 5000.0, 20.0, sunny(END, 2000), FLAT, UTC_ZONE, peak_w=3000)
    assert out.sunrise_ts == datetime(2026, 6, 19, 6, tzinfo=UTC).timestamp()
    assert out.cutoff_before_sunrise is True
    # 10 % of 5 kWh at 500 W / 0.92 efficiency: 55 minutes.
    assert out.cutoff_at_ts == pytest.approx(END + 0.1 * 5000 / (500 / 0.92) * 3600, abs=60)
    assert out.soc_at_sunrise_pct == 20.0


def test_full_battery_rides_the_night_fills_and_shows_surplus() -> None:
    out = project(END, 95.0, 10000.0, 20.0, sunny(END, 3000), FLAT, UTC_ZONE, peak_w=3000)
    assert out.cutoff_at_ts is None
    assert out.cutoff_before_sunrise is False
    assert out.soc_at_sunrise_pct is not None
    # 19:00 to 06:00: 11 h of 500 W through a 92 % inverter out of 10 kWh.
    assert out.soc_at_sunrise_pct == pytest.approx(95 - 11 * 500 / 0.92 / 10000 * 100, abs=0.1)
    assert out.full_at_ts is not None
    assert out.sunrise_ts is not None
    assert out.sunrise_ts < out.full_at_ts < datetime(2026, 6, 19, 18, tzinfo=UTC).timestamp()
    (window,) = out.surplus
    assert window["end_ts"] == datetime(2026, 6, 19, 18, tzinfo=UTC).timestamp()
    assert window["surplus_kwh"] > 5
    assert out.points[-1]["ts"] == datetime(2026, 6, 19, 20, tzinfo=UTC).timestamp()


def test_forecast_settings_errors_name_the_key() -> None:
    assert parse_forecast_settings(None) == ForecastSettings()
    message = r"^web.yaml: forecast.cutoff_soc_pct must be a number in 0..90, got 95$"
    with pytest.raises(ConfigError, match=message):
        parse_forecast_settings({"cutoff_soc_pct": 95}, where="web.yaml")
    message = r"^web.yaml: forecast.load_days must be an integer in 2..90, got 1.5$"
    with pytest.raises(ConfigError, match=message):
        parse_forecast_settings({"load_days": 1.5}, where="web.yaml")


def run_alerts(
    history_db: Path, tmp_path: Path, now: float, soc: float
) -> tuple[AlertService, ForecastService, LiveState]:
    state = LiveState(clock=lambda: now)  # values age by the scenario's clock (stale after 180 s)
    state.apply(SourceUpdate(SOURCE, now, {"battery_capacity": soc}))
    settings = ForecastSettings(battery_usable_kwh=9.6, cutoff_soc_pct=20.0, evening_from_hour=17)
    service = ForecastService(settings, store=ForecastStore(tmp_path / f"f{now}.db"), tz=UTC_ZONE,
                              connect_history=history_reader(history_db), live_value=live_reader(state),
                              publish=live_publisher(state), clock=lambda: now)
    alerts = AlertService(tuple(default_rules()), state=state, store=AlertStore(None), delivery=Delivery([]),
                          notify_interval_s=0, tick_s=0.05)
    service.store.open()
    alerts.start()
    service.feed(forecast_doc("hourly_mixed_toulouse.json", now, (ArrayConfig("roof", 35, 0, 4.0),)))
    service.refresh()
    return alerts, service, state


def fired(alerts: AlertService) -> list[str]:
    return [a["rule"] for a in alerts.store.active()]


def test_predictive_alert_fires_on_a_low_evening(history_db: Path, tmp_path: Path) -> None:
    alerts, service, _state = run_alerts(history_db, tmp_path, END, soc=28.0)
    try:
        result = service.snapshot()
        assert result["outlook"]["cutoff_before_sunrise"] is True
        assert result["outlook"]["capacity_source"] == "configured"
        assert wait_until(lambda: "battery_cutoff_before_sunrise" in fired(alerts), timeout_s=5)
    finally:
        alerts.stop()
        service.store.close()


def test_no_alert_with_a_full_battery_or_in_the_morning(history_db: Path, tmp_path: Path) -> None:
    for now, soc in ((END, 97.0), (END - 9 * HOUR_S, 28.0)):  # 19:00 full; 10:00 low but daytime
        alerts, service, state = run_alerts(history_db, tmp_path, now, soc)
        try:
            alerts.tick()
            assert "battery_cutoff_before_sunrise" not in fired(alerts)
            live = state.snapshot("forecast")
            assert live.values["cutoff_before_sunrise"] == 0
        finally:
            alerts.stop()
            service.store.close()
