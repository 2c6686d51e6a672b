"""The demo sits on top: it may import the simulator and the web app, they never import it, and
the web app never imports the simulator (issue 12: web/history/demo.py used to)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "solarmon"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for name in imports_of(path):
            if name.startswith(forbidden):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_the_web_app_imports_neither_the_simulator_nor_the_demo() -> None:
    assert offenders("web", ("solarmon.simulator", "solarmon.demo")) == []


def test_nothing_but_the_demo_imports_the_demo() -> None:
    for part in ("web", "simulator", "daemon", "mqtt", "alerts", "weather", "inverter"):
        assert offenders(part, ("solarmon.demo",)) == []
