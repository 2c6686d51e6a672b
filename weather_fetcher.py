#!/usr/bin/env python3
"""Weather fetcher entry point (systemd/weather-fetcher.service): see solarmon/weather/cli.py."""

import sys

from solarmon.weather.cli import main

if __name__ == "__main__":
    sys.exit(main())
