"""The structure follows the flow (issue 13): the import graph of solarmon has no cycles and points
one way, wire -> codec -> transport -> daemon -> files -> reader -> state -> API -> page.

Every module under solarmon/ is parsed with `ast` (nothing is imported), and every import of a
solarmon module is an edge: top-level, inside functions, under `if TYPE_CHECKING`, and
`importlib.import_module("solarmon....")` with a literal name. The direction tests count every
edge; the cycle tests leave out imports under `if TYPE_CHECKING:`, which never run (the web app's
typed services object names the types of the services that themselves look the context up).
docs/ARCHITECTURE.md ("Packages and the direction of imports") draws the table `ALLOWED` below.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "solarmon"

# Which top-level packages each package may import (besides itself and the shared modules directly
# in solarmon/, such as solarmon.atomicfile and solarmon.confighelper, which import no package).
# Read it bottom-up: the inverter library knows nobody; the MQTT adapter and the simulator know the
# inverter; the daemon uses both adapters; alerts is a library the web app wires (the web app
# imports alerts, never the reverse); forecast is a library too (calibration, battery outlook, its
# service), which reads the weather fetcher's wire format and model, wired by the web app in the
# same way; the demo package may use everything, and is the only consumer of the simulator outside
# tests and bench.
ALLOWED: dict[str, frozenset[str]] = {
    "inverter": frozenset(),
    "mqtt": frozenset({"inverter"}),
    "bms": frozenset({"inverter"}),
    "simulator": frozenset({"inverter", "bms"}),
    "weather": frozenset({"mqtt"}),
    "daemon": frozenset({"inverter", "mqtt", "bms"}),
    "alerts": frozenset({"inverter", "mqtt", "bms"}),
    "forecast": frozenset({"inverter", "mqtt", "weather"}),
    # The site side of a fleet writes configurations from its own settings, and the remote-write
    # encoder feeds tests and bench: shared modules only. The hub itself is web/fleet/.
    "fleet": frozenset(),
    "web": frozenset({"inverter", "mqtt", "alerts", "bms", "forecast"}),
    "demo": frozenset({"inverter", "mqtt", "simulator", "daemon", "alerts", "weather", "web", "bms",
                       "forecast", "fleet"}),
}
SHARED = ""  # the "package" of the modules directly in solarmon/
# Known exceptions, each with the issue that removes it.
EXCEPTIONS: dict[str, frozenset[str]] = {}


@dataclass(frozen=True)
class Edge:
    """One import of a solarmon module by another, with where it is written."""

    source: str
    target: str
    line: int
    typing_only: bool = False  # under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line})"


def module_name(path: Path) -> str:
    """solarmon/web/auth/__init__.py -> solarmon.web.auth; solarmon/web/api.py -> solarmon.web.api."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(root: Path = ROOT) -> dict[str, Path]:
    """Every module under `root` by dotted name."""
    return {module_name(p): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}


def _resolve(modules: Mapping[str, Path], base: str, names: Iterable[str]) -> set[str]:
    """`from base import a, b`: a submodule when `base.a` is one, else the module `base` itself."""
    found = set()
    for name in names:
        candidate = f"{base}.{name}"
        found.add(candidate if candidate in modules else base)
    return found


