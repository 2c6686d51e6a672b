"""The demo: the whole system on the simulator, with a generated history and simulated
surroundings (house sensors, a BMS, Open-Meteo, an alert inbox). `./manage_web.sh demo` runs
`python -m solarmon.demo run`; docs/DEMO.md describes the parts.

Demo-only code lives here, so the web app and the simulator never import each other: this package
may import both (and the MQTT client), nothing imports it.
"""
