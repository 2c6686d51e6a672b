"""Poll benchmark: our hidraw transport vs mppsolar 0.16.56's hidraw path vs the wire.

Runs the simulator on its hidraw transport (a FUSE file with hidraw semantics) at 2400 baud and,
in one process, measures for each client the QPIGS round trip and a full poll cycle
(QPIGS, QMOD, QPIWS, QPIRI):

- ours: ``InverterLink(HidrawTransport(...))`` — fd kept open, poll() on it, decode included;
- mppsolar: its real ``mppsolar.inout.hidrawio.HIDRawIO`` and ``pi30`` protocol classes, in-process
  (open per command, fixed sleeps per chunk and per read), decode included;
- wire: the bytes each exchange put on the 2400-baud UART (request + reply, 10 bits a byte),
  plus the simulator's turnaround (it counts as "wire": a real inverter has one too).

Prints absolute figures (median of ``--rounds``) and the ratios the project targets:
ours / wire <= 1.15 and mppsolar cycle / ours cycle >= 3. Exit status 0 when both hold.
Usage: ``.venv/bin/python bench/poll_bench.py [--rounds 3] [--json]`` (about 40 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solarmon.inverter.frame import encode_request  # noqa: E402
from solarmon.inverter.link import InverterLink  # noqa: E402
from solarmon.inverter.transport import HidrawTransport  # noqa: E402
from solarmon.inverter.transport.wire import wire_time_s  # noqa: E402
from solarmon.simulator.device import DEFAULT_TURNAROUND_S  # noqa: E402
from solarmon.simulator.runner import SimulatorProcess  # noqa: E402

BAUD = 2400
CYCLE = ("QPIGS", "QMOD", "QPIWS", "QPIRI")
TARGET_WIRE_RATIO = 1.15
TARGET_SPEEDUP = 3.0


@dataclass
class Exchange:
    """One timed exchange: seconds from request to decoded reading, bytes on the wire."""

    command: str
    seconds: float
    wire_bytes: int


def time_ours(link: InverterLink) -> Callable[[str], Exchange]:
    """An exchange function over our link (kept open between calls, like the daemon)."""

    def run(command: str) -> Exchange:
        start = time.perf_counter()
        reading = link.query(command)
        seconds = time.perf_counter() - start
        # The reply on the wire: "(" + payload + 2 CRC bytes + CR.
        wire_bytes = len(encode_request(command)) + 1 + len(reading.payload) + 2 + 1
        return Exchange(command, seconds, wire_bytes)

    return run


def time_mppsolar(path: Path) -> Callable[[str], Exchange]:
    """An exchange function over mppsolar's own hidraw I/O class and PI30 protocol."""
    from mppsolar.inout.hidrawio import HIDRawIO
    from mppsolar.protocols.pi30 import pi30

    io = HIDRawIO(device_path=str(path))
    protocol = pi30()

    def run(command: str) -> Exchange:
        full_command = protocol.get_full_command(command)
        start = time.perf_counter()
        raw = io.send_and_receive(full_command=full_command)
        if isinstance(raw, dict):
            raise RuntimeError(f"mppsolar failed on {command}: {raw}")
        decoded = protocol.decode(raw, command)
        seconds = time.perf_counter() - start
        if "ERROR" in decoded:
            raise RuntimeError(f"mppsolar could not decode {command}: {decoded['ERROR']}")
        return Exchange(command, seconds, len(full_command) + len(raw))

    return run


def measure(run: Callable[[str], Exchange], rounds: int) -> dict[str, list[Exchange]]:
    """QPIGS alone ``rounds`` times, then the full cycle ``rounds`` times."""
    run("QPIGS")  # warm-up: open, lock, first drain
    results: dict[str, list[Exchange]] = {"QPIGS": [], "cycle": []}
    for _ in range(rounds):
        results["QPIGS"].append(run("QPIGS"))
    for _ in range(rounds):
        exchanges = [run(command) for command in CYCLE]
        seconds = sum(e.seconds for e in exchanges)
        results["cycle"].append(Exchange("cycle", seconds, sum(e.wire_bytes for e in exchanges)))
    return results


