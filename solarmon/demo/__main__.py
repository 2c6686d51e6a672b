"""`python -m solarmon.demo`: see solarmon/demo/cli.py."""

import sys

from solarmon.demo.cli import main

sys.exit(main())
