"""The OpenAPI document against the app: schemathesis drives every operation, in-process (WSGI).

The app runs healthy (history started and filled, a daemon on the control socket, live data) so
that a 5xx can only mean a bug: no generated input may produce one, and every response must match
the documented status codes, content types and schemas.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from solarmon.web import create_app
from solarmon.web.openapi import build_document
from solarmon.web.runtime import Runtime
from tests.fixtures.webapp import TOKEN, make_web_config, seed_running_app


@pytest.fixture(scope="module")
def healthy_app(tmp_path_factory):
    from tests.fixtures.webapp import WebPaths

    root = tmp_path_factory.mktemp("openapi")
    (root / "prometheus").mkdir()
    token = root / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    paths = WebPaths(root, root / "prometheus", root / "h.db", root / "c.sock", token)
    app = create_app(make_web_config(paths))
    runtime = Runtime.for_app(app).start()
    daemon = seed_running_app(app, paths, minutes=60)
    yield app
    daemon.close()
    runtime.stop()


@pytest.fixture(scope="module")
def web_schema(healthy_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", healthy_app)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Every documented operation but the live stream (an endless response; tests/web/test_stream.py).
# Negative cases (invalid input) exist only for operations that take input.
CASES = [pytest.param(path, method.upper(), mode, id=f"{method.upper()} {path} {mode.value}")
         for path, item in build_document()["paths"].items() if path != "/api/stream"
         for method, spec in item.items()
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def fuzz(web_schema, path: str, method: str, mode: GenerationMode, headers: dict | None = None) -> None:
    """Run schemathesis' generated cases of one operation through the app with the checks."""
    operation = web_schema[path][method]

    # Driven through hypothesis directly: schemathesis' pytest plugin needs a newer pytest.
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_no_generated_input_breaks_the_api(web_schema, path, method, mode):
    fuzz(web_schema, path, method, mode)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_commands_with_the_token_reach_the_daemon_without_5xx(web_schema, mode):
    fuzz(web_schema, "/api/command", "POST", mode, headers={"Authorization": f"Bearer {TOKEN}"})


def test_the_document_lists_every_api_route():
    app = create_app()
    documented = set(build_document()["paths"])
    # Flask writes a path parameter <site> (or <string:site>), OpenAPI {site}.
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") or rule.rule == "/metrics"}
    assert routes == documented


def test_the_document_is_served(client):
    body = client.get("/api/openapi.json").json
    assert body["openapi"].startswith("3.")
    assert "/api/data" in body["paths"]


def test_every_read_body_matches_its_declared_schema(healthy_app):
    """Defect 6: one shape per endpoint. Each body of a healthy app (an inverter, a house sensor,
    history, energy) validates against the document's 200 schema, which forbids other shapes."""
    import time

    import jsonschema

    from solarmon.web.runtime import get_context
    from solarmon.web.state import SourceUpdate

    key = "living_room/temperature"
    state = get_context(healthy_app).parts.state
    state.apply(SourceUpdate("house", time.time(), {key: 21.5}, {key: "°C"}))
    paths = build_document()["paths"]
    client = healthy_app.test_client()
    for url, path in [("/api/data", "/api/data"), ("/api/status", "/api/status"),
                      ("/api/house", "/api/house"), ("/api/weather", "/api/weather"),
                      ("/api/battery", "/api/battery"),
                      ("/api/energy", "/api/energy"), ("/api/catalog", "/api/catalog"),
                      ("/api/historical?hours=1&metrics=battery_voltage,nothing", "/api/historical")]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_json())
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(response.get_json(), schema)
    body = client.get("/api/house").get_json()
    assert body["sources"]["house"]["values"] == {key: 21.5}
    with pytest.raises(jsonschema.ValidationError):  # the shapes the pages used to guess at
        jsonschema.validate({"sensors": [{"name": "t", "value": 1}]}, paths["/api/house"]["get"]["responses"]
                            ["200"]["content"]["application/json"]["schema"])
