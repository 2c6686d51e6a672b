"""The web app's MQTT slot (EXTENSIONS: solarmon.web.house): house sensors and weather.

The code lives with the rest of the MQTT part, in solarmon/mqtt/webext.py.
"""

from solarmon.mqtt.webext import init_app

__all__ = ["init_app"]
