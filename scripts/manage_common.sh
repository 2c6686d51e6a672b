# Sourced by manage_daemon.sh and manage_web.sh: the helpers both share. Expects ROOT, UNIT and
# ROOTDIR to be set by the caller.
die() { echo "$(basename "$0"): $*" >&2; exit 1; }
need_root() { [ -n "$ROOTDIR" ] || [ "$(id -u)" = 0 ] || die "$1 needs root (try: sudo $0 $1)"; }
live() { [ -z "$ROOTDIR" ]; }

render_unit() {
    # The repo's unit names /opt/solarmon; the installed one names where this checkout really is.
    sed "s#/opt/solarmon#$ROOT#g" "$ROOT/systemd/$UNIT"
}
