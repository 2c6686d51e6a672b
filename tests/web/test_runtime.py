"""Runtime: services start in order, one failure is logged and not fatal, stop runs in reverse."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint

from solarmon.web import PARTS, create_app
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
    assert [name for name, _ in ctx.services] == ["history", "journal", "reader", "alerts", "forecast"]
    assert ctx.parts.reader._thread is None
    assert ctx.parts.forecast._thread is None


def test_the_runtime_starts_the_apps_services(app, web_paths):
    with Runtime.for_app(app) as runtime:
        running = [s["name"] for s in runtime.describe() if s["running"]]
        assert running == ["history", "journal", "reader", "alerts", "forecast"]
    assert get_context(app).parts.reader._thread is None


def test_parts_register_by_name_through_init_app(monkeypatch, web_config):
    from solarmon.web.auth import read_access

    calls = []
    extra = Blueprint("ext_plain", "ext_plain")
    extra.get("/ext")(read_access(lambda: "hello"))  # every endpoint needs an access rule

    def init_app(app, ctx):
        calls.append(ctx.config is web_config)
        app.register_blueprint(extra)

    assert [name for name, _ in PARTS] == ["api", "stream", "metrics", "openapi", "house", "pages",
                                           "settings", "auth", "alerts", "forecast", "fleet"]
    monkeypatch.setattr("solarmon.web.PARTS", (*PARTS, ("extra", init_app)))
    app = create_app(web_config)
    assert calls == [True]
    assert app.test_client().get("/ext").get_data(as_text=True) == "hello"


@pytest.mark.timeout(60)
def test_an_import_bug_in_a_part_fails_the_start(tmp_path):
    """issue 13: a part that cannot be imported used to be skipped (its endpoints answered 503); a
    real import bug must stop the start. Here the history module cannot be imported."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    config = tmp_path / "web.yaml"
    config.write_text("history:\n  db_path: h.db\n")
    code = ("import runpy, sys; sys.modules['solarmon.web.history'] = None; "
            f"sys.argv = ['web_interface.py', '-c', {str(config)!r}, '--check']; "
            f"runpy.run_path({str(repo / 'web_interface.py')!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=50,
                            cwd=repo, check=False)
    assert result.returncode != 0
    assert "ModuleNotFoundError: import of solarmon.web.history halted" in result.stderr
    assert "ok" not in result.stdout


def test_the_dashboard_pages_are_registered_and_non_api_errors_stay_html(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert missing.mimetype == "text/html"
