#!/usr/bin/env bash
# Sourced by scripts/test.sh (SETUP_FOR=test, the default), manage_web.sh demo (SETUP_FOR=demo) and
# manage_web.sh fleet-demo (SETUP_FOR=fleet-demo: Prometheus and VictoriaMetrics instead of Mosquitto):
# installs the system packages (when missing and when we may: root or sudo), the Python virtual
# environment and the front-end packages. The demo needs only the runtime requirements, Mosquitto
# and the front-end packages; the tests add Chromium, Prometheus (also in agent mode, the fleet's
# push), VictoriaMetrics (the fleet's central store), openssl (throwaway TLS certificates), wrk,
# FUSE and the dev requirements. Each step keeps a stamp, so a second run does nothing, and a test
# run after a demo installs the dev requirements on top (its own stamp).
set -euo pipefail
SETUP_FOR=${SETUP_FOR:-test}
case $SETUP_FOR in
    demo) APT_PACKAGES=(python3-venv nodejs npm mosquitto)
          REQUIREMENTS=(requirements.txt) ;;
    fleet-demo) APT_PACKAGES=(python3-venv nodejs npm prometheus victoria-metrics)
          REQUIREMENTS=(requirements.txt) ;;
    test) APT_PACKAGES=(fuse3 mosquitto prometheus chromium-headless-shell wrk python3-venv nodejs npm
                        systemd prometheus-node-exporter victoria-metrics openssl)
          REQUIREMENTS=(requirements.txt requirements-dev.txt) ;;
    *) echo "scripts/setup.sh: SETUP_FOR must be demo, fleet-demo or test, not $SETUP_FOR" >&2
       return 2 2>/dev/null || exit 2 ;;
esac
if [ "$(id -u)" = 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else SUDO=(false); fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    # node and npm may come from elsewhere (nodesource, nvm): a working command is enough.
    case $pkg in nodejs|npm) command -v "${pkg/nodejs/node}" >/dev/null && continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== apt-get install ${missing[*]}"
    { "${SUDO[@]}" apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null; } \
        || echo "warning: could not install ${missing[*]} (not root, no sudo?); the parts that need them are off" >&2
fi
# The interpreter that creates the venv is the system's; everything after runs inside the venv.
BOOTSTRAP_PYTHON=${BOOTSTRAP_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "== python venv"
    "$BOOTSTRAP_PYTHON" -m venv .venv
fi
# One stamp per requirement set: the dev set includes the runtime one, so either stamp being
# current satisfies the demo, while the tests need the dev stamp.
requirements_sha() { cat "$@" | sha256sum | cut -d' ' -f1; }
dev_stamp=.venv/.requirements.sha
runtime_stamp=.venv/.requirements-runtime.sha
if [ "$SETUP_FOR" = test ]; then
    stamp=$dev_stamp
    want=$(requirements_sha requirements.txt requirements-dev.txt)
    satisfied=$([ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && echo yes || echo no)
else
    stamp=$runtime_stamp
    want=$(requirements_sha requirements.txt)
    satisfied=no
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && satisfied=yes
    [ "$(cat "$dev_stamp" 2>/dev/null)" = "$(requirements_sha requirements.txt requirements-dev.txt)" ] && satisfied=yes
fi
if [ "$satisfied" != yes ]; then
    echo "== pip install -r ${REQUIREMENTS[-1]}"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r "${REQUIREMENTS[-1]}"
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
