#!/usr/bin/env bash
# Manage the solarmon inverter daemon (docs/DAEMON.md).
#   manage_daemon.sh install | uninstall        systemd unit + udev rule + user (root)
#   manage_daemon.sh start | stop | restart | status | logs
#   manage_daemon.sh once                       one poll cycle in the foreground, exit 0/1
#   manage_daemon.sh run                        the daemon in the foreground (Ctrl-C stops it)
#   manage_daemon.sh command QPIRI [--confirm] [--device NAME]   send through the control socket
#   manage_daemon.sh render-unit                print the unit as install writes it
#   manage_daemon.sh detect [--section NAME]    ask each unit its protocol (queries only), write it down
# Environment: MPP_SOLAR_CONF (default: mpp-solar.conf next to this script); ROOTDIR stages
# install/uninstall into a folder (no user, udevadm or systemctl: for packaging and tests).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=${MPP_SOLAR_CONF:-$ROOT/mpp-solar.conf}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
UNIT=mpp-solar-daemon.service
RULES=99-mpp-solar.rules
SERVICE_USER=mpp-solar
ROOTDIR=${ROOTDIR:-}
SYSTEMD_DIR=$ROOTDIR/etc/systemd/system
UDEV_DIR=$ROOTDIR/etc/udev/rules.d

# shellcheck source=scripts/manage_common.sh
source "$ROOT/scripts/manage_common.sh"

do_install() {
    need_root install
    [ -x "$PYTHON" ] || die "no Python venv at $PYTHON (run: bash scripts/setup.sh)"
    if live; then
        getent group "$SERVICE_USER" >/dev/null || groupadd --system "$SERVICE_USER"
        getent passwd "$SERVICE_USER" >/dev/null || useradd --system --gid "$SERVICE_USER" \
            --groups dialout --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
        install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 2775 "$ROOT/prometheus"
        install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 3770 "$ROOT/var"  # sticky: only its owner replaces a file (the audit log)
    fi
    install -d "$SYSTEMD_DIR" "$UDEV_DIR"
    render_unit > "$SYSTEMD_DIR/$UNIT"
    chmod 0644 "$SYSTEMD_DIR/$UNIT"
    install -m 0644 "$ROOT/systemd/$RULES" "$UDEV_DIR/$RULES"
    if live; then
        udevadm control --reload || true
        udevadm trigger --subsystem-match=hidraw --action=change || true
        systemctl daemon-reload
        systemctl enable --now "$UNIT"
    fi
    echo "installed $SYSTEMD_DIR/$UNIT and $UDEV_DIR/$RULES"
}

do_uninstall() {
    need_root uninstall
    if live; then
        systemctl disable --now "$UNIT" 2>/dev/null || true
    fi
    rm -f "$SYSTEMD_DIR/$UNIT" "$UDEV_DIR/$RULES"
    if live; then
        systemctl daemon-reload
        udevadm control --reload || true
    fi
    echo "removed $UNIT and $RULES (user $SERVICE_USER and prometheus/ kept)"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    install) do_install ;;
    uninstall) do_uninstall ;;
    start|stop|restart|status) exec systemctl "$cmd" "$UNIT" ;;
    logs) exec journalctl -u "$UNIT" -e --no-pager "$@" ;;
    once) cd "$ROOT" && exec "$PYTHON" -m solarmon.daemon -C "$CONF" --once "$@" ;;
    run) cd "$ROOT" && exec "$PYTHON" -m solarmon.daemon -C "$CONF" "$@" ;;
    command) [ $# -gt 0 ] || die "usage: $0 command CMD [--confirm] [--device NAME]"
        cd "$ROOT" && exec "$PYTHON" -m solarmon.daemon.client -C "$CONF" "$@" ;;
    render-unit) render_unit ;;
    detect) cd "$ROOT" && exec "$PYTHON" -m solarmon.daemon -C "$CONF" --detect "$@" ;;
    *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