def imports_of(name: str, path: Path, modules: Mapping[str, Path]) -> list[Edge]:
    """Every solarmon module `name` imports, wherever in the file the import is."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: list[Edge] = []
    typing_only = {id(inner) for node in ast.walk(tree) if _is_type_checking(node)
                   for stmt in node.body for inner in ast.walk(stmt)}  # type: ignore[attr-defined]

    def add(targets: Iterable[str], line: int) -> None:
        for target in targets:
            while target not in modules and "." in target:  # `import solarmon.web.x.attr`
                target = target.rpartition(".")[0]
            if target.startswith("solarmon") and target != name and target in modules:
                edges.append(Edge(name, target, line, id(node) in typing_only))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            add((alias.name for alias in node.names), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.startswith("solarmon"):
                add(_resolve(modules, base, (alias.name for alias in node.names)), node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            add([node.args[0].value], node.lineno)
    return edges


def _is_type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph(root: Path = ROOT) -> list[Edge]:
    """All edges between the modules under `root`."""
    modules = discover(root)
    return [edge for name, path in modules.items() for edge in imports_of(name, path, modules)]


def top_package(module: str) -> str:
    """solarmon.web.auth.views -> web; solarmon.confighelper (a shared module) -> SHARED."""
    parts = module.split(".")
    if len(parts) == 1:
        return SHARED
    return parts[1] if (ROOT / parts[1]).is_dir() else SHARED


def package_of(module: str, modules: Mapping[str, Path]) -> str:
    """The innermost package that holds `module` (a package's __init__ belongs to that package)."""
    path = modules[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def find_cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        if a != b:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _explain(cycles: list[list[str]], edges: list[Edge], node_of: dict[str, str]) -> str:
    """The edges that make up each cycle, for the failure message."""
    lines = []
    for cycle in cycles:
        members = set(cycle)
        lines.append("cycle: " + " <-> ".join(cycle))
        lines += [f"    {e}" for e in edges
                  if node_of[e.source] in members and node_of[e.target] in members
                  and node_of[e.source] != node_of[e.target]]
    return "\n".join(lines)


EDGES = import_graph()
RUNTIME_EDGES = [e for e in EDGES if not e.typing_only]
MODULES = discover()


def test_the_graph_sees_every_kind_of_import():
    """The scanner itself: relative, function-level and importlib imports are all edges."""
    pairs = {(e.source, e.target) for e in EDGES}
    assert len(MODULES) > 100
    assert ("solarmon.daemon.worker", "solarmon.inverter.link") in pairs
    assert any(e.source == "solarmon.inverter.transport" for e in EDGES)  # `from .base import ...`
    assert any(e.typing_only for e in EDGES)
    assert not all(e.typing_only for e in EDGES)


def test_no_cycles_between_modules():
    cycles = find_cycles((e.source, e.target) for e in RUNTIME_EDGES)
    assert not cycles, _explain(cycles, RUNTIME_EDGES, {m: m for m in MODULES})


def test_no_cycles_between_top_level_packages():
    node_of = {m: top_package(m) or "solarmon (shared modules)" for m in MODULES}
    cycles = find_cycles((node_of[e.source], node_of[e.target]) for e in EDGES)
    assert not cycles, _explain(cycles, EDGES, node_of)  # typing-only imports count here too


def test_no_cycles_between_sub_packages_and_their_neighbours():
    """Inside a package, a sub-package (web.auth, web.history, inverter.transport) is one node and
    the parent's own modules are nodes each: web.api -> web.auth -> web.api is a cycle even when no
    single module of web.auth imports web.api back directly."""
    subpackages = sorted({package_of(m, MODULES) for m in MODULES if package_of(m, MODULES).count(".") >= 2})

    def node(module: str) -> str:
        for sub in subpackages:
            if module == sub or module.startswith(sub + "."):
                return sub + " (package)"
        return module

    node_of = {m: node(m) for m in MODULES}
    cycles = find_cycles((node_of[e.source], node_of[e.target]) for e in RUNTIME_EDGES)
    assert not cycles, _explain(cycles, RUNTIME_EDGES, node_of)


def test_imports_follow_the_flow():
    """Each package imports only the packages below it (ALLOWED); shared modules import none."""
    wrong = []
    for edge in EDGES:
        source, target = top_package(edge.source), top_package(edge.target)
        if target in (source, SHARED):
            continue
        allowed = ALLOWED.get(source, frozenset()) | EXCEPTIONS.get(edge.source, frozenset())
        if target not in allowed:
            wrong.append(f"{edge}: {source or 'a shared module'} must not import {target}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("package", "forbidden"), [
    ("inverter", {"daemon", "web", "mqtt", "alerts", "simulator", "weather", "demo"}),
    ("daemon", {"web", "alerts", "simulator", "weather", "demo"}),
    ("web", {"daemon", "simulator", "weather", "demo"}),
    ("alerts", {"daemon", "web", "simulator", "weather", "demo"}),
    ("mqtt", {"daemon", "web", "alerts", "simulator", "weather", "demo"}),
    ("weather", {"forecast", "web", "daemon", "alerts", "simulator", "demo"}),
    ("forecast", {"web", "daemon", "alerts", "simulator", "demo"}),
    ("fleet", {"inverter", "mqtt", "bms", "daemon", "web", "alerts", "forecast", "weather", "simulator",
               "demo"}),
])
def test_named_directions(package, forbidden):
    """The directions issue 13 names, spelled out (ALLOWED implies them; this keeps them if it grows)."""
    wrong = [str(e) for e in EDGES
             if top_package(e.source) == package and top_package(e.target) in forbidden
             and top_package(e.target) not in EXCEPTIONS.get(e.source, frozenset())]
    assert not wrong, "\n".join(wrong)


def test_only_tests_bench_and_demo_use_the_simulator():
    users = sorted({e.source for e in EDGES
                    if top_package(e.target) == "simulator"
                    and top_package(e.source) not in ("simulator", "demo")
                    and "simulator" not in EXCEPTIONS.get(e.source, frozenset())})
    assert not users, f"solarmon.simulator is a test and demo tool; imported by {users}"


def test_exceptions_are_still_needed():
    """An allow-listed module that no longer exists or no longer needs it leaves the list."""
    for module, packages in EXCEPTIONS.items():
        if module not in MODULES:
            continue
        used = {top_package(e.target) for e in EDGES if e.source == module}
        assert packages <= used, f"{module} no longer imports {sorted(packages - used)}: drop the exception"


def test_the_table_itself_is_acyclic():
    cycles = find_cycles((a, b) for a, targets in ALLOWED.items() for b in targets)
    assert not cycles


def test_no_import_guards_around_our_own_modules():
    """A real import bug must fail at start, not become a 503 (issue 13): no module catches
    ImportError or ModuleNotFoundError; the web app's parts are imported and registered by name."""
    guarded = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                if any(isinstance(c, ast.Name) and c.id in ("ImportError", "ModuleNotFoundError")
                       for c in caught):
                    guarded.append(f"{name} line {node.lineno}")
    assert not guarded, guarded
