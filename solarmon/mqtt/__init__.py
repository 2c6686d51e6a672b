"""MQTT: the paho adapter, house-sensor subscriber, inverter publisher and Home Assistant discovery.

Only `solarmon.mqtt.client` imports paho; everything else speaks `MqttConnection` and dataclasses.
"""
