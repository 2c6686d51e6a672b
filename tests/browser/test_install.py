"""Installable (issue 15): every page links the app's own web app manifest, whose icons (made for
this project, served by the app) load at the sizes it declares; nothing comes from another host."""

from __future__ import annotations

import pytest

from tests.browser.conftest import settle, watch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


@pytest.mark.parametrize("path", ["/", "/lcars"])
def test_the_manifest_and_its_icons_come_from_the_app(browser, solar_stack, path: str) -> None:
    page = browser.new_page()
    seen = watch(page)
    try:
        page.goto(solar_stack.url + path)
        settle(page)
        href = page.locator('link[rel="manifest"]').get_attribute("href")
        assert href == "/manifest.webmanifest"
        fetch = ("async (u) => { const r = await fetch(u); "
                 "return {type: r.headers.get('content-type'), body: await r.json()}; }")
        manifest = page.evaluate(fetch, href)
        assert manifest["type"].startswith("application/manifest+json")
        body = manifest["body"]
        assert body["start_url"] == "/"
        assert body["display"] == "standalone"
        pngs = [icon for icon in body["icons"] if icon["type"] == "image/png"]
        assert {icon["sizes"] for icon in pngs} >= {"192x192", "512x512"}
        for icon in body["icons"]:
            assert icon["src"].startswith("/static/app/img/")  # the app's own file, no other host
            size = page.evaluate("""(src) => new Promise((done) => {
                const img = new Image(); img.onload = () => done([img.naturalWidth, img.naturalHeight]);
                img.onerror = () => done(null); img.src = src; })""", icon["src"])
            assert size is not None, icon["src"]
            if icon["sizes"] != "any":
                assert f"{size[0]}x{size[1]}" == icon["sizes"]
        assert page.locator('link[rel="apple-touch-icon"]').count() == 1
        assert seen.problems() == []
    finally:
        page.close()
