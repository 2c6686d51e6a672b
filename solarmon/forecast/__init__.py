"""PV forecast and battery outlook (docs/FORECAST.md).

Split by process: `model` (pvlib, numpy) runs in the weather fetcher only; `calibration`,
`outlook`, `hourly`, `store` and `service` are plain Python for the web app, which must never
import pvlib or pandas (tests/forecast/test_imports.py); `backtest` is a command-line tool.
"""
