"""Runtime: services start in order, one failure is logged and not fatal, stop runs in reverse."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint

from solarmon.web import EXTENSIONS, create_app
from solarmon.web.runtime import Runtime, get_context


class Recorder:
    def __init__(self, name, log, fail_start=False, fail_stop=False):
        self.name, self.log, self.fail_start, self.fail_stop = name, log, fail_start, fail_stop

    def start(self):
        if self.fail_start:
            raise OSError("port busy")
        self.log.append(f"start {self.name}")

    def stop(self):
        self.log.append(f"stop {self.name}")
        if self.fail_stop:
            raise RuntimeError("stuck")


def test_services_start_in_order_and_stop_in_reverse_despite_failures(caplog):
    log = []
    services = [Recorder("a", log), Recorder("b", log, fail_start=True), Recorder("c", log, fail_stop=True),
                Recorder("d", log)]
    runtime = Runtime(services)
    with caplog.at_level(logging.ERROR):
        runtime.start()
    assert log == ["start a", "start c", "start d"]
    assert "service b failed to start: OSError: port busy" in caplog.text
    assert runtime.describe()[1] == {"name": "b", "running": False, "error": "OSError: port busy"}
    runtime.stop()
    assert log[3:] == ["stop d", "stop c", "stop a"]
    assert "service c failed to stop cleanly" in caplog.text
    assert not any(s["running"] for s in runtime.describe())
    assert runtime.stopping.is_set()


def test_create_app_starts_nothing(web_config):
    app = create_app(web_config)
    ctx = get_context(app)
    assert [name for name, _ in ctx.services] == ["history", "journal", "reader", "alerts"]
    assert ctx.parts["reader"]._thread is None


def test_the_runtime_starts_the_apps_services(app, web_paths):
    with Runtime.for_app(app) as runtime:
        running = [s["name"] for s in runtime.describe() if s["running"]]
        assert running == ["history", "journal", "reader", "alerts"]
    assert get_context(app).parts["reader"]._thread is None


def test_extensions_register_through_init_app_or_a_blueprint(monkeypatch, web_config, tmp_path):
    import sys
    import types

    from solarmon.web.auth import read_access

    calls = []
    with_hook = types.ModuleType("ext_with_hook")
    with_hook.init_app = lambda app, ctx: calls.append(ctx.config is web_config)
    plain = types.ModuleType("ext_plain")
    plain.bp = Blueprint("ext_plain", "ext_plain")
    plain.bp.get("/ext")(read_access(lambda: "hello"))  # every endpoint needs an access rule
    monkeypatch.setitem(sys.modules, "ext_with_hook", with_hook)
    monkeypatch.setitem(sys.modules, "ext_plain", plain)
    monkeypatch.setattr("solarmon.web.EXTENSIONS",
                        (*EXTENSIONS, ("ext_with_hook", False), ("ext_plain", False), ("ext_missing", False)))
    app = create_app(web_config)
    assert calls == [True]
    assert app.test_client().get("/ext").get_data(as_text=True) == "hello"


def test_a_missing_required_extension_fails_loudly(monkeypatch, web_config):
    monkeypatch.setattr("solarmon.web.EXTENSIONS", (("solarmon.web.no_such_part", True),))
    with pytest.raises(ModuleNotFoundError):
        create_app(web_config)


def test_the_dashboard_pages_are_registered_and_non_api_errors_stay_html(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.mimetype == "text/html"
