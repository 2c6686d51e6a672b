"""MQTT benchmark: 10,000 house-sensor messages through a private Mosquitto into the web app.

In one process, against one private broker (the test fixture's, with the project's ACL):

- reference: a bare MqttConnection that only counts what arrives (paho + broker, nothing else);
- ours: the web app built by create_app() with MQTT on and its services started, so every
  message goes through the real path: parse, SensorBoard, the worker, LiveState, the history
  writer, house.prom. One message in `--bad-every` is malformed (NaN, text, too deep...);
- /api/data latency (Flask test client, a daemon-format .prom file in place) measured idle and
  while the burst is processed.

Prints messages/s for both runs, the ratio ours / reference, received + rejected == sent (none
lost), and the /api/data median and p95 idle vs under load. Exit status 0 when nothing was lost
and ours reaches `--target` messages/s (default 2,000).
Usage: ``.venv/bin/python bench/mqtt_bench.py [--messages 10000] [--json]`` (about 10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solarmon.mqtt.client import Message, MqttConnection, MqttSettings  # noqa: E402
from tests.fixtures.broker import ACL_FILE, Broker, settings_for  # noqa: E402
from tests.fixtures.webapp import WebPaths, make_web_config, write_prom  # noqa: E402

BAD_PAYLOADS = (b"nan", b"warm", b"", b"9" * 300, b'{"value": "1"}')
SENSORS = 50
DONE_TIMEOUT_S = 120.0


def payloads(count: int, bad_every: int) -> list[tuple[str, bytes]]:
    """The burst: realistic sensor names and values, one malformed message in `bad_every`."""
    out = []
    for i in range(count):
        if bad_every and i % bad_every == bad_every - 1:
            topic = "house/a/b/c/d" if i % 7 == 0 else f"house/room{i % SENSORS}/temperature"
            out.append((topic, BAD_PAYLOADS[i % len(BAD_PAYLOADS)]))
        elif i % 2:
            out.append((f"house/room{i % SENSORS}/temperature", f"{18 + (i % 70) / 10:.1f}".encode()))
        else:
            out.append(
                (f"house/room{i % SENSORS}/humidity", f'{{"value": {30 + i % 40}, "unit": "%"}}'.encode())
            )
    return out


def burst(broker: Broker, args: argparse.Namespace, done: Callable[[], bool]) -> float:
    """Publish the burst from another process (a sensor is one; no GIL shared with the subject),
    as fast as the broker acknowledges (QoS 1); seconds from its first publish until done()."""
    env = {**os.environ, "SOLARMON_MQTT_PASSWORD": broker.users["house-sensor"]}
    sender = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--send",
            str(broker.port),
            "--messages",
            str(args.messages),
            "--bad-every",
            str(args.bad_every),
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        if sender.stdout is None or sender.stdout.readline().strip() != "ready":
            raise RuntimeError("the sender could not connect")
        start = time.perf_counter()
        deadline = time.monotonic() + DONE_TIMEOUT_S
        while not done() and time.monotonic() < deadline:
            time.sleep(0.001)
        elapsed = time.perf_counter() - start
        sender.wait(timeout=30)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
    return elapsed


def send(port: int, count: int, bad_every: int) -> int:
    """The sender process: connect as house-sensor, say "ready", publish, wait for the acks."""
    conn = MqttConnection(
        MqttSettings(
            port=port,
            username="house-sensor",
            password=os.environ["SOLARMON_MQTT_PASSWORD"],
            client_id="bench-sender",
        )
    )
    conn.start()
    if not conn.wait_connected(10):
        return 1
    messages = payloads(count, bad_every)
    print("ready", flush=True)
    for topic, payload in messages:
        conn.publish(topic, payload, qos=1)
    ok = conn.flush(DONE_TIMEOUT_S)
    conn.stop()
    return 0 if ok else 1


def reference_run(broker: Broker, args: argparse.Namespace) -> dict[str, Any]:
    """A subscriber that only counts: what paho and the broker manage on this machine."""
    count = [0]
    lock = threading.Lock()

    def on_message(_msg: Message) -> None:
        with lock:
            count[0] += 1

    sub = MqttConnection(
        settings_for(broker, "solarmon-web", client_id="bench-ref"),
        subscriptions=["house/#"],
        on_message=on_message,
    )
    sub.start()
    sub.wait_connected(10)
    elapsed = burst(broker, args, lambda: count[0] >= args.messages)
    sub.stop()
    return {"seconds": elapsed, "received": count[0], "msg_per_s": count[0] / elapsed}


def api_latencies(client: Any, stop: threading.Event, out: list[float]) -> None:
    """GET /api/data in a loop until `stop`, recording each request's seconds."""
    while not stop.is_set():
        t0 = time.perf_counter()
        response = client.get("/api/data")
        out.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(
                f"/api/data answered {response.status_code}: {response.get_data(as_text=True)}"
            )
        time.sleep(0.002)


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p95 in milliseconds."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000,
    }


