#!/usr/bin/env bash
# Install solarmon's Mosquitto configuration and create its MQTT users (docs/MQTT.md, "Broker").
#
#   sudo mosquitto/setup.sh            # install, create missing users, restart mosquitto
#   ROOTDIR=/tmp/stage mosquitto/setup.sh   # stage into a directory (tests): no apt, no restart
#
# Every user named in mosquitto/solarmon.acl gets a random password, written ONLY to
# /etc/solarmon/mqtt/<user>.pass (mode 0600, owned by the service that uses it: solarmon-web by the
# web app's user, solarmon-daemon by mpp-solar) and, hashed, to /etc/mosquitto/solarmon.passwd.
# Running it again keeps existing passwords; `--rotate USER` makes a new one. The seed's
# mqttuser/mqtt123 is never created, and removed if an older install left it behind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ROOTDIR=${ROOTDIR:-}
etc_mosq="$ROOTDIR/etc/mosquitto"
etc_pass="$ROOTDIR/etc/solarmon/mqtt"
rotate=()
while [ $# -gt 0 ]; do
    case $1 in
        --rotate) rotate+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | cut -c3-; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$ROOTDIR" ]; then
    [ "$(id -u)" = 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
    if ! command -v mosquitto_passwd >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto
    fi
fi
command -v mosquitto_passwd >/dev/null || { echo "mosquitto_passwd not found (apt install mosquitto)" >&2; exit 1; }

install -d -m 0755 "$etc_mosq/conf.d"
# 0755: services running as their own users reach their own 0600 file (chown below), nothing more.
install -d -m 0755 "$etc_pass"
install -m 0644 "$here/solarmon.conf" "$etc_mosq/conf.d/solarmon.conf"
install -m 0644 "$here/solarmon.acl" "$etc_mosq/solarmon.acl"
passwd_file="$etc_mosq/solarmon.passwd"
[ -f "$passwd_file" ] || install -m 0600 /dev/null "$passwd_file"

# The seed's shared account must not survive an upgrade.
if grep -q '^mqttuser:' "$passwd_file"; then
    mosquitto_passwd -D "$passwd_file" mqttuser
    echo "removed the old shared account mqttuser"
fi

users=$(sed -n 's/^user[[:space:]]\+\([^[:space:]]\+\)[[:space:]]*$/\1/p' "$here/solarmon.acl")
for user in $users; do
    file="$etc_pass/$user.pass"
    new=no
    for r in "${rotate[@]}"; do [ "$r" = "$user" ] && new=yes; done
    if [ ! -s "$file" ] || [ $new = yes ]; then
        # 24 random bytes, URL-safe: no quoting trouble in YAML, env files or shells.
        umask 077
        head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$file.tmp"
        echo >> "$file.tmp"
        mv "$file.tmp" "$file"
        echo "created password for $user in $file"
    fi
    chmod 0600 "$file"
    # The unix user of the service that logs in as this MQTT user gets its file (when it exists);
    # the weather fetcher runs with DynamicUser and receives it through systemd's LoadCredential.
    owner=""
    case $user in
        solarmon-web) owner=${SOLARMON_WEB_USER:-solarmon-web} ;;
        solarmon-daemon) owner=${SOLARMON_DAEMON_USER:-mpp-solar} ;;
    esac
    if [ -z "$ROOTDIR" ] && [ -n "$owner" ] && id "$owner" >/dev/null 2>&1; then
        chown "$owner": "$file"
    fi
    # -b takes the password on the command line: it is visible in ps for an instant, to root only
    # (hidepid aside); mosquitto_passwd has no stdin mode for a single user.
    mosquitto_passwd -b "$passwd_file" "$user" "$(head -n1 "$file")"
done
chmod 0600 "$passwd_file"
if [ -z "$ROOTDIR" ]; then
    # Mosquitto drops root after reading its config: its user must be able to read the files.
    chown mosquitto: "$passwd_file" "$etc_mosq/solarmon.acl" 2>/dev/null || true
    systemctl restart mosquitto
    echo "mosquitto restarted: 127.0.0.1:1883, users: $users"
fi
