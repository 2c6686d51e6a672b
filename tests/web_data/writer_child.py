"""A process that writes the history as fast as readings come (run by test_kill.py, killed -9).

Usage: python -m tests.web_data.writer_child DB_PATH. It prints "submitted <ts>" after every 20
readings and "written <rows>" when the writer reports progress, flushing stdout each time.
"""

from __future__ import annotations

import sys
import time

from solarmon.web.history import History
from solarmon.web.state import SourceUpdate


def main(path: str) -> None:
    """Write readings of 25 metrics every 5 ms of wall time until killed."""
    history = History(path, commit_interval_s=0.25)
    history.start()
    metrics = [f"metric_{i}" for i in range(23)]
    n = 0
    while True:
        ts = time.time()
        values = {m: float(n % 97) for m in metrics}
        values.update({"pv_input_power": 500.0, "ac_output_active_power": 300.0})
        history.submit(SourceUpdate("inverter:kill", ts, values))
        n += 1
        if n % 20 == 0:
            print(f"submitted {ts:.3f} written {history.status()['rows_written']}", flush=True)
        time.sleep(0.005)


if __name__ == "__main__":
    main(sys.argv[1])
