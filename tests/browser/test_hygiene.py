"""The browser tests themselves: a wait_for_function predicate is a function, never a bare expression.

Playwright polls a bare expression through ``eval``, which the pages' Content-Security-Policy
(``script-src 'self'``) forbids; such a wait passes only when the expression is already true on the
first try, so it failed on CI once and passed here (stop 20).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _bare_predicates(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "wait_for_function" and node.args):
            continue
        first = node.args[0]
        text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if text is None:
            continue
        head = text.lstrip()
        if not head.startswith(("(", "function", "async")) and "=>" not in head.split("\n")[0]:
            lines.append(node.lineno)
    return lines


def test_the_check_finds_a_bare_expression() -> None:
    assert _bare_predicates('page.wait_for_function("window.x && window.x.y")') == [1]
    assert _bare_predicates('page.wait_for_function("() => window.x")') == []
    assert _bare_predicates('page.wait_for_function(NAME, arg=1)') == []


def test_no_test_waits_on_a_bare_expression() -> None:
    found = {str(path.relative_to(TESTS)): lines for path in sorted(TESTS.rglob("*.py"))
             if (lines := _bare_predicates(path.read_text(encoding="utf-8")))}
    assert found == {}, f"wait_for_function with a bare expression (use '() => ...'): {found}"
