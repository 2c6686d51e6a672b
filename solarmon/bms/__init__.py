"""Battery management systems (issue 18): JK and Daly codecs, their field catalog and readings.

The codecs turn bytes into :class:`~solarmon.bms.readings.BmsReading` and never ask where the
bytes came from (serial, RS485, a capture); a frame that fails its checks raises a
:class:`~solarmon.bms.errors.FrameError` with a kind and is never turned into values. Facts:
docs/PROTOCOLS-JKBMS.md and docs/PROTOCOLS-DALY.md.
"""
