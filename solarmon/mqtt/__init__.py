"""MQTT: the paho adapter, credentials, payloads, the house-sensor subscriber and Home Assistant
discovery messages.

Only `solarmon.mqtt.client` imports paho; everything else speaks `MqttConnection` and dataclasses.
An adapter below its users: it imports nothing of the daemon or the web app. Their glue lives with
them: the daemon's inverter publisher in `solarmon/daemon/mqtt_inverter.py` and `mqtt_output.py`,
the web app's subscriber wiring in `solarmon/web/house.py`.
"""
