"""``python -m solarmon.simulator``: see :mod:`solarmon.simulator.cli`."""

import sys

from solarmon.simulator.cli import main

sys.exit(main())
