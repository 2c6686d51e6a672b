"""The forecast service's edges: its health, documents it refuses, the MQTT split and join."""

from __future__ import annotations

import json
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from solarmon.forecast.config import ForecastSettings
from solarmon.forecast.service import ForecastService, validate
from solarmon.forecast.store import ForecastStore
from solarmon.weather import forecast_wire as wire
from solarmon.weather.config import ArrayConfig
from tests.forecast.conftest import forecast_doc

NOW = datetime(2026, 6, 18, 19, 0, tzinfo=UTC).timestamp()
ARRAYS = tuple(ArrayConfig(f"a{i}", 30, -90 + 30 * i, 10.0) for i in range(8))


def service(tmp_path: Path, now: float) -> ForecastService:
    svc = ForecastService(ForecastSettings(), store=ForecastStore(tmp_path / "f.db"),
                          tz=zoneinfo.ZoneInfo("UTC"), clock=lambda: now)
    svc.store.open()
    return svc


def test_waiting_is_healthy_a_stale_forecast_is_not(tmp_path: Path) -> None:
    svc = service(tmp_path, NOW)
    health = svc.health()
    assert health["ok"] is True
    assert health["available"] is False  # no fetcher yet: nothing to fix in solarmon
    svc.feed(forecast_doc("hourly_mixed_toulouse.json", NOW - 4 * 3600, ARRAYS[:1]))
    body = svc.refresh()
    assert body["available"] is True
    assert body["outlook"] is None
    assert body["outlook_reason"] == "no history of an inverter yet"
    assert svc.health()["ok"] is False
    assert "4.0 h old" in svc.health()["error"]
    svc.store.close()


@pytest.mark.parametrize(("doc", "message"), [
    ([], "not a JSON object"),
    ({"arrays": [], "hours": [{}], "generated_ts": 1}, "arrays must be a non-empty list"),
    ({"arrays": [{"name": "a"}], "hours": [{"start_ts": 0, "power_w": {"b": 1}}], "generated_ts": 1},
     "power_w for each array"),
    ({"arrays": [{"name": "a"}], "hours": [{"start_ts": 0, "power_w": {"a": "x"}}], "generated_ts": 1},
     "must be numbers"),
])
def test_refused_documents(doc: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate(doc)


def test_eight_big_arrays_fit_the_broker_limit_and_join_back() -> None:
    doc = forecast_doc("hourly_clear_south.json", NOW, ARRAYS)
    messages = wire.split(doc)
    assert messages[-1][0] == wire.INDEX_TOPIC  # the index last: the parts are there when it comes
    assert max(len(payload.encode()) for _topic, payload in messages) <= 4096
    index = json.loads(messages[-1][1])
    parts = {topic.split("/")[1]: json.loads(payload) for topic, payload in messages[:-1]}
    joined = wire.join(index, parts)
    assert joined is not None
    assert [h["start_ts"] for h in joined["hours"]] == [h["start_ts"] for h in doc["hours"]]
    assert joined["hours"][40]["power_w"]["a3"] == round(doc["hours"][40]["power_w"]["a3"])
    stale = {**parts, "a0": {**parts["a0"], "generated_ts": 1.0}}
    assert wire.join(index, stale) is None  # a part of another round: wait for the rest


def test_parts_arriving_over_mqtt_are_joined_once(tmp_path: Path) -> None:
    svc = service(tmp_path, NOW)
    doc = forecast_doc("hourly_mixed_toulouse.json", NOW, ARRAYS[:2])
    for topic, payload in wire.split(doc):
        svc._on_message(SimpleNamespace(topic=topic, payload=payload.encode()))
    svc._on_message(SimpleNamespace(topic="forecast/a0/hourly", payload=b"{not json"))
    assert svc.refresh()["generated_ts"] == doc["generated_ts"]
    assert svc.health()["rejected"] == 1
    svc.store.close()
