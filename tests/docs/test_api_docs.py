"""docs/API.md covers every operation of /api/openapi.json, and no doc names an API path that is gone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.docs.conftest import REPO, markdown_files

API_DOC = REPO / "docs" / "API.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# "GET /api/data", "POST /api/alerts/{id}/ack", "GET /api/historical?hours=": method, path (no query).
MENTION = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/(?:api/|metrics)[A-Za-z0-9_./{}<>:-]*)")


def normal(path: str) -> str:
    """A path with its parameters written alike: `/api/x/{id}` and `/api/x/<id>` -> `/api/x/{}`."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path.rstrip("."))


def mentions(text: str) -> set[tuple[str, str]]:
    """Every (method, normalised path) a Markdown text names."""
    return {(m.group(1), normal(m.group(2))) for m in MENTION.finditer(text)}


@pytest.fixture
def operations(client: Any) -> set[tuple[str, str]]:
    """(METHOD, normalised path) of every operation the app's OpenAPI document describes."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    assert paths, "the OpenAPI document has no paths"
    return {(method.upper(), normal(path)) for path, ops in paths.items() for method in ops
            if method.upper() in METHODS}


@pytest.mark.parametrize(("text", "found"), [
    ("### `GET /api/data?device=`", {("GET", "/api/data")}),
    ("`POST /api/alerts/{id}/ack` and GET /api/alerts/<id>.", {("POST", "/api/alerts/{}/ack"),
                                                              ("GET", "/api/alerts/{}")}),
    ("GET /metrics", {("GET", "/metrics")}),
    ("GET /charts is a page", set()),
])
def test_mentions(text: str, found: set[tuple[str, str]]) -> None:
    assert mentions(text) == found


def test_api_md_documents_every_operation_of_the_openapi_document(operations: set[tuple[str, str]]) -> None:
    documented = mentions(API_DOC.read_text(encoding="utf-8"))
    missing = sorted(operations - documented)
    assert not missing, f"docs/API.md does not document: {[' '.join(op) for op in missing]}"


def test_no_doc_names_an_api_operation_that_does_not_exist(operations: set[tuple[str, str]]) -> None:
    for path in markdown_files():
        stale = sorted(mentions(path.read_text(encoding="utf-8")) - operations)
        assert not stale, f"{path.relative_to(REPO)} names API operations the app lacks: {stale}"
