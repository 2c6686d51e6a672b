"""Top-level pytest configuration: shared fixtures live in tests/fixtures/ and are loaded here."""

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.broker",
    "tests.fixtures.webapp",
    "tests.fixtures.chromium",
]
