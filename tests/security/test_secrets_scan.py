"""No secret in the repository: every tracked file is scanned for private keys, tokens, password
hashes and passwords written into configuration files, and no secret file itself is tracked.

The scanner is tested first on a table of lines (each pattern must catch its example and leave the
harmless look-alikes alone), so a broken pattern cannot make the repository scan pass silently.
The examples are assembled from pieces so that this file does not trip the scan itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_SCAN_BYTES = 2 << 20  # bigger tracked files are data, not hand-written secrets
CONFIG_SUFFIXES = (".yaml", ".yml", ".conf", ".ini", ".env", ".cfg", ".toml", ".service", ".sh", ".json")
DASHES = "-" * 5
PATTERNS: dict[str, re.Pattern[str]] = {
    "private key": re.compile(DASHES + r"BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "solarmon API token": re.compile(r"\bsmt_[0-9a-f]{8}_[A-Za-z0-9_\-]{40,}"),
    "werkzeug password hash": re.compile(
        r"\b(?:scrypt|pbkdf2:sha\d+):[0-9:]+\$[A-Za-z0-9]{8,}\$[0-9a-f]{32,}"),
    "mosquitto password hash": re.compile(r"\$[67]\$\d*\$?[A-Za-z0-9+/]{8,}={0,2}\$[A-Za-z0-9+/]{40,}={0,2}"),
}
# In configuration files: a password, secret or token written as a literal value. Paths (a
# `*_file` key, a value with a slash), variables and empty values are fine.
CONFIG_ASSIGNMENT = re.compile(
    r"""(?ix)^\s*([\w.\-]*(?:password|passwd|mqtt_pass|secret|token|api_key)[\w\-]*)\s*[:=]\s*
        (?!\s*["']?(?:["']|$|\$|/|~|null|none|changeme|<))["']?([^\s"'#]{6,})""")
PATH_KEYS = ("_file", "_store", "_path", "_dir", "_log")  # keys naming where a secret lives
SECRET_FILE_NAMES = re.compile(r"(?:^|/)(?:secret_key|users\.json|tokens\.json|id_rsa|id_ed25519|[^/]*\.pem|"
                               r"[^/]*\.key|[^/]*\.token|[^/]*\.pass|passwd|\.env)$")


def scan_text(text: str, path: str) -> list[str]:
    """Findings in one file's text: 'path:line: kind'."""
    found = []
    config = path.endswith(CONFIG_SUFFIXES) or ("/" not in path and "." not in path)
    for number, line in enumerate(text.splitlines(), 1):
        for kind, pattern in PATTERNS.items():
            if pattern.search(line):
                found.append(f"{path}:{number}: {kind}")
        literal = CONFIG_ASSIGNMENT.search(line) if config else None
        if literal and not literal.group(1).lower().endswith(PATH_KEYS) and not line.lstrip().startswith("#"):
            found.append(f"{path}:{number}: a literal password/secret/token in a configuration file")
    return found


def _sample_hash() -> str:
    return "scrypt:32768:8:1" + "$" + "Zm9vYmFyYmF6" + "$" + "ab" * 32


@pytest.mark.parametrize(("path", "line", "caught"), [
    ("notes.md", DASHES + "BEGIN RSA PRIVATE KEY" + DASHES, True),
    ("notes.md", DASHES + "BEGIN OPENSSH PRIVATE KEY" + DASHES, True),
    ("notes.md", DASHES + "BEGIN PUBLIC KEY" + DASHES, False),
    ("x.py", "key = '" + "AKIA" + "ABCDEFGHIJKLMNOP'", True),
    ("x.py", "ghp" + "_" + "a1" * 18, True),
    ("x.py", "curl -H 'Authorization: Bearer " + "smt_0a1b2c3d_" + "Q" * 43 + "'", True),
    ("x.py", "token = f'smt_{token_id}_{secret}'", False),
    ("users.json", '{"hash": "' + _sample_hash() + '"}', True),
    ("mosquitto/passwd.txt", "solarmon-web:$7$101$" + "c2FsdHNhbHQ=" + "$" + "h" * 86 + "==", True),
    ("web.yaml", "  password: hunter2hunter2", True),
    ("mpp-solar.conf", "mqtt_pass = s3cr3tvalue", True),
    ("web.yaml", "  password_file: /etc/solarmon/mqtt/web.pass", False),
    ("web.yaml", '  command_token_file: ""    # deprecated', False),
    ("web.yaml", "  token_store: var/tokens.json", False),
    ("web.yaml", "  api_token: 0123456789abcdef", True),
    ("web.yaml", "  # password: an example in a comment", False),
    ("setup.sh", 'PASSWORD="$(head -c 24 /dev/urandom | base64)"', False),
    ("app.py", 'password = "only config files are checked for literals"', False),
])
def test_the_scanner_catches_each_kind_and_leaves_look_alikes(path, line, caught):
    assert bool(scan_text(line + "\n", path)) is caught, scan_text(line + "\n", path)


def tracked_files() -> list[str]:
    """Every file git tracks in this repository."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60)
    return [name for name in out.stdout.decode().split("\0") if name]


def test_no_tracked_file_holds_a_secret():
    files = tracked_files()
    assert "web_interface.py" in files  # the listing works
    findings = []
    for name in files:
        path = REPO / name
        if not path.is_file() or path.stat().st_size > MAX_SCAN_BYTES:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        findings += scan_text(text, name)
    assert findings == []


def test_no_secret_file_is_tracked():
    assert [name for name in tracked_files() if SECRET_FILE_NAMES.search(name)] == []


@pytest.mark.parametrize("name", ["var/secret_key", "var/users.json", "var/tokens.json", "web-mqtt.pass"])
def test_the_secret_files_the_app_writes_are_ignored_by_git(name):
    result = subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO, timeout=60)
    assert result.returncode == 0, f"{name} is not in .gitignore"
