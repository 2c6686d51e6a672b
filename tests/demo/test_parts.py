"""The demo's parts, each against the real thing: the simulator resuming a generated history's state
(`--state`), the JK BMS's pack fitting the demo inverter's, the daemon's config, the world's curves,
the local Open-Meteo stand-in read by the real weather client, the apprise inbox fed by real apprise,
the feeds over a real Mosquitto and both simulators, the demo clock."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from solarmon.daemon.config import load_config
from solarmon.demo.configs import BMS_SECTION, SECTION, daemon_conf
from solarmon.demo.feeds import OUTAGE_EVERY_S, OUTAGE_FIRST_S, OUTAGE_LENGTH_S, Feeds, control, outage_due
from solarmon.demo.history import DEMO_PROFILE, fill_demo_history, model_time
from solarmon.demo.http import DemoHttp, weather_source
from solarmon.demo.parts import lan_address
from solarmon.demo.run import clock_offset_s
from solarmon.demo.world import World
from solarmon.simulator.bms_model import BmsPack
from solarmon.simulator.model import Battery, PlantModel
from solarmon.simulator.profiles import get_profile
from solarmon.simulator.runner import BmsSimulatorProcess
from solarmon.simulator.state import StateError, export_state, restore_state
from solarmon.weather.client import VARIABLES, OpenMeteoClient
from solarmon.weather.config import parse_weather_config
from tests.fixtures.broker import Broker, Recorder, settings_for

T_END = datetime(2026, 6, 21, 11, 0).timestamp()  # a summer morning: the sun is up


class Sink:
    """A history stand-in keeping the last inverter update."""

    def __init__(self) -> None:
        self.updates: list[Any] = []

    def submit(self, update: Any) -> None:
        self.updates.append(update)

    def flush(self, timeout_s: float = 10.0) -> bool:
        return True


def test_state_round_trip_continues_the_same_world() -> None:
    profile = get_profile("axpert-5k")
    original = PlantModel.create(profile, 3, datetime(2026, 6, 20, 0, 0))
    original.advance(30 * 3600)
    copy = PlantModel.create(profile, 99, datetime(2026, 1, 1))  # another world, then overwritten
    restore_state(copy, json.loads(json.dumps(export_state(original))))
    original.advance(600)
    copy.advance(600)
    assert copy.snapshot() == original.snapshot()
    assert copy.live_values() == original.live_values()


def test_state_of_another_profile_is_refused() -> None:
    state = export_state(PlantModel.create(get_profile("max-8k"), 1, datetime(2026, 6, 20)))
    with pytest.raises(StateError, match="max-8k"):
        restore_state(PlantModel.create(get_profile("axpert-5k"), 1, datetime(2026, 6, 20)), state)


def test_the_simulator_starts_where_the_generated_history_ends(simulator, tmp_path: Path) -> None:
    # Issue 12: the live simulator began a fresh world (29 % -> 85 % at the seam).
    sink, state = Sink(), tmp_path / "state.json"
    fill_demo_history(sink, 0.5, step_s=60.0, seed=4, end=T_END, state_path=state)
    last = sink.updates[-1].values
    start = model_time(T_END + 5).replace(microsecond=0).isoformat()
    resumed = simulator("pty", seed=4, start=start, profile=DEMO_PROFILE, extra_args=("--state", str(state)))
    fresh = simulator("pty", seed=7, start=start, profile=DEMO_PROFILE)
    now = resumed.control({"op": "snapshot"})["state"]
    other = fresh.control({"op": "snapshot"})["state"]
    assert now["soc_percent"] == pytest.approx(last["battery_capacity"], abs=0.5)
    assert now["battery_voltage"] == pytest.approx(last["battery_voltage"], abs=0.5)
    assert abs(other["soc_percent"] - last["battery_capacity"]) > 1  # a fresh world would jump
    resumed.stop()
    saved = json.loads(state.read_text())  # written again at exit: the next run carries on
    assert datetime.fromisoformat(saved["time"]) >= datetime.fromisoformat(start)


def test_the_generated_history_has_no_second_battery() -> None:
    # The BMS is live only (the daemon's pack1); no battery/# readings invented beside it.
    sink = Sink()
    fill_demo_history(sink, 0.05, step_s=60.0, end=T_END, world=World(1))
    sources = {u.source for u in sink.updates}
    assert sources == {"inverter:demo", "house", "weather"}


def test_house_values_follow_a_smooth_daily_curve() -> None:
    world = World(1)
    day = [world.house(datetime(2026, 12, 7) + timedelta(minutes=m)) for m in range(0, 24 * 60, 1)]
    living = [next(r.value for r in readings if r.name == "living_room/temperature") for readings in day]
    assert 17 < min(living) < max(living) < 25
    assert max(living) - min(living) > 1.0  # a day is visible on the chart
    assert max(abs(b - a) for a, b in itertools.pairwise(living)) < 0.1  # never a step
    names = {r.name for r in day[0]}
    assert {"bedroom/humidity", "kitchen/temperature", "living_room/pressure"} <= names


def _rest_voltages(profile_name: str, soc: float) -> tuple[float, float]:
    """(the inverter model's bank, a BMS pack of as many cells) at rest at ``soc`` (0..1), in V."""
    profile = get_profile(profile_name)
    bank = Battery(cells=profile.cells, capacity_ah=profile.battery_ah, soc=soc,
                   chemistry=profile.battery_chemistry)
    pack = BmsPack(cells=profile.cells, capacity_ah=profile.battery_ah, soc=soc, seed=1)
    pack.cell_soc = [soc] * profile.cells  # no spread: compare the curves, not the seed
    return bank.terminal_v(0.0), pack.pack_voltage


def test_the_demo_inverter_and_its_bms_see_one_pack() -> None:
    # The demo's BMS is a 16-cell LiFePO4 pack: its voltage must be the inverter's battery voltage.
    profile = get_profile(DEMO_PROFILE)
    assert (profile.battery_class_v, profile.cells, profile.battery_chemistry) == (48, 16, "lifepo4")
    for soc in (0.05, 0.2, 0.5, 0.8, 0.95):
        bank, pack = _rest_voltages(DEMO_PROFILE, soc)
        assert bank == pytest.approx(pack, abs=0.05), soc
    # The lead-acid axpert-5k would not fit a LiFePO4 BMS: 3-4 V apart in the middle of the range.
    bank, pack = _rest_voltages("axpert-5k", 0.5)
    assert pack - bank > 3.0
    # Its settings suit the cells: full below the BMS's cell alarm, cut off above its low alarm.
    defaults = profile.defaults
    assert defaults["bulk_v"] / 16 < 3.5
    assert defaults["cutoff_v"] / 16 > 2.9
    assert defaults["battery_type"] == 2  # "user": no lead-acid charging curve


def test_the_demo_inverter_keeps_its_lifepo4_cells_in_range_for_days() -> None:
    model = PlantModel.create(get_profile(DEMO_PROFILE), 1, datetime(2026, 6, 20))
    volts, socs = [], []
    for _ in range(3 * 24 * 12):  # three days, every five minutes
        model.advance(300)
        volts.append(model.snapshot()["battery_voltage"])
        socs.append(model.snapshot()["soc_percent"])
    assert min(volts) > 16 * 3.0  # no BMS alarm on an ordinary day
    assert max(volts) < 16 * 3.55
    assert max(socs) - min(socs) > 30  # days charge and nights drain: the cells are worth a look


def test_the_daemon_polls_the_demo_bms_as_a_jk_section(tmp_path: Path) -> None:
    (tmp_path / "mpp-solar.conf").write_text(daemon_conf(tmp_path))
    config = load_config(tmp_path / "mpp-solar.conf")
    assert [d.name for d in config.devices] == [SECTION, BMS_SECTION]
    bms = config.device(BMS_SECTION)
    assert bms.is_bms
    assert (bms.device_type, bms.protocol) == ("jkbms", "jkserial")
    assert bms.port == str(tmp_path / "ttyBMS")
    assert bms.port != config.device(SECTION).port


def test_the_weather_client_reads_the_local_open_meteo(tmp_path: Path) -> None:
    world, when = World(1), datetime(2026, 6, 21, 12, 0)
    server = DemoHttp(weather_source(world, lambda: 0.2, lambda: when), tmp_path / "inbox.jsonl")
    server.start()
    try:
        config = parse_weather_config(
            {"api": {"base_url": f"http://127.0.0.1:{server.port}/v1/forecast", "retries": 0}})
        observation = OpenMeteoClient(config).fetch()
    finally:
        server.stop()
    expected = world.weather(when, 0.2)
    assert observation.values == {VARIABLES[k]: pytest.approx(v) for k, v in expected.items()}
    assert observation.values["shortwave_radiation"] > 300  # noon in June, light clouds
    assert abs(observation.ts - time.time()) < 900  # the current 15-minute slot


def test_the_local_open_meteo_serves_the_hourly_forecast_to_the_fetchers_model(tmp_path: Path) -> None:
    """The demo's forecast panel needs an hourly body: the real client parses it, the fetcher's
    Forecaster models it (pvlib), and today and tomorrow both have sun in the demo's clock."""
    from solarmon.demo.configs import DEMO_PLANT_ARRAY
    from solarmon.demo.http import weather_forecast
    from solarmon.weather.forecast import Forecaster

    world, now = World(1), time.time()
    server = DemoHttp(lambda: {}, tmp_path / "inbox.jsonl",
                      weather_forecast(world, lambda: 0.2, datetime.fromtimestamp, clock=lambda: now))
    server.start()
    try:
        config = parse_weather_config({"api": {"base_url": f"http://127.0.0.1:{server.port}/v1/forecast",
                                               "retries": 0}, "arrays": [DEMO_PLANT_ARRAY]})
        client = OpenMeteoClient(config)
        hourly = client.fetch_hourly(40, 0)
        forecaster = Forecaster(config, client, clock=lambda: now)
        assert forecaster.run(), forecaster.last_error
    finally:
        server.stop()
    assert len(hourly.start_ts) == 72
    assert hourly.start_ts[0] == now - now % 86400 - 86400 - 3600  # yesterday 00:00 GMT's hour
    doc = forecaster.last
    assert doc is not None
    day = 86400
    first = now - now % day
    energy = {ahead: sum(h["total_w"] for h in doc["hours"] if first + ahead * day <= h["start_ts"]
                         < first + (ahead + 1) * day) / 1000 for ahead in (0, 1)}
    assert all(4.0 < kwh < 40.0 for kwh in energy.values()), energy  # 4 kWp: a few sun hours a day


def test_apprise_json_notifications_land_in_the_inbox(tmp_path: Path) -> None:
    import apprise

    inbox = tmp_path / "notifications.jsonl"
    server = DemoHttp(lambda: {}, inbox)
    server.start()
    try:
        sender = apprise.Apprise()
        assert sender.add(f"json://127.0.0.1:{server.port}/notify")
        assert sender.notify(title="WARNING: grid_lost on demo", body="Grid lost on demo (input 0V)")
    finally:
        server.stop()
    line = json.loads(inbox.read_text().splitlines()[0])
    assert line["body"]["title"] == "WARNING: grid_lost on demo"
    assert line["body"]["message"] == "Grid lost on demo (input 0V)"


def test_outage_script() -> None:
    assert not outage_due(0)
    assert not outage_due(OUTAGE_FIRST_S - 1)
    assert outage_due(OUTAGE_FIRST_S + 1)
    assert not outage_due(OUTAGE_FIRST_S + OUTAGE_LENGTH_S + 1)
    assert outage_due(OUTAGE_FIRST_S + OUTAGE_EVERY_S + 1)


@pytest.mark.timeout(60)
def test_feeds_publish_house_drive_the_bms_and_keep_the_grid(simulator, mqtt_broker: Broker, mqtt_connect,
                                                              tmp_path: Path) -> None:
    sim = simulator("pty", seed=2, profile=DEMO_PROFILE)
    watcher = Recorder()
    admin = mqtt_connect("admin", on_message=watcher)
    admin.subscribe("house/#")
    admin.subscribe("battery/#")
    time.sleep(0.3)
    with BmsSimulatorProcess(tmp_path / "bms", bms_type="jkbms", cells=16, seed=2) as bms:
        bms.control({"op": "set", "current_a": 99.0})  # anything but the inverter's current
        house = settings_for(mqtt_broker, "house-sensor", "t-house")
        feeds = Feeds(World(1), sim.control_path, datetime.now, house=house, bms_control=bms.control_path)
        feeds.start()
        try:
            assert watcher.wait_for(lambda ms: any(m.topic == "house/kitchen/temperature" for m in ms), 15)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and bms.control({"op": "snapshot"})["state"]["current_a"] == 99:
                time.sleep(0.2)
            before = feeds.snapshot()["battery_current_a"]
            held = bms.control({"op": "snapshot"})["state"]["current_a"]
            after = feeds.snapshot()["battery_current_a"]  # a tick may fall in between
            assert min(abs(held - before), abs(held - after)) <= 0.01, (held, before, after)
            assert feeds.snapshot()["grid_available"] is True  # no outage before OUTAGE_FIRST_S
            assert control(sim.control_path, {"op": "snapshot"})["state"]["grid_available"] is True
            assert not watcher.on("battery/cell1")  # one battery: the BMS on its pty, not MQTT
        finally:
            feeds.stop()


def test_demo_time_shifts_the_clock_to_the_given_time_of_day() -> None:
    evening = datetime(2026, 12, 7, 23, 10).timestamp()
    offset = clock_offset_s("12:00", evening)
    assert offset == pytest.approx(-11 * 3600 - 600)
    assert model_time(evening, offset) == datetime(2026, 12, 7, 12, 0)
    assert clock_offset_s(None, evening) == 0.0
    with pytest.raises(ValueError, match="HH:MM"):
        clock_offset_s("noon", evening)


def test_lan_address_is_not_loopback() -> None:
    address = lan_address()
    assert address is None or (not address.startswith("127.") and len(address.split(".")) == 4)
    if address is not None:
        assert all(0 <= int(part) <= 255 for part in address.split("."))
