#!/usr/bin/env bash
# The test command (README.md): sets up everything on a fresh Debian 12 machine, then lints and
# runs the whole test suite. Safe to run again: each step only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== pytest"
# Most tests wait on real parts (ptys at 2400 baud, brokers, browsers), not on the CPU: two
# workers, one per core of a small machine, nearly halve the wall time (three were faster still,
# but on a loaded 2-core machine the tests that wait on real parts then missed their moments).
# --dist loadfile keeps a file's tests (and its module fixtures) in one worker.
# SOLARMON_TEST_WORKERS=0 runs in one process.
workers="${SOLARMON_TEST_WORKERS:-2}"
if [ "$workers" = 0 ]; then
    exec .venv/bin/python -m pytest --durations=25 "$@"
fi
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile --durations=25 "$@"
