"""Take the README's screenshots from a running demo: `./manage_web.sh demo`, then
`.venv/bin/python docs/img/take_screenshots.py [http://localhost:5000]` (Debian's
chromium-headless-shell through Playwright, as tests/browser does). Writes docs/img/<page>.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium-headless-shell"
PAGES = {"dashboard": "/", "lcars": "/lcars", "charts": "/charts"}
HERE = Path(__file__).resolve().parent
# The live stream never goes idle, so "network idle" never comes: wait a fixed time for the charts.
SETTLE_MS = 4000


def main(argv: list[str]) -> int:
    """Screenshot every page of PAGES at a laptop's size."""
    base = argv[1] if len(argv) > 1 else "http://localhost:5000"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        for name, path in PAGES.items():
            page.goto(base + path, wait_until="domcontentloaded")
            page.wait_for_timeout(SETTLE_MS)
            page.screenshot(path=str(HERE / f"{name}.png"))
            print(f"wrote {HERE / f'{name}.png'}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
