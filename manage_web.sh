#!/usr/bin/env bash
# Manage the solarmon web interface (docs/API.md, docs/CONFIGURATION.md).
#   manage_web.sh demo                          the whole system on the simulator: inverter, daemon,
#                                               web app, Mosquitto, house sensors, BMS, weather,
#                                               alerts, 30 days of history (Ctrl-C stops it)
#   manage_web.sh fleet-demo                    a fleet on this machine: a central VictoriaMetrics, a
#                                               hub (/fleet) and three simulated sites, one with an
#                                               uplink that drops now and then (Ctrl-C stops it)
#   manage_web.sh install | uninstall           systemd unit + user (root)
#   manage_web.sh start | stop | restart | status | logs
#   manage_web.sh run                           the web app in the foreground with web.yaml
#   manage_web.sh render-unit                   print the unit as install writes it
#   manage_web.sh mqtt-setup [--rotate USER]    install the Mosquitto config and users (root;
#                                               runs mosquitto/setup.sh with these arguments)
#   manage_web.sh fleet-setup [--create-token]  push this site to a fleet (docs/FLEET.md): from
#                                               fleet-site.yaml, write the Prometheus agent's config
#                                               and unit and the Mosquitto bridge, start them (root)
# Environment: WEB_YAML (default: web.yaml next to this script); ROOTDIR stages install/uninstall
# and mqtt-setup into a folder (no user, no systemctl: for packaging and tests). For the demo
# (docs/DEMO.md): DEMO_PORT (default 5000), DEMO_DIR (default var/demo), DEMO_DAYS (history to
# generate, default 30), DEMO_TIME (HH:MM the simulated clock starts at; default the real time).
# fleet-setup: FLEET_YAML (default: fleet-site.yaml next to this script). fleet-demo: FLEET_DEMO_PORT
# (the hub's, default 5000), FLEET_DEMO_DIR (default var/fleet-demo).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WEB_YAML=${WEB_YAML:-$ROOT/web.yaml}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
UNIT=mpp-solar-web.service
SERVICE_USER=solarmon-web
DAEMON_GROUP=mpp-solar
ROOTDIR=${ROOTDIR:-}
SYSTEMD_DIR=$ROOTDIR/etc/systemd/system

# shellcheck source=scripts/manage_common.sh
source "$ROOT/scripts/manage_common.sh"

do_install() {
    need_root install
    [ -x "$PYTHON" ] || die "no Python venv at $PYTHON (run: bash scripts/setup.sh)"
    if live; then
        getent group "$DAEMON_GROUP" >/dev/null || groupadd --system "$DAEMON_GROUP"
        getent group "$SERVICE_USER" >/dev/null || groupadd --system "$SERVICE_USER"
        getent passwd "$SERVICE_USER" >/dev/null || useradd --system --gid "$SERVICE_USER" \
            --groups "$DAEMON_GROUP" --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin \
            "$SERVICE_USER"
        install -d -m 3770 -g "$DAEMON_GROUP" "$ROOT/var"
        "$PYTHON" "$ROOT/web_interface.py" -c "$WEB_YAML" --check
    fi
    install -d "$SYSTEMD_DIR"
    render_unit > "$SYSTEMD_DIR/$UNIT"
    chmod 0644 "$SYSTEMD_DIR/$UNIT"
    if live; then
        systemctl daemon-reload
        systemctl enable --now "$UNIT"
    fi
    echo "installed $SYSTEMD_DIR/$UNIT"
}

do_uninstall() {
    need_root uninstall
    if live; then
        systemctl disable --now "$UNIT" 2>/dev/null || true
    fi
    rm -f "$SYSTEMD_DIR/$UNIT"
    if live; then
        systemctl daemon-reload
    fi
    echo "removed $UNIT (user $SERVICE_USER and the history database kept)"
}

# -- fleet-setup: this site's agent and bridge (solarmon/fleet/, docs/FLEET.md) ----------------------
do_fleet_setup() {
    need_root fleet-setup
    [ -x "$PYTHON" ] || die "no Python venv at $PYTHON (run: bash scripts/setup.sh)"
    # Exit status 2 (a bad setting or secret file, named on stderr) stops here, before systemctl.
    "$PYTHON" -m solarmon.fleet setup --settings "${FLEET_YAML:-$ROOT/fleet-site.yaml}" \
        --web-yaml "$WEB_YAML" --checkout "$ROOT" --root "$ROOTDIR" "$@"
    if live; then
        # agent.kind: Prometheus in agent mode (package prometheus) or vmagent (victoria-metrics).
        agent=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' /etc/systemd/system/solarmon-fleet-agent.service)
        if [ ! -x "$agent" ]; then
            pkg=prometheus; [ "$(basename "$agent")" = vmagent ] && pkg=victoria-metrics
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg"
        fi
        systemctl daemon-reload
        systemctl enable solarmon-fleet-agent.service
        systemctl restart solarmon-fleet-agent.service
        if [ -f /etc/mosquitto/conf.d/solarmon-fleet-bridge.conf ]; then
            # Still 0600; Mosquitto's own user re-reads it on a reload (SIGHUP).
            chown mosquitto: /etc/mosquitto/conf.d/solarmon-fleet-bridge.conf 2>/dev/null || true
            systemctl restart mosquitto
        fi
    fi
}

# -- fleet-demo: a store, a hub and three sites (solarmon/demo/fleet.py, docs/FLEET.md) -------------
do_fleet_demo() {
    cd "$ROOT"
    SETUP_FOR=fleet-demo
    # shellcheck source=scripts/setup.sh
    source scripts/setup.sh
    export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
    exec "$ROOT/.venv/bin/python" -m solarmon.demo fleet --dir "${FLEET_DEMO_DIR:-$ROOT/var/fleet-demo}" \
        --port "${FLEET_DEMO_PORT:-5000}" "$@"
}

# -- demo: every part on the simulator, under var/demo/ (solarmon/demo/, docs/DEMO.md) ----------
do_demo() {
    cd "$ROOT"
    # The venv does not exist yet on a fresh clone: setup.sh makes it with the system's python3.
    SETUP_FOR=demo
    # shellcheck source=scripts/setup.sh
    source scripts/setup.sh
    export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
    # exec: Ctrl-C and SIGTERM reach the demo's supervisor, which stops every part.
    exec "$ROOT/.venv/bin/python" -m solarmon.demo run --dir "${DEMO_DIR:-$ROOT/var/demo}" \
        --port "${DEMO_PORT:-5000}" --days "${DEMO_DAYS:-30}" ${DEMO_TIME:+--time "$DEMO_TIME"}
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    demo) do_demo ;;
    fleet-demo) do_fleet_demo "$@" ;;
    install) do_install ;;
    uninstall) do_uninstall ;;
    start|stop|restart|status) exec systemctl "$cmd" "$UNIT" ;;
    logs) exec journalctl -u "$UNIT" -e --no-pager "$@" ;;
    run) cd "$ROOT" && exec "$PYTHON" "$ROOT/web_interface.py" -c "$WEB_YAML" "$@" ;;
    render-unit) render_unit ;;
    mqtt-setup) exec bash "$ROOT/mosquitto/setup.sh" "$@" ;;
    fleet-setup) do_fleet_setup "$@" ;;
    *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
