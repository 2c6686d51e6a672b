"""PI18 (InfiniSolar V family, docs/PROTOCOLS-PI18.md): framing, tables, codec, setting rules.

The PI18 modules mirror the PI30 ones (``frame``, ``tables``, ``codec``, ``policy``) and produce
the same things: :class:`~solarmon.inverter.frame.ReplyFrame` (an ``^1`` / ``^0`` answer becomes
the payload ``ACK`` / ``NAK``), typed :class:`~solarmon.inverter.readings.Reading` subclasses
whose fields carry catalog keys, and the same :class:`~solarmon.inverter.policy.CommandClass`
verdicts and :class:`~solarmon.inverter.errors.SettingRejected` refusals.
"""

PROTOCOL = "pi18"
