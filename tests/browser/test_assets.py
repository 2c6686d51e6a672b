"""The pages over HTTP, without a browser: every page of both themes answers with a self-only
Content-Security-Policy, every asset it names is served from this app (npm packages from
node_modules, down to the fonts their CSS loads), nothing in templates/ or static/ points outside,
and the vendor route serves nothing but the listed packages."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from solarmon.web import pages
from tests.tools import missing_tool

REPO = Path(__file__).resolve().parents[2]
PAGE_PATHS = ["/", "/lcars", "/charts", "/charts/lcars", "/house", "/house/lcars", "/battery",
              "/battery/lcars"]
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
EXTERNAL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an XML namespace name, never fetched

@pytest.fixture
def needs_npm() -> None:
    """The front-end packages (node_modules) the pages load."""
    if pages.missing_vendor_files():
        missing_tool("node_modules", "run `npm ci` (scripts/setup.sh does)")


class AssetLinks(HTMLParser):
    """Collects the URLs a page makes the browser load (scripts, stylesheets, icons, images)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_attributes = 0
        self.settings: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if "style" in attr:
            self.style_attributes += 1
        if tag == "script":
            if attr.get("src"):
                self.urls.append(attr["src"])
            elif attr.get("type") != "application/json":
                self.inline_scripts += 1
        elif tag == "link" and attr.get("href"):
            self.urls.append(attr["href"])
        elif tag == "img" and attr.get("src"):
            self.urls.append(attr["src"])
        if attr.get("id") == "console":
            self.settings = attr.get("data-settings")


def parse(html: str) -> AssetLinks:
    parser = AssetLinks()
    parser.feed(html)
    return parser


def test_page_rules_cover_both_themes() -> None:
    # The settings page needs an operator (tests/browser/test_settings.py signs in for it).
    assert sorted(pages.page_rules()) == sorted([*PAGE_PATHS, "/settings", "/settings/lcars"])


@pytest.mark.usefixtures("needs_npm")
@pytest.mark.parametrize("path", PAGE_PATHS)
def test_page_has_csp_self_only_and_every_asset_is_served_here(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "http" not in csp  # no other origin is allowed anywhere
    links = parse(response.get_data(as_text=True))
    # The CSP forbids inline script and style: the page must not need any.
    assert links.inline_scripts == 0
    assert links.style_attributes == 0
    assert len(links.urls) >= 7
    for url in links.urls:
        assert urlsplit(url).netloc == "", f"{path} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["Content-Security-Policy"] == csp


@pytest.mark.usefixtures("needs_npm")
@pytest.mark.parametrize("stylesheet", [
    "/static/vendor/fontawesome/css/all.min.css",
    "/static/vendor/antonio/latin-400.css",
    "/static/vendor/bootstrap/css/bootstrap.min.css",
])
def test_vendor_css_finds_its_fonts(client, stylesheet: str) -> None:
    css = client.get(stylesheet).get_data(as_text=True)
    refs = [ref for ref in CSS_URL.findall(css) if not ref.startswith("data:")]
    for ref in refs:
        target = urljoin(stylesheet, ref.split("#")[0].split("?")[0])
        assert client.get(target).status_code == 200, f"{stylesheet} needs {target}"


@pytest.mark.parametrize("url", [
    "/static/vendor/left-pad/index.js",  # not a listed package
    "/static/vendor/bootstrap/../package.json",  # out of the package's folder
    "/static/vendor/bootstrap/%2e%2e/%2e%2e/package.json",
    "/static/vendor/date-fns/../../package-lock.json",
])
def test_vendor_serves_only_listed_package_folders(client, url: str) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.usefixtures("needs_npm")
def test_vendor_files_have_their_types_and_are_cached(client) -> None:
    script = client.get("/static/vendor/chart.js/chart.umd.min.js")
    assert script.mimetype in ("text/javascript", "application/javascript")
    assert "max-age" in script.headers["Cache-Control"]
    font = client.get("/static/vendor/fontawesome/webfonts/fa-solid-900.woff2")
    assert font.mimetype == "font/woff2"


def test_missing_npm_packages_are_named(tmp_path: Path) -> None:
    assert pages.missing_vendor_files(tmp_path) == list(pages.VENDOR_PROBES)


@pytest.mark.parametrize("folder", ["templates", "static"])
def test_no_external_url_in_templates_or_static(folder: str) -> None:
    found = []
    for path in sorted((REPO / folder).rglob("*")):
        if path.is_file() and path.suffix in {".html", ".js", ".css", ".svg"}:
            text = path.read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
            found += [f"{path.relative_to(REPO)}: {m}" for m in EXTERNAL.findall(text)]
    assert found == []


def test_dashboard_console_links_to_the_settings_page_and_offers_no_setting_itself(client) -> None:
    # Issue 15: the console's own setting form preselected a value nobody chose; the settings
    # page (/api/settings) lists only what the daemon allows, preset to the inverter's value.
    html = client.get("/").get_data(as_text=True)
    assert parse(html).settings is None
    assert 'href="/settings" id="settings-link"' in html
    assert 'id="setting-select"' not in html
    assert 'href="/settings/lcars" id="settings-link"' in client.get("/lcars").get_data(as_text=True)


def test_other_pages_carry_no_settings(client) -> None:
    assert parse(client.get("/charts").get_data(as_text=True)).settings is None
