"""Fixtures of the demo tests: the web data path's started histories (tests/web_data)."""

from tests.web_data.conftest import clock, history, make_history  # noqa: F401  (pytest fixtures)
