"""The web app never loads pvlib or pandas: the PV model runs in the weather fetcher's process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from solarmon.web import create_app
app = create_app({"history": {"db_path": sys.argv[1]}})
client = app.test_client()
client.get("/api/forecast"); client.get("/forecast"); client.get("/api/openapi.json")
import solarmon.forecast.service, solarmon.forecast.calibration, solarmon.forecast.outlook
print(json.dumps({"forecast": "solarmon.web.forecast" in sys.modules,
                  "heavy": sorted(m for m in ("pvlib", "pandas", "scipy") if m in sys.modules)}))
"""


def test_web_app_imports_neither_pvlib_nor_pandas(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "h.db")], capture_output=True,
                            text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["forecast"] is True  # the forecast part really was loaded
    assert seen["heavy"] == []


def test_the_fetcher_does_load_pvlib_for_its_model() -> None:
    """The check above can fail: the same probe sees pvlib once the model is imported."""
    probe = "import sys, solarmon.weather.pvmodel; print('pvlib' in sys.modules and 'pandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            cwd=REPO)
    assert result.stdout.strip() == "True", result.stderr
