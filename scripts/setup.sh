#!/usr/bin/env bash
# Sourced by scripts/test.sh and manage_web.sh demo: installs the system packages (when missing and
# when we may), the Python virtual environment and the front-end packages.
set -euo pipefail
APT_PACKAGES=(fuse3 mosquitto prometheus chromium-headless-shell wrk python3-venv nodejs npm systemd prometheus-node-exporter)
if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else SUDO=(false); fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    # node and npm may come from elsewhere (nodesource, nvm): a working command is enough.
    case $pkg in nodejs|npm) command -v "${pkg/nodejs/node}" >/dev/null && continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== apt-get install ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || echo "warning: could not install ${missing[*]}; tests that need them will be skipped" >&2
fi
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "== python venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== pip install"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r requirements-dev.txt
    echo "$want" > "$stamp"
fi
if [ -f package-lock.json ]; then
    lockstamp=node_modules/.lock.sha
    lwant=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ "$(cat "$lockstamp" 2>/dev/null)" != "$lwant" ]; then
        echo "== npm ci"
        npm ci --no-audit --no-fund --silent
        echo "$lwant" > "$lockstamp"
    fi
fi
