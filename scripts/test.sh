#!/usr/bin/env bash
# The test command (README.md): sets up everything on a fresh Debian 12 machine, then lints and
# runs the whole test suite. Safe to run again: each step only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
