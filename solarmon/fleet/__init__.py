"""The site side of a fleet (issue 19, docs/FLEET.md): what a site needs to push to a central store.

A site runs Prometheus in agent mode, which scrapes the site's web app `/metrics` (and, when
present, node_exporter's textfile collector with the daemon's files) and remote-writes every
sample, labelled `site="<name>"`, to a central VictoriaMetrics; its WAL holds the samples while the
uplink is down. Its Mosquitto bridges the site's alerts and availability to a central broker under
`sites/<site>/...`. This package turns a few settings (`fleet-site.yaml`: central URL, site name,
credentials files) into those configurations: `settings` (load and check), `agent` (the agent's
config, command line and systemd unit), `bridge` (the Mosquitto bridge), `setup` (writes them,
`./manage_web.sh fleet-setup`); and `remotewrite` encodes samples for a store's remote-write API
(the tests and bench/fleet_bench.py feed a central store with it; the hub is `solarmon/web/fleet/`).
It imports only the shared modules (confighelper, atomicfile).
"""
