"""The commands and files the documents tell people to use exist, as written.

README's first section is the two commands (.ci/run calls the second); every `manage_daemon.sh X`
/ `manage_web.sh X` named anywhere is a subcommand of that script; `web_interface.py user|token
VERB` and `weather_fetcher.py --option` are in the programs' own --help; repository paths in
backticks exist; the README's weather-unit line renders a unit systemd accepts.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.docs.conftest import REPO, markdown_files, section
from tests.tools import require_tool

README = (REPO / "README.md").read_text(encoding="utf-8")
SCRIPTS = ("manage_daemon.sh", "manage_web.sh")
# Our own overview documents: every repository path they name in backticks must exist.
OVERVIEWS = [REPO / name for name in ("README.md", "CONTEXT.md", "docs/ARCHITECTURE.md",
                                      "docs/TROUBLESHOOTING.md", "grafana/README.md")]
TOP_DIRS = ("solarmon", "docs", "systemd", "mosquitto", "grafana", "scripts", "tests", "static", "templates",
            "bench", "prometheus", "var")


def code_blocks(text: str) -> list[str]:
    """The bodies of the fenced code blocks of a Markdown text."""
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def subcommands(script: str) -> set[str]:
    """The words of the script's top-level `case $cmd in` (`start|stop) ...` gives both)."""
    text = (REPO / script).read_text(encoding="utf-8")
    block = text[text.rindex("case $cmd in"):]
    words = set()
    for match in re.finditer(r"^    ([a-z|-]+)\)", block, flags=re.MULTILINE):
        words.update(match.group(1).split("|"))
    return words


@cache
def help_text(*args: str) -> str:
    """A program's --help output (run once per argument list)."""
    run = subprocess.run([sys.executable, *args, "--help"], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_readme_starts_with_the_two_commands() -> None:
    first = re.search(r"^## (.+)$", README, flags=re.MULTILINE)
    assert first is not None
    assert first.group(1) == "The two commands", "README's first section must be the two commands"
    blocks = [block.strip() for block in code_blocks(section(README, "The two commands"))]
    assert blocks == ["./manage_web.sh demo", "bash scripts/test.sh"]


def test_the_two_commands_are_what_the_scripts_implement() -> None:
    assert "demo" in subcommands("manage_web.sh")
    assert (REPO / "scripts" / "test.sh").exists()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^exec bash scripts/test\.sh$", ci, flags=re.MULTILINE), ".ci/run must run it"
    test_sh = (REPO / "scripts" / "test.sh").read_text(encoding="utf-8")
    for step in ("source scripts/setup.sh", "ruff check", "pytest"):
        assert step in test_sh, f"scripts/test.sh lost {step!r}"


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_manage_subcommand_named_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for script in SCRIPTS:
        known = subcommands(script)
        for word in re.findall(rf"{re.escape(script)} ([a-z][a-z-]*)", text):
            assert word in known, f"{doc.relative_to(REPO)}: {script} has no subcommand {word!r}"


def test_the_web_interface_user_and_token_commands_exist() -> None:
    named = set(re.findall(r"web_interface\.py(?: -c \S+)? (user|token) ([a-z]+)",
                           "\n".join(p.read_text(encoding="utf-8") for p in markdown_files())))
    assert ("user", "add") in named, "the docs must say how to create the first admin"
    for area, verb in sorted(named):
        usage = help_text("web_interface.py", area)
        assert re.search(rf"\b{verb}\b", usage), f"web_interface.py {area} {verb}"


def test_the_weather_fetcher_options_named_exist() -> None:
    named = set()
    for path in [*OVERVIEWS, REPO / "docs" / "MQTT.md"]:
        text = path.read_text(encoding="utf-8")
        named.update(re.findall(r"weather_fetcher\.py((?: --[a-z-]+(?: \S+)?)+)", text))
    options = {opt for group in named for opt in re.findall(r"--[a-z-]+", group)}
    assert "--once" in options
    for option in options:
        assert option in help_text("weather_fetcher.py"), f"weather_fetcher.py has no {option}"


@pytest.mark.parametrize("doc", OVERVIEWS, ids=lambda p: str(p.relative_to(REPO)))
def test_repository_paths_in_the_overviews_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    pattern = rf"`((?:{'|'.join(TOP_DIRS)})/[A-Za-z0-9_./-]*)`"
    paths = set(re.findall(pattern, text))
    assert paths, f"{doc.name} names no repository path"
    for path in sorted(paths):
        # var/ and prometheus/ are filled at run time (history.db, the .prom files).
        if path.startswith(("var/", "prometheus/")):
            continue
        assert (REPO / path.rstrip("/")).exists(), f"{doc.relative_to(REPO)} names {path}: it does not exist"


@pytest.mark.timeout(120)
def test_the_readmes_weather_unit_line_renders_a_valid_unit(tmp_path: Path) -> None:
    line = next(line for line in README.splitlines() if "systemd/weather-fetcher.service" in line
                and line.startswith("sed "))
    render = line.split(" | ")[0].replace("$PWD", str(REPO))
    run = subprocess.run(render, shell=True, cwd=REPO, capture_output=True, text=True, timeout=30,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert "/opt/solarmon" not in run.stdout
    assert f"ExecStart={REPO}/.venv/bin/python" in run.stdout
    analyze = require_tool("systemd-analyze")
    unit = tmp_path / "weather-fetcher.service"
    unit.write_text(run.stdout)
    check = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("unit", sorted(p.name for p in (REPO / "systemd").iterdir()), ids=str)
def test_the_readmes_hardware_path_installs_every_unit_and_rule(unit: str) -> None:
    hardware = section(README, "On real hardware (Raspberry Pi OS / Debian 12)")
    assert unit in hardware, f"README's hardware path never installs systemd/{unit}"
