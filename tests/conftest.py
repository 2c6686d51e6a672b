"""Top-level pytest configuration: shared fixtures live in tests/fixtures/ and are loaded here."""

pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.broker",
    "tests.fixtures.webapp",
    "tests.fixtures.chromium",
]


def pytest_collection_modifyitems(items: list) -> None:
    """Run the long end-to-end tests (marked `slow`: the fresh-clone demo, the fleet demo, the
    2-minute outage, the thousand-cycle fault runs) first: with pytest-xdist their files go to the
    workers at the start and run beside the short ones, instead of making a long tail at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
