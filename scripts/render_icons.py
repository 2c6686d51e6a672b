"""Render static/img/app-icon.svg to the PNG icons the web app manifest names (192 and 512 px).

Run from the repository root after changing the SVG: `.venv/bin/python scripts/render_icons.py`
(uses the browser the browser tests use; the PNGs are committed).
"""
import base64
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("SOLARMON_CHROMIUM", "/usr/bin/chromium-headless-shell")
SIZES = (192, 512)


def main() -> None:
    """Write static/img/icon-<size>.png for every size."""
    svg = base64.b64encode(Path("static/img/app-icon.svg").read_bytes()).decode()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for size in SIZES:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f'<body style="margin:0"><img src="data:image/svg+xml;base64,{svg}" '
                             f'width="{size}" height="{size}" style="display:block"></body>')
            page.screenshot(path=f"static/img/icon-{size}.png", omit_background=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