def ours_run(broker: Broker, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The web app's real MQTT path, plus /api/data latency idle and under the burst."""
    from solarmon.web import create_app
    from solarmon.web.runtime import Runtime, get_context

    paths = WebPaths(
        root=workdir,
        prom_dir=workdir / "prometheus",
        db_path=workdir / "history.db",
        control_socket=workdir / "ctl.sock",
        token_file=workdir / "token",
    )
    paths.prom_dir.mkdir()
    secret = workdir / "web.pass"
    secret.write_text(broker.users["solarmon-web"] + "\n")
    secret.chmod(0o600)
    write_prom(
        paths.prom_dir,
        "inverter",
        {
            "battery_voltage": 52.1,
            "pv_input_power": 856,
            "ac_output_active_power": 119,
            "device_mode": "Battery",
        },
    )
    config = make_web_config(
        paths, {"mqtt": {"host": broker.host, "port": broker.port, "password_file": str(secret)}}
    )
    app = create_app(config)
    ctx = get_context(app)
    runtime = Runtime.for_app(app).start()
    try:
        house = ctx.parts.house
        house.wait_connected(10)
        client = app.test_client()
        while client.get("/api/data").status_code != 200:
            time.sleep(0.05)
        idle: list[float] = []
        stop = threading.Event()
        worker = threading.Thread(target=api_latencies, args=(client, stop, idle))
        worker.start()
        time.sleep(1.0)
        stop.set()
        worker.join()
        loaded: list[float] = []
        stop.clear()
        worker = threading.Thread(target=api_latencies, args=(client, stop, loaded))
        worker.start()

        def done() -> bool:
            stats = house.board.stats()
            return stats["accepted_total"] + stats["rejected_total"] >= args.messages

        elapsed = burst(broker, args, done)
        stop.set()
        worker.join()
        stats = house.board.stats()
        history = ctx.parts.history
        history_ok = history.flush(30) if history is not None else None
        return {
            "seconds": elapsed,
            "accepted": stats["accepted_total"],
            "rejected": stats["rejected_total"],
            "rejected_by_reason": stats["rejected"].get("house", {}),
            "msg_per_s": (stats["accepted_total"] + stats["rejected_total"]) / elapsed,
            "queue_dropped": house.health()["queue_dropped"],
            "history_flushed": history_ok,
            "house_prom": (paths.prom_dir / "house.prom").exists(),
            "api_data_idle": summary(idle),
            "api_data_loaded": summary(loaded),
        }
    finally:
        runtime.stop()


def main() -> int:
    """Run both, print the figures; 0 when none was lost and the target was met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--bad-every", type=int, default=20, help="one malformed message in N (0: none)")
    parser.add_argument("--target", type=float, default=2000.0, help="messages/s the web app must reach")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--send", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the sender process
    args = parser.parse_args()
    if args.send:
        return send(args.send, args.messages, args.bad_every)
    expected_bad = sum(
        1 for i in range(args.messages) if args.bad_every and i % args.bad_every == args.bad_every - 1
    )
    with tempfile.TemporaryDirectory(prefix="mqtt-bench-") as tmp:
        broker = Broker(workdir=Path(tmp) / "broker")
        broker.workdir.mkdir()
        broker.configure(ACL_FILE.read_text())
        broker.start()
        try:
            reference = reference_run(broker, args)
            (Path(tmp) / "web").mkdir()
            ours = ours_run(broker, args, Path(tmp) / "web")
        finally:
            broker.stop()
    lost = args.messages - ours["accepted"] - ours["rejected"]
    result = {
        "messages": args.messages,
        "expected_rejected": expected_bad,
        "reference": reference,
        "ours": ours,
        "lost": lost,
        "ratio_ours_vs_reference": ours["msg_per_s"] / reference["msg_per_s"],
        "api_data_median_ratio_loaded_vs_idle": ours["api_data_loaded"]["median_ms"]
        / ours["api_data_idle"]["median_ms"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"messages: {args.messages} ({expected_bad} malformed)")
        print(
            f"reference (count only): {reference['msg_per_s']:,.0f} msg/s, received {reference['received']}"
        )
        print(
            f"ours (web app, full path): {ours['msg_per_s']:,.0f} msg/s in {ours['seconds']:.2f} s; "
            f"accepted {ours['accepted']}, rejected {ours['rejected']}, lost {lost}, "
            f"queue dropped {ours['queue_dropped']}"
        )
        print(f"ratio ours / reference: {result['ratio_ours_vs_reference']:.2f}")
        idle, loaded = ours["api_data_idle"], ours["api_data_loaded"]
        print(
            f"/api/data idle: median {idle['median_ms']:.2f} ms, p95 {idle['p95_ms']:.2f} ms "
            f"(n={idle['n']}); "
            f"under the burst: median {loaded['median_ms']:.2f} ms, p95 {loaded['p95_ms']:.2f} ms "
            f"(n={loaded['n']}); median ratio {result['api_data_median_ratio_loaded_vs_idle']:.2f}"
        )
    ok = lost == 0 and ours["rejected"] == expected_bad and ours["msg_per_s"] >= args.target
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
