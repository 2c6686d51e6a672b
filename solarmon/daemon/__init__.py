"""The inverter daemon: the one process that owns the inverter port.

It polls every configured device on a monotonic schedule, writes one Prometheus text file per
device, and serves a Unix control socket whose requests share the polling queue, so nothing ever
interleaves on the wire. ``python -m solarmon.daemon -C mpp-solar.conf [--once]`` starts it.
"""
