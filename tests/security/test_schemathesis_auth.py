"""The schemathesis run with authentication: the OpenAPI document holds for callers with tokens.

A healthy app (history filled, a daemon on the socket, live data) with `public_read: false`, so the
guard is in every call: each read operation is fuzzed with a viewer token and without any (every
answer must be documented, 401 included), POST /api/command with an operator token (dangerous
commands then come back 403, which the document lists) and with an admin token.
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.generation import GenerationMode

from solarmon.web import create_app
from solarmon.web.openapi import build_document
from solarmon.web.runtime import Runtime
from tests.fixtures.webapp import WebPaths, make_web_config, seed_running_app
from tests.security.conftest import make_secured
from tests.web.test_openapi import fuzz

READ_PATHS = [path for path, item in build_document()["paths"].items()
              if "get" in item and path != "/api/stream"]


@pytest.fixture(scope="module")
def private_app(tmp_path_factory):
    """A healthy app with public_read false, accounts and a token per role."""
    root = tmp_path_factory.mktemp("schema-auth")
    (root / "prometheus").mkdir()
    paths = WebPaths(root, root / "prometheus", root / "h.db", root / "c.sock", root / "none")
    app = create_app(make_web_config(paths, {"daemon": {"command_token_file": ""},
                                             "security": {"public_read": False}}))
    secured = make_secured(app)
    runtime = Runtime.for_app(app).start()
    daemon = seed_running_app(app, paths, minutes=20)
    yield app, secured.tokens, daemon
    daemon.close()
    runtime.stop()


@pytest.fixture(scope="module")
def private_schema(private_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", private_app[0],
                                          headers={"Authorization": f"Bearer {private_app[1]['viewer']}"})


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize("who", ["viewer", None], ids=["viewer-token", "anonymous"])
def test_read_operations_hold_with_and_without_a_token(private_app, private_schema, path, who):
    headers = {"Authorization": f"Bearer {private_app[1][who]}"} if who else {}
    fuzz(private_schema, path, "GET", GenerationMode.POSITIVE, headers=headers)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("role", ["operator", "admin"])
def test_commands_with_a_token_hold_the_document(private_app, private_schema, role, mode):
    before = len(private_app[2].requests)
    token = private_app[1][role]
    fuzz(private_schema, "/api/command", "POST", mode, headers={"Authorization": f"Bearer {token}"})
    if mode is GenerationMode.POSITIVE and role == "admin":
        # Made-up commands are UNKNOWN to the policy: only an admin's reach the daemon.
        assert len(private_app[2].requests) > before


def test_anonymous_reads_are_refused_when_reading_is_private(private_app):
    client = private_app[0].test_client()
    for path in READ_PATHS:
        assert client.get(path).status_code == 401, path
