"""Parallel-system poll benchmark: the daemon's cycle for a 3-unit system vs its wire time.

Runs the simulator with ``--units 3 --layout parallel`` at 2400 baud (frozen clock) on hidraw
(FUSE; ``--transport pty`` for a serial port) and drives the daemon's own
:class:`~solarmon.daemon.worker.DeviceWorker` (real link, real transport, ``parallel = auto``)
through poll cycles: QMOD, QPIWS and QPGS0..QPGS2 (QPIRI/QFLAG are due only every
settings_interval and are left out of the timed cycles). For each timed cycle the wire time is
what the truth log says crossed the UART — request and reply bytes at 10 bits a byte — plus the
simulator's turnaround per exchange (a real unit has one too).

Prints the median cycle, its wire time and the ratio; the target is ratio <= 1.15 (exit 0).
Usage: ``.venv/bin/python bench/parallel_bench.py [--cycles 5] [--transport hidraw|pty] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solarmon.daemon.config import load_config  # noqa: E402
from solarmon.daemon.worker import DeviceWorker, open_link  # noqa: E402
from solarmon.inverter.transport.wire import wire_time_s  # noqa: E402
from solarmon.simulator.device import DEFAULT_TURNAROUND_S  # noqa: E402
from solarmon.simulator.runner import SimulatorProcess  # noqa: E402
from solarmon.simulator.truth import exchanges, read_truth_log  # noqa: E402

BAUD = 2400
UNITS = 3
TARGET_WIRE_RATIO = 1.15


def run(cycles: int, transport: str) -> dict:
    """Time ``cycles`` poll cycles after discovery; return the figures."""
    with tempfile.TemporaryDirectory(prefix="solarmon-parbench-") as tmp:
        root = Path(tmp)
        truth = root / "truth.jsonl"
        sim = SimulatorProcess(root / "inv", transport=transport, baud=BAUD, seed=1, speed=0,
                               start="2026-06-21T19:00:00", truth_log=truth,
                               extra_args=("--units", str(UNITS), "--layout", "parallel"))
        with sim.start():
            conf = root / "mpp-solar.conf"
            porttype = "hidraw" if transport == "hidraw" else "serial"
            conf.write_text(f"[SETUP]\ncontrol_socket =\naudit_log = audit.jsonl\n[sys]\nport = {sim.port}\n"
                            f"porttype = {porttype}\nbaud = {BAUD}\nparallel = auto\noutputs = \n"
                            "settings_interval = 86400\n")
            device = load_config(conf).devices[0]
            worker = DeviceWorker(device, open_link, pause_s=60)
            worker.run_cycle()  # discovery, QPIRI, QFLAG
            rows = []
            for _ in range(cycles):
                before = len(exchanges(read_truth_log(truth)))
                start = time.perf_counter()
                worker.run_cycle()
                seconds = time.perf_counter() - start
                time.sleep(0.3)  # the truth log is written by the simulator process
                done = exchanges(read_truth_log(truth))[before:]
                wire_bytes = sum(len(bytes.fromhex(e["request_hex"])) + len(bytes.fromhex(e["sent_hex"]))
                                 for e in done)
                floor = wire_time_s(wire_bytes, BAUD) + DEFAULT_TURNAROUND_S * len(done)
                rows.append({"commands": [e["request"] for e in done], "seconds": seconds,
                             "wire_bytes": wire_bytes, "wire_s": floor})
            worker.stop()
    cycle = statistics.median(r["seconds"] for r in rows)
    wire = statistics.median(r["wire_s"] for r in rows)
    return {"transport": transport, "baud": BAUD, "units": UNITS, "commands": rows[0]["commands"],
            "cycle_s": round(cycle, 3), "wire_s": round(wire, 3), "ratio": round(cycle / wire, 3),
            "target": TARGET_WIRE_RATIO}


def main() -> int:
    """Run and print; exit 0 when the ratio meets the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--transport", choices=("hidraw", "pty"), default="hidraw")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    summary = run(args.cycles, args.transport)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['units']}-unit parallel system, {summary['transport']}, {BAUD} baud: "
              f"cycle {' '.join(summary['commands'])}")
        print(f"  cycle {summary['cycle_s']:.3f} s, wire + turnaround {summary['wire_s']:.3f} s, "
              f"ratio {summary['ratio']:.3f} (target <= {TARGET_WIRE_RATIO})")
    return 0 if summary["ratio"] <= TARGET_WIRE_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
