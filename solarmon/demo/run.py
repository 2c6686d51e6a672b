"""`python -m solarmon.demo run`: the whole system on the simulator, in one folder, until stopped.

Order: the local HTTP server (Open-Meteo stand-in, alert inbox), the private Mosquitto (when
installed), the history (generated, or filled up to now after an earlier run), the simulator
(resuming from the history's final state), the JK BMS simulator (its pack at the inverter's charge),
the daemon (polling both), the web app, the weather fetcher and the feeds (house sensors, the
BMS's current, outage script). SIGINT (Ctrl-C) or SIGTERM stops every part, newest
first; so does any part that exits on its own.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from solarmon.demo.broker import mosquitto_paths, write_broker_files
from solarmon.demo.configs import SECTION, DemoPorts, Plant, write_configs
from solarmon.demo.feeds import Feeds, control
from solarmon.demo.history import DEMO_PROFILE, fill_demo_history, model_time
from solarmon.demo.http import DemoHttp, weather_forecast, weather_source
from solarmon.demo.parts import Parts, Supervisor, child_env, free_port, lan_address, log_has, port_open
from solarmon.demo.world import World
from solarmon.mqtt.client import MqttSettings
from solarmon.simulator.model import PlantModel
from solarmon.simulator.profiles import get_profile
from solarmon.simulator.state import StateError, load_state
from solarmon.web.history import History

REPO = Path(__file__).resolve().parents[2]
HISTORY_STEP_S = 60.0
START_TIMEOUT_S = 60.0
STATE_FILE = "simulator-state.json"
META_FILE = "history.json"


@dataclass(frozen=True)
class DemoOptions:
    """What `manage_web.sh demo` passes on (DEMO_DIR, DEMO_PORT, DEMO_DAYS, DEMO_TIME)."""

    folder: Path
    port: int = 5000
    days: float = 30.0
    time_of_day: str | None = None  # "HH:MM": the simulated clock shows this at the start
    seed: int = 1
    profile: str = DEMO_PROFILE  # the inverter on a 16-cell LiFePO4 pack, which the JK BMS watches


def clock_offset_s(time_of_day: str | None, now: float) -> float:
    """Seconds the simulated clock runs ahead of (or behind) the wall clock for DEMO_TIME."""
    if not time_of_day:
        return 0.0
    try:
        wanted = datetime.strptime(time_of_day, "%H:%M").time()
    except ValueError:
        raise ValueError(f"DEMO_TIME must be HH:MM (e.g. 12:00), got {time_of_day!r}") from None
    target = datetime.combine(datetime.fromtimestamp(now).date(), wanted)
    return target.timestamp() - now


class Demo(Supervisor):
    """One demo run; `run()` (Supervisor's) returns the exit status."""

    failures = (StateError,)

    def __init__(self, options: DemoOptions, out: TextIO = sys.stdout) -> None:
        self.options = options
        self.folder = options.folder.absolute()
        super().__init__(Parts(self.folder, child_env(REPO)), out)
        self.world = World(options.seed)
        self.profile = get_profile(options.profile)
        self.offset_s = 0.0
        self.http: DemoHttp | None = None
        self.feeds: Feeds | None = None
        self.sockets: Path | None = None  # made by _start(): nothing happens before run()

    # -- start ------------------------------------------------------------------------------------

    def _start(self) -> None:
        folder = self.folder
        self.sockets = Path(tempfile.mkdtemp(prefix="solarmon-demo-"))  # short: AF_UNIX paths are limited
        (folder / "prometheus").mkdir(parents=True, exist_ok=True)
        for stale in [*(folder / "prometheus").glob("*.prom"), folder / "control.sock"]:
            stale.unlink(missing_ok=True)
        now = time.time()
        self.offset_s = clock_offset_s(self.options.time_of_day, now)
        self.http = DemoHttp(weather_source(self.world, self._cloudiness, self._model_now),
                             folder / "notifications.jsonl",
                             weather_forecast(self.world, self._cloudiness, self._model_at))
        self.http.start()
        tools = mosquitto_paths()
        broker_port = free_port() if tools else None
        mqtt_dir = folder / "mqtt" if tools else None
        ports = DemoPorts(web=self.options.port, broker=broker_port, http=self.http.port)
        write_configs(folder, ports, mqtt_dir, Plant.of(self.profile))
        password = self._account()
        self._history()
        if tools and mqtt_dir is not None and broker_port is not None:
            self.say(f"== mosquitto on 127.0.0.1:{broker_port}")
            files = write_broker_files(mqtt_dir, broker_port, tools[1])
            broker = self.parts.spawn("mosquitto", [tools[0], "-c", str(files.config)])
            self.parts.wait_until(broker, port_open(broker_port), 15, "accepting connections")
        else:
            self.say("== mosquitto is not installed: house sensors and weather are off "
                     "(apt-get install mosquitto, then start the demo again)")
        self._simulator()
        self._bms()
        self.say("== daemon")
        python = sys.executable
        self.parts.spawn("daemon", [python, "-m", "solarmon.daemon", "-C", str(folder / "mpp-solar.conf")])
        self.say("== web app")
        web_args = [python, str(REPO / "web_interface.py"), "-c", str(folder / "web.yaml")]
        web = self.parts.spawn("web", web_args)
        self.parts.wait_until(web, log_has(web.log, "listening on "), START_TIMEOUT_S, "listening")
        if mqtt_dir is not None:
            self.say("== weather fetcher, house sensors")
            self.parts.spawn("weather", [sys.executable, str(REPO / "weather_fetcher.py"),
                                         "--config", str(folder / "weather.yaml")])
        self.feeds = Feeds(
            self.world, self._control_socket(), self._model_now,
            house=self._mqtt(mqtt_dir, broker_port, "house-sensor"),
            bms_control=self._bms_socket(),
        )
        self.feeds.start()
        self._banner(password, mqtt_dir is not None, broker_port)

    def _control_socket(self) -> Path:
        assert self.sockets is not None, "_start() makes the folder first"
        return self.sockets / "sim.sock"

    def _bms_socket(self) -> Path:
        assert self.sockets is not None, "_start() makes the folder first"
        return self.sockets / "bms.sock"

    def _model_now(self) -> datetime:
        return model_time(time.time(), self.offset_s)

    def _model_at(self, ts: float) -> datetime:
        return model_time(ts, self.offset_s)

    def _cloudiness(self) -> float:
        return self.feeds.cloudiness() if self.feeds is not None else 0.3

    @staticmethod
    def _mqtt(mqtt_dir: Path | None, port: int | None, user: str) -> MqttSettings | None:
        if mqtt_dir is None or port is None:
            return None
        secret = (mqtt_dir / f"{user}.pass").read_text().strip()
        return MqttSettings(port=port, username=user, password=secret, client_id=f"demo-{user}")

    def _account(self) -> str:
        """The demo's admin account (docs/SECURITY.md): created once, its password kept 0600."""
        secret_file = self.folder / "demo.password"
        if not secret_file.exists() or not secret_file.read_text().strip():
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(18) + "\n")
        password = secret_file.read_text().strip()
        if not (self.folder / "users.json").exists():
            web_yaml = str(self.folder / "web.yaml")
            subprocess.run([sys.executable, str(REPO / "web_interface.py"), "-c", web_yaml,
                            "user", "add", "demo", "--role", "admin"], input=password + "\n", text=True,
                           check=True, capture_output=True, env=self.parts.env)
        return password

    def _history(self) -> None:
        """Generate the history, or fill the time since the last run from the simulator's saved
        state; either way the state at its end is what the simulator starts from."""
        folder, opts = self.folder, self.options
        db, state, meta_file = folder / "history.db", folder / STATE_FILE, folder / META_FILE
        end = time.time()
        model = self._resumable(db, state, meta_file, end)
        if model is None:
            for path in (db, folder / "history.db-wal", folder / "history.db-shm", state):
                path.unlink(missing_ok=True)
            what = f"generating {opts.days:g} days of history"
        else:
            what = f"filling the history since the last run ({(end - model.now.timestamp()) / 3600:.1f} h)"
        self.say(f"== {what}")
        started = time.monotonic()
        history = History(db)
        history.start()
        try:
            rows = fill_demo_history(
                history, opts.days, step_s=HISTORY_STEP_S, section=SECTION, seed=opts.seed,
                profile=opts.profile, end=end, offset_s=self.offset_s, model=model, world=self.world,
                state_path=state)
            history.flush(600.0)
        finally:
            history.stop()
        meta = {"days": opts.days, "time_of_day": opts.time_of_day, "offset_s": self.offset_s,
                "seed": opts.seed, "profile": opts.profile, "end_ts": end, "step_s": HISTORY_STEP_S,
                "readings": rows}
        meta_file.write_text(json.dumps(meta, indent=1) + "\n")
        self.say(f"   {rows} readings in {time.monotonic() - started:.1f} s")

    def _resumable(self, db: Path, state: Path, meta_file: Path, end: float) -> PlantModel | None:
        """The saved model when the last run can be continued: same options, no demo clock, a gap
        shorter than the history itself; else None (a fresh history)."""
        opts = self.options
        if opts.time_of_day or not (db.exists() and state.exists() and meta_file.exists()):
            return None
        try:
            meta = json.loads(meta_file.read_text())
            same = (meta.get("days"), meta.get("seed"), meta.get("profile"), meta.get("time_of_day"))
            if same != (opts.days, opts.seed, opts.profile, None):
                return None
            model = PlantModel.create(self.profile, opts.seed, datetime.fromtimestamp(end))
            load_state(model, state)
        except (OSError, ValueError, StateError):
            return None
        gap = end - model.now.timestamp()
        return model if 0 <= gap < opts.days * 86400 else None

    def _simulator(self) -> None:
        self.say("== simulator")
        start = model_time(time.time(), self.offset_s).replace(microsecond=0)
        out = self.folder / "simulator.out"
        sim = self.parts.spawn("simulator", [
            sys.executable, "-m", "solarmon.simulator", "--port", str(self.folder / "ttySIM"),
            "--transport", "pty",
            "--profile", self.options.profile, "--seed", str(self.options.seed), "--start", start.isoformat(),
            "--state", str(self.folder / STATE_FILE), "--control", str(self._control_socket()),
        ], stdout=out)
        self.parts.wait_until(sim, log_has(out, "ready "), 30, "ready")

    def _bms(self) -> None:
        """The JK BMS of the inverter's pack: as many cells and Ah, at the charge the inverter's bank
        has now; the feeds then hold its current at the inverter's battery current."""
        profile = self.profile
        if profile.battery_chemistry != "lifepo4":
            self.say(f"== no BMS: the {profile.name} profile has a {profile.battery_chemistry} bank")
            return
        soc = control(self._control_socket(), {"op": "snapshot"})["state"]["soc_percent"]
        self.say(f"== JK BMS simulator ({profile.cells} LiFePO4 cells, {profile.battery_ah:g} Ah)")
        out = self.folder / "bms.out"
        bms = self.parts.spawn("bms", [
            sys.executable, "-m", "solarmon.simulator.bms_cli", "--type", "jkbms",
            "--port", str(self.folder / "ttyBMS"), "--cells", str(profile.cells),
            "--capacity", str(profile.battery_ah), "--soc", f"{float(soc):.2f}",
            "--seed", str(self.options.seed), "--control", str(self._bms_socket()),
        ], stdout=out)
        self.parts.wait_until(bms, log_has(out, "ready "), 30, "ready")

    def _banner(self, password: str, mqtt: bool, broker_port: int | None) -> None:
        port, folder = self.options.port, self.folder
        lan = lan_address()
        clock = ("the real time of day" if not self.options.time_of_day else
                 f"{self._model_now():%H:%M} now (DEMO_TIME={self.options.time_of_day}; real time "
                 f"{'+' if self.offset_s >= 0 else '-'}{timedelta(seconds=round(abs(self.offset_s)))})")
        parts = "simulated inverter and JK BMS, daemon, web app, alerts"
        parts += (f", Mosquitto on 127.0.0.1:{broker_port} with house sensors and the weather fetcher"
                  if mqtt else " (no Mosquitto: no house sensors or weather)")
        self.say(f"""
  solarmon demo is running: {parts}.
    dashboard   http://localhost:{port}/{f"   from the LAN: http://{lan}:{port}/" if lan else ""}
                (LCARS: /lcars, charts: /charts, /battery, /house, /alerts)
    API         http://localhost:{port}/api/data  (all of it: /api/openapi.json)
    commands    sign in as demo (admin), password: {password}
    clock       simulated time is {clock}
    alerts      a grid outage every 30 minutes (the first in 90 s); messages in {folder}/notifications.jsonl
    logs        {folder}/{{simulator,bms,daemon,web,weather,mosquitto}}.log
  Ctrl-C stops everything.
""")

    # -- stop -------------------------------------------------------------------------------------

    def _stop(self) -> None:
        if self.feeds is not None:
            self.feeds.stop()
        self.parts.stop_all()
        if self.http is not None:
            self.http.stop()
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)
        self.say(f"demo stopped (logs and history kept in {self.folder})")


def run_demo(options: DemoOptions) -> int:
    """Run the demo in the foreground until SIGINT / SIGTERM."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    options.folder.mkdir(parents=True, exist_ok=True)
    return Demo(options).run()
