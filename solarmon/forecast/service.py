"""The web app's forecast service: receive the fetcher's forecast, calibrate, project the battery.

- An MQTT connection of its own (account `solarmon-web`, client id `solarmon-web-forecast`)
  subscribes to `forecast/hourly` and `forecast/+/hourly` (solarmon.weather.forecast_wire); paho's
  thread only parses the JSON, joins the parts and hands the document over.
- A worker thread stores the modelled hours (solarmon.forecast.store), then, on every new
  forecast and every `recompute_s`, recomputes the calibration (solarmon.forecast.calibration),
  today's and tomorrow's curves and the battery outlook (solarmon.forecast.outlook) from the
  history database (read-only), and keeps the result for GET /api/forecast.
- It hands a few numbers on as the live source `forecast` (expected kWh today and tomorrow, SoC
  at sunrise, `cutoff_before_sunrise`), where the built-in alert rule
  `battery_cutoff_before_sunrise` watches them. `cutoff_before_sunrise` is 1 only in the evening
  window (from `evening_from_hour` until sunrise): the alert comes while something can be done.

A library: it imports nothing of the web app. The web app's glue (solarmon/web/forecast.py) passes
in how to open the history read-only, how to read a live value and how to publish one.
"""

from __future__ import annotations

import copy
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from solarmon.forecast.calibration import ArrayCalibration, calibrate
from solarmon.forecast.config import ForecastSettings
from solarmon.forecast.hourly import (
    HOUR_S,
    PV_TOTAL,
    SOC,
    HourStat,
    hour_floor,
    inverter_sources,
    series_hours,
)
from solarmon.forecast.outlook import estimate_capacity_wh, load_profile, project
from solarmon.forecast.store import ForecastStore
from solarmon.mqtt.client import MqttConnection, MqttSettings
from solarmon.weather import forecast_wire as wire

LOG = logging.getLogger(__name__)

ConnectHistory = Callable[[], "sqlite3.Connection | None"]  # a read-only connection, or None
LiveValue = Callable[[str, str], Any]  # (source, catalog key) -> the live value, or None
Publish = Callable[[float, dict[str, Any], dict[str, str]], None]  # (ts, values, units) of `forecast`

SUBSCRIPTIONS = (wire.INDEX_TOPIC, f"forecast/+{wire.PART_SUFFIX}")
LIVE_SOURCE = "forecast"
MAX_DOC_BYTES = 256 * 1024
MAX_HOURS = 24 * 16
STALE_AFTER_S = 3 * 3600.0  # the fetcher runs every 10 minutes: three hours without is a fault


def validate(doc: Any) -> dict[str, Any]:
    """The forecast document if it has the shape the fetcher publishes; ValueError otherwise."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    arrays, hours = doc.get("arrays"), doc.get("hours")
    if not isinstance(arrays, list) or not arrays or not all(isinstance(a, dict) and "name" in a
                                                             for a in arrays):
        raise ValueError("arrays must be a non-empty list of objects with a name")
    if not isinstance(hours, list) or not 0 < len(hours) <= MAX_HOURS:
        raise ValueError(f"hours must be a list of 1..{MAX_HOURS} hours")
    names = {str(a["name"]) for a in arrays}
    for hour in hours:
        if not isinstance(hour, dict) or not isinstance(hour.get("start_ts"), int | float):
            raise ValueError("every hour needs a start_ts")
        power = hour.get("power_w")
        if not isinstance(power, dict) or set(power) != names:
            raise ValueError("every hour needs power_w for each array")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in power.values()):
            raise ValueError("power_w values must be numbers")
    if not isinstance(doc.get("generated_ts"), int | float):
        raise ValueError("generated_ts missing")
    return doc


def local_day(now: float, tz: tzinfo, ahead: int) -> tuple[int, int, str]:
    """[start, end) Unix s and the ISO date of the local day `ahead` days after today's."""
    day = (datetime.fromtimestamp(now, tz) + timedelta(days=ahead)).date()
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return int(start.timestamp()), int(end.timestamp()), day.isoformat()


