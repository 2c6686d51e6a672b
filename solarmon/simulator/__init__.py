"""A PI30 inverter simulator: a physical model behind real device semantics (pty or FUSE hidraw).

Run it with ``python -m solarmon.simulator`` (see :mod:`solarmon.simulator.cli` and
docs/SIMULATOR.md), start it from tests with :class:`solarmon.simulator.runner.SimulatorProcess`,
or use it in-process with :class:`solarmon.simulator.inverter.Inverter`.
"""