Results = dict[str, list[Exchange]]


def summarise(ours: Results, theirs: Results, turnaround_s: float) -> dict:
    """Medians and ratios, as a JSON-able dict."""
    summary: dict = {"baud": BAUD, "turnaround_s": turnaround_s}
    for name, commands in (("QPIGS", 1), ("cycle", len(CYCLE))):
        our_s = statistics.median(e.seconds for e in ours[name])
        their_s = statistics.median(e.seconds for e in theirs[name])
        wire_bytes = statistics.median(e.wire_bytes for e in ours[name])
        floor_s = wire_time_s(int(wire_bytes), BAUD) + turnaround_s * commands
        summary[name] = {
            "wire_bytes": int(wire_bytes),
            "wire_s": round(wire_time_s(int(wire_bytes), BAUD), 4),
            "wire_plus_turnaround_s": round(floor_s, 4),
            "ours_s": round(our_s, 4),
            "mppsolar_s": round(their_s, 4),
            "ours_vs_wire": round(our_s / floor_s, 3),
            "mppsolar_vs_ours": round(their_s / our_s, 2),
        }
    return summary


def report(summary: dict) -> str:
    """The human-readable table."""
    lines = [
        f"poll benchmark: simulator hidraw transport at {summary['baud']} baud, "
        f"simulator turnaround {summary['turnaround_s'] * 1000:.0f} ms per command",
        f"{'':8} {'bytes':>6} {'wire+ta s':>10} {'ours s':>8} {'mppsolar s':>11} {'ours/wire':>10} "
        f"{'mpp/ours':>9}",
    ]
    for name in ("QPIGS", "cycle"):
        row = summary[name]
        lines.append(
            f"{name:8} {row['wire_bytes']:>6} {row['wire_plus_turnaround_s']:>10.3f} {row['ours_s']:>8.3f} "
            f"{row['mppsolar_s']:>11.3f} {row['ours_vs_wire']:>10.3f} {row['mppsolar_vs_ours']:>9.2f}"
        )
    lines.append(
        f"targets: ours/wire <= {TARGET_WIRE_RATIO} (QPIGS {summary['QPIGS']['ours_vs_wire']}, cycle "
        f"{summary['cycle']['ours_vs_wire']}); mppsolar/ours cycle >= {TARGET_SPEEDUP} "
        f"({summary['cycle']['mppsolar_vs_ours']})"
    )
    return "\n".join(lines)


def targets_met(summary: dict) -> bool:
    """Both targets hold."""
    return (
        summary["QPIGS"]["ours_vs_wire"] <= TARGET_WIRE_RATIO
        and summary["cycle"]["ours_vs_wire"] <= TARGET_WIRE_RATIO
        and summary["cycle"]["mppsolar_vs_ours"] >= TARGET_SPEEDUP
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 when the targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="repetitions per measurement (median)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed")
    parser.add_argument(
        "--turnaround", type=float, default=DEFAULT_TURNAROUND_S,
        help="simulator's reply delay per command in seconds (counted as wire time)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="poll-bench-") as tmp:
        lock_dir = Path(tmp) / "lock"
        lock_dir.mkdir()
        # Frozen clock (speed 0): every round gets replies of the same length.
        simulator = SimulatorProcess(
            Path(tmp) / "hidraw", transport="hidraw", baud=BAUD, seed=args.seed, speed=0,
            turnaround_s=args.turnaround, control=False,
        )
        with simulator:
            with InverterLink(HidrawTransport(str(simulator.port), baud=BAUD, lock_dir=lock_dir)) as link:
                ours = measure(time_ours(link), args.rounds)
            theirs = measure(time_mppsolar(simulator.port), args.rounds)
    summary = summarise(ours, theirs, args.turnaround)
    print(report(summary))
    if args.json:
        print(json.dumps(summary))
    return 0 if targets_met(summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
