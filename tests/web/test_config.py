"""web.yaml: typed keys, limits, errors naming file and key, unknown keys, docs and file in sync."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from solarmon.web.config import ConfigError, config_from_mapping, key_table, load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("data", "fragment"), [
    ({"server": {"port": 0}}, "server.port must be an integer in 1..65535, got 0"),
    ({"server": {"port": "http"}}, "server.port must be an integer"),
    ({"server": {"port": 80.5}}, "server.port must be an integer"),
    ({"server": {"port": True}}, "server.port must be an integer"),
    ({"server": {"threads": 8, "max_streams": 7}}, "server.max_streams (7) must be at most"),
    ({"server": {"log_level": "LOUD"}},
     "server.log_level must be one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'"),
    ({"server": {"keepalive_s": 0}}, "server.keepalive_s must be a number in 0.05..300, got 0"),
    ({"server": ["port"]}, "section 'server' must be a mapping"),
    ({"data": {"prom_dir": ["a"]}}, "data.prom_dir must be a string"),
    ({"data": {"poll_interval_s": "fast"}}, "data.poll_interval_s must be a number"),
    ({"history": {"timezone": "Mars/Olympus"}}, "'Mars/Olympus' is not a known IANA time zone"),
    ({"history": {"raw_retention_days": 60, "minute_retention_days": 30}},
     "history.minute_retention_days must be at least history.raw_retention_days"),
    ({"daemon": {"timeout_s": -1}}, "daemon.timeout_s must be a number in 0.1..600, got -1"),
    (["server"], "the top level must be a mapping"),
    # issue 14 point 5: NaN compares false with every limit, so a range check alone let it pass.
    ({"data": {"stale_after_s": float("nan")}}, "data.stale_after_s must be a finite number in 1..86400"),
    ({"data": {"stale_after_s": float("inf")}}, "data.stale_after_s must be a finite number in 1..86400"),
    ({"history": {"raw_retention_days": float("-inf")}}, "history.raw_retention_days must be a finite"),
])
def test_bad_values_are_refused_with_file_and_key(data, fragment):
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, where="/etc/web.yaml")
    assert str(info.value).startswith("/etc/web.yaml: ")
    assert fragment in str(info.value)


def test_values_are_typed_and_defaults_fill_the_rest():
    config = config_from_mapping({"server": {"port": 8080, "keepalive_s": 5, "log_level": "debug"},
                                  "history": {"timezone": "Europe/Berlin"}})
    assert config.server.port == 8080
    assert isinstance(config.server.keepalive_s, float)
    assert config.server.log_level == "DEBUG"
    assert config.server.threads == 64
    assert config.history.timezone == "Europe/Berlin"


def test_unknown_keys_and_sections_warn_and_are_ignored(caplog):
    with caplog.at_level(logging.WARNING):
        config = config_from_mapping({"server": {"prot": 1}, "extra": {}, "mqtt": {"host": "x"}},
                                     where="w.yaml")
    assert "unknown key server.prot ignored" in caplog.text
    assert "unknown section 'extra' ignored" in caplog.text
    assert len(caplog.records) == 2  # extension sections (mqtt) are passed on, not warned about
    assert config.raw_sections == {"mqtt": {"host": "x"}}
    assert config.server.port == 5000


def test_relative_paths_resolve_against_the_file(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text("data:\n  prom_dir: prom\nhistory:\n  db_path: /abs/h.db\n")
    config = load_config(path)
    assert config.path(config.data.prom_dir) == tmp_path / "prom"
    assert config.path(config.history.db_path) == Path("/abs/h.db")


@pytest.mark.parametrize(("text", "fragment"), [
    (None, "cannot read"),
    ("server: [unclosed\n", "not valid YAML"),
    ("server:\n  port: 70000\n", "server.port must be an integer in 1..65535, got 70000"),
])
def test_load_config_errors_name_the_file(tmp_path, text, fragment):
    path = tmp_path / "web.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(str(path))) as info:
        load_config(path)
    assert fragment in str(info.value)


def test_the_shipped_web_yaml_is_valid_and_names_every_key():
    text = (REPO / "web.yaml").read_text()
    raw = yaml.safe_load(text)
    load_config(REPO / "web.yaml")
    for info in key_table():
        if info.section == "fleet":  # hub mode only: shipped commented out, every key named
            assert f"\n#   {info.name}: " in text, f"web.yaml's commented fleet: lacks {info.dotted}"
            continue
        assert info.name in raw[info.section], f"web.yaml lacks {info.dotted}"


def test_configuration_doc_describes_every_key():
    text = (REPO / "docs" / "CONFIGURATION.md").read_text()
    section = text[text.index("## web.yaml"):]
    for info in key_table():
        assert f"`{info.dotted}`" in section, f"docs/CONFIGURATION.md web.yaml section lacks {info.dotted}"


@pytest.mark.timeout(60)
def test_web_interface_exits_2_on_a_bad_config(tmp_path):
    bad = tmp_path / "web.yaml"
    bad.write_text("server:\n  threads: 2\n")
    result = subprocess.run([sys.executable, str(REPO / "web_interface.py"), "-c", str(bad), "--check"],
                            capture_output=True, text=True, timeout=50, cwd=REPO, check=False)
    assert result.returncode == 2
    assert "server.threads must be an integer in 4..1024, got 2" in result.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("text", "fragment"), [
    ("data:\n  stale_after_s: .nan\n", "data.stale_after_s must be a finite number in 1..86400, got nan"),
    ("data:\n  poll_interval_s: .inf\n", "data.poll_interval_s must be a finite number in 0.05..60, got inf"),
    ("alerts:\n  tick_s: .nan\n", "alerts.tick_s must be a finite number in 0.05..3600, got nan"),
])
def test_check_refuses_nan_and_infinity(tmp_path, text, fragment):
    """issue 14 point 5: `stale_after_s: .nan` passed --check (then 2-hour-old data was ok: true)."""
    bad = tmp_path / "web.yaml"
    bad.write_text(text)
    result = subprocess.run([sys.executable, str(REPO / "web_interface.py"), "-c", str(bad), "--check"],
                            capture_output=True, text=True, timeout=50, cwd=REPO, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip().splitlines()[-1] == f"configuration error: {bad}: {fragment}"


@pytest.mark.timeout(60)
def test_web_interface_says_when_the_port_is_taken(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "web.yaml"
        config.write_text(f"server:\n  host: 127.0.0.1\n  port: {port}\nhistory:\n  db_path: h.db\n")
        result = subprocess.run([sys.executable, str(REPO / "web_interface.py"), "-c", str(config)],
                                capture_output=True, text=True, timeout=50, cwd=REPO, check=False)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
