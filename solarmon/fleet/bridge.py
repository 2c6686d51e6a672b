"""The site broker's bridge to the central broker: alerts and availability out, nothing else.

Mosquitto's bridge (`connection` in the site's mosquitto config) publishes, with the site's own
account over TLS, only these local topics to the central broker, each under `sites/<site>/`:
`<alerts prefix>/#` (one retained message per alert, solarmon/alerts/channels.py), the daemon's
`<daemon prefix>/status` and `<daemon prefix>/+/availability` (solarmon/daemon/mqtt_inverter.py).
House sensors, weather, readings and settings never cross. The bridge's own connection state is
`sites/<site>/bridge/state` (1 / 0, retained; 0 is its last will), so the hub sees a site's link.
The central ACL lets each site's account write only `sites/<site>/#`
(mosquitto/fleet-central.acl.example).
"""

from __future__ import annotations

from solarmon.fleet.settings import SiteSettings

CONF_NAME = "solarmon-fleet-bridge.conf"  # in /etc/mosquitto/conf.d/
KEEPALIVE_S = 60


def remote_prefix(site: str) -> str:
    """Where a site's topics land on the central broker: `sites/<site>/`."""
    return f"sites/{site}/"


def bridged_topics(settings: SiteSettings) -> list[str]:
    """The local topic patterns that cross, in the bridge's order."""
    bridge = settings.bridge
    return [f"{bridge.local_prefix}/#", f"{bridge.daemon_prefix}/status",
            f"{bridge.daemon_prefix}/+/availability"]


def render_bridge_config(settings: SiteSettings, password: str, *, address: str | None = None,
                         ca_file: str | None = None) -> str:
    """The bridge section of the site broker's config. It holds the bridge account's password
    (Mosquitto reads it from no other place): the file must be 0600, root's, outside the checkout.
    `address` / `ca_file` override the settings' (tests point it at a private broker)."""
    bridge = settings.bridge
    prefix = remote_prefix(settings.site)
    lines = [
        f"# solarmon fleet bridge of site {settings.site!r} (docs/FLEET.md, \"Events over MQTT\").",
        f"# Written by ./manage_web.sh fleet-setup from {settings.source}; holds a password: mode 0600.",
        f"connection solarmon-fleet-{settings.site}",
        f"address {address or f'{bridge.central_host}:{bridge.central_port}'}",
        "bridge_protocol_version mqttv311",
        # TLS only, checked against the central CA and the central's host name.
        f"bridge_cafile {ca_file or bridge.ca_file}",
        "bridge_tls_version tlsv1.2",
        "bridge_insecure false",
        # The site's account is named like the site: the central ACL's `pattern write sites/%u/#`.
        f"remote_username {settings.site}",
        f"remote_password {password}",
        f"remote_clientid solarmon-site-{settings.site}",
        # A persistent session: QoS 1 alerts published while the uplink is down are queued here
        # and delivered when it returns.
        "cleansession false",
        "local_clientid solarmon-fleet-bridge",
        "start_type automatic",
        "restart_timeout 5 120",
        f"keepalive_interval {KEEPALIVE_S}",
        "try_private false",
        # The link's own state under the site's prefix (the central ACL allows nothing else).
        "notifications true",
        f"notification_topic {prefix}bridge/state",
        # Outgoing only: the central broker can send nothing into the site.
    ]
    lines += [f"topic {pattern} out 1 \"\" {prefix}" for pattern in bridged_topics(settings)]
    return "\n".join(lines) + "\n"
