"""Weather: the Open-Meteo client, the weather.yaml config and the fetch-and-publish service."""