def day_curve(
    date: str, lo: int, hi: int, hours: Mapping[int, Mapping[str, Any]], factors: Mapping[str, float],
    produced: Mapping[int, HourStat] | None, now: float,
) -> dict[str, Any]:
    """One local day: each hour's expected (calibrated) power, and for today the produced power
    of the hours begun so far; the day's kWh (`model_kwh`: before calibration)."""
    rows, expected_wh, model_wh = [], 0.0, 0.0
    for ts in range(lo, hi, HOUR_S):
        hour = hours.get(ts)
        row: dict[str, Any] = {"start_ts": ts, "expected_w": None}
        if hour is not None:
            watts = sum(w * factors.get(n, 1.0) for n, w in hour["power_w"].items())
            row["expected_w"] = round(watts, 1)
            expected_wh += watts
            model_wh += sum(hour["power_w"].values())
        if produced is not None:
            stat = produced.get(ts)
            row["produced_w"] = round(stat.avg, 1) if stat is not None and ts <= now else None
        rows.append(row)
    day: dict[str, Any] = {"date": date, "expected_kwh": round(expected_wh / 1000, 2),
                           "model_kwh": round(model_wh / 1000, 2), "hours": rows}
    if produced is not None:
        # The hour under way counts for the part of it that has passed.
        wh = sum(s.avg * min(1.0, (now - t) / HOUR_S) for t, s in produced.items() if t <= now)
        day["produced_kwh"] = round(wh / 1000, 2)
    return day


class ForecastService:
    """Build cold; `start()` opens the store, starts the worker and (when configured) MQTT."""

    name = "forecast"

    def __init__(
        self,
        settings: ForecastSettings,
        *,
        store: ForecastStore,
        tz: tzinfo,
        connect_history: ConnectHistory | None = None,
        live_value: LiveValue | None = None,
        publish: Publish | None = None,
        mqtt: MqttSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Build cold. The caller (the web app's glue, a test, a script) passes what the service
        reads and writes outside its own store: `connect_history` opens a read-only connection to
        the history database (None while there is none), `live_value(source, key)` is a live value
        or None, `publish(ts, values, units)` hands the live source `forecast` on."""
        self.settings, self.store, self.tz, self.clock = settings, store, tz, clock
        self._connect_history, self._live_value, self._publish = connect_history, live_value, publish
        self._mqtt_settings = mqtt
        self._connection: MqttConnection | None = None
        self._doc: dict[str, Any] | None = None
        self._index: dict[str, Any] | None = None
        self._parts: dict[str, dict[str, Any]] = {}
        self._fed_ts: Any = None
        self._pending = False
        self._result: dict[str, Any] = {"available": False, "reason": "no forecast received yet"}
        self._errors = {"rejected": 0, "last_error": None}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the store, start the worker, connect to the broker."""
        self.store.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="forecast", daemon=True)
        self._thread.start()
        if self._mqtt_settings is not None:
            self._connection = MqttConnection(self._mqtt_settings, subscriptions=list(SUBSCRIPTIONS),
                                              on_message=self._on_message)
            self._connection.start()

    def stop(self) -> None:
        """Disconnect, stop the worker, close the files."""
        if self._connection is not None:
            self._connection.stop()
            self._connection = None
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.store.close()

    # -- input ----------------------------------------------------------------------------------
    def _on_message(self, message: Any) -> None:
        """paho's thread: parse, join the parts, hand over; nothing else."""
        if len(message.payload) > MAX_DOC_BYTES:
            self._reject(f"{message.topic} larger than 256 KiB")
            return
        try:
            data = json.loads(message.payload)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            with self._lock:
                if message.topic == wire.INDEX_TOPIC:
                    self._index = data
                else:
                    self._parts[message.topic.split("/")[1]] = data
                index, parts = self._index, dict(self._parts)
            doc = wire.join(index, parts) if index is not None else None
            if doc is not None and doc["generated_ts"] != self._fed_ts:
                self._fed_ts = doc["generated_ts"]
                self.feed(doc)
        except ValueError as exc:
            self._reject(f"{message.topic} rejected: {exc}")

    def _reject(self, error: str) -> None:
        with self._lock:
            first = self._errors["last_error"] != error
            self._errors = {"rejected": int(self._errors["rejected"] or 0) + 1, "last_error": error}
        if first:
            LOG.warning("%s", error)

    def feed(self, doc: Any) -> None:
        """Take a forecast document (MQTT or a test); ValueError when it has the wrong shape."""
        doc = validate(doc)
        with self._lock:
            self._doc, self._pending = doc, True
        self._wake.set()

    def refresh(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """Recompute now on the caller's thread (tests, the backtest of a live app); the result."""
        self._save_pending()
        self.recompute()
        return self.snapshot()

    # -- worker ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._save_pending()
                self.recompute()
            except Exception:  # the service must survive a bad hour; the log says what
                LOG.exception("forecast: recompute failed")
            self._wake.wait(self.settings.recompute_s)
            self._wake.clear()

    def _save_pending(self) -> None:
        with self._lock:
            doc, pending, self._pending = self._doc, self._pending, False
        if pending and doc is not None:
            self.store.save(doc["hours"], float(doc["generated_ts"]))

    def _history_conn(self) -> sqlite3.Connection | None:
        # A connection per recompute, closed after it: the worker is the only regular caller
        # (refresh() is for tests), so nothing is shared between threads.
        return self._connect_history() if self._connect_history is not None else None

    def recompute(self) -> None:
        """Calibration, curves and outlook from the latest forecast and the history."""
        with self._lock:
            doc = copy.deepcopy(self._doc)
        if doc is None:
            return
        now = self.clock()
        conn = self._history_conn()
        try:
            result = self._compute(doc, now, conn)
        finally:
            if conn is not None:
                conn.close()
        with self._lock:
            self._result = result
        self._publish_live(result, now)

    def _compute(self, doc: dict[str, Any], now: float, conn: sqlite3.Connection | None) -> dict[str, Any]:
        arrays = doc["arrays"]
        source = self.settings.source
        if not source and conn is not None:
            found = inverter_sources(conn)
            source = found[0] if found else ""
        cal: list[ArrayCalibration] = []
        if conn is not None and source:
            start = hour_floor(now) - self.settings.calibration_days * 86400
            modelled = self.store.modelled(start, hour_floor(now))
            cal = calibrate(conn, source, arrays, modelled, start, hour_floor(now))
        factors = {c.array: c.factor for c in cal}
        hours = {int(h["start_ts"]): h for h in doc["hours"]}

        def expected(hour: Mapping[str, Any]) -> float:
            return sum(w * factors.get(n, 1.0) for n, w in hour["power_w"].items())

        days = {}
        for label, ahead in (("today", 0), ("tomorrow", 1)):
            lo, hi, date = local_day(now, self.tz, ahead)
            produced = series_hours(conn, source, PV_TOTAL, lo, hi) if conn is not None and source else {}
            days[label] = day_curve(date, lo, hi, hours, factors, produced if ahead == 0 else None, now)
        outlook, reason = self._outlook(conn, source, now, hours, expected, arrays, factors)
        calibration = {a["name"]: None for a in arrays}
        for c in cal:
            calibration[c.array] = c.as_dict()
        return {
            "available": True,
            "reason": None,
            "generated_ts": doc["generated_ts"],
            "computed_ts": now,
            "source": source or None,
            "location": doc.get("location"),
            "attribution": doc.get("attribution"),
            "arrays": [{**a, "calibration": calibration.get(a["name"])} for a in arrays],
            "calibration_days": self.settings.calibration_days,
            "today": days["today"],
            "tomorrow": days["tomorrow"],
            "outlook": outlook,
            "outlook_reason": reason,
        }

    def _outlook(
        self, conn: sqlite3.Connection | None, source: str, now: float, hours: Mapping[int, Any],
        expected: Callable[[Mapping[str, Any]], float], arrays: list[dict[str, Any]],
        factors: Mapping[str, float],
    ) -> tuple[dict[str, Any] | None, str | None]:
        if conn is None or not source:
            return None, "no history of an inverter yet"
        soc = self._soc_now(conn, source, now)
        if soc is None:
            return None, "no state of charge (battery_capacity) reported yet"
        profile = load_profile(conn, source, now, self.tz, self.settings.load_days)
        if profile is None:
            return None, "no load history yet (load_power)"
        capacity, how = self.settings.battery_usable_kwh * 1000.0, "configured"
        if capacity <= 0:
            estimate = estimate_capacity_wh(conn, source, now, self.settings.load_days)
            if estimate is None:
                return None, "battery capacity unknown: set forecast.battery_usable_kwh in web.yaml"
            capacity, how = estimate, "estimated"
        pv = {ts: expected(h) for ts, h in hours.items()}
        peak = sum(1000.0 * float(a.get("peak_kw", 1.0)) * factors.get(a["name"], 1.0) for a in arrays)
        result = project(now, soc, capacity, self.settings.cutoff_soc_pct, pv, profile, self.tz,
                         peak_w=peak, capacity_source=how)
        data = result.as_dict()
        data["load_days"] = profile.days
        return data, None

    def _soc_now(self, conn: sqlite3.Connection, source: str, now: float) -> float | None:
        """The live SoC, else the last hour's mean from history."""
        if self._live_value is not None:
            value = self._live_value(source, SOC)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        recent = series_hours(conn, source, SOC, hour_floor(now) - 2 * HOUR_S, hour_floor(now) + HOUR_S)
        return recent[max(recent)].avg if recent else None

    def _publish_live(self, result: Mapping[str, Any], now: float) -> None:
        """The numbers the alert rules and /api/data-style readers see, as the source `forecast`."""
        if self._publish is None:
            return
        values: dict[str, Any] = {
            "expected_today_kwh": result["today"]["expected_kwh"],
            "expected_tomorrow_kwh": result["tomorrow"]["expected_kwh"],
        }
        units = {"expected_today_kwh": "kWh", "expected_tomorrow_kwh": "kWh"}
        outlook = result.get("outlook")
        if outlook:
            sunrise = outlook.get("sunrise_ts")
            hour = datetime.fromtimestamp(now, self.tz).hour
            evening = hour >= self.settings.evening_from_hour or (
                sunrise is not None and now < sunrise and hour < 12)
            values["cutoff_before_sunrise"] = int(bool(outlook["cutoff_before_sunrise"]) and evening)
            units["cutoff_before_sunrise"] = ""
            if outlook.get("soc_at_sunrise_pct") is not None:
                values["soc_at_sunrise_pct"] = outlook["soc_at_sunrise_pct"]
                units["soc_at_sunrise_pct"] = "%"
        self._publish(now, values, units)

    # -- output ---------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The /api/forecast body (a copy), with the forecast's age."""
        with self._lock:
            result = copy.deepcopy(self._result)
        if result.get("generated_ts") is not None:
            result["age_s"] = round(self.clock() - float(result["generated_ts"]), 1)
        return result

    def health(self) -> dict[str, Any]:
        """/api/status entry: failing only for a real fault (broker unreachable, forecast older than
        STALE_AFTER_S); still waiting for a first forecast is not one (no fetcher yet, or no MQTT)."""
        with self._lock:
            result, errors = self._result, dict(self._errors)
        mqtt = self._connection.health().as_dict() if self._connection is not None else None
        error = None
        if mqtt is not None and not mqtt.get("connected"):
            error = f"not connected to the MQTT broker: {mqtt.get('last_error') or 'no answer'}"
        elif result.get("generated_ts") is not None:
            age = self.clock() - float(result["generated_ts"])
            if age > STALE_AFTER_S:
                error = f"the newest forecast is {age / 3600:.1f} h old: is the weather fetcher running?"
        return {"ok": error is None, "error": error, "available": bool(result.get("available")),
                "reason": result.get("reason"), **errors, "mqtt": mqtt}
