"""The dashboard pages: a Flask blueprint serving the HTML pages of both themes and their assets.

Pages are thin shells: every value on them is fetched by the browser from the JSON API
(`/api/data`, `/api/stream`, `/api/historical`, ...), so a page never touches the live state
itself and renders the same with or without a running daemon. The front-end packages (Bootstrap,
Chart.js, date-fns, Font Awesome, the Antonio font) come from npm into `node_modules/` and are
served from `/static/vendor/<package>/...`; nothing is loaded from outside the box, and every page
carries a Content-Security-Policy that says so.
"""

from __future__ import annotations

import functools
import json
import logging
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, render_template, send_from_directory, url_for
from flask.sansio.blueprints import BlueprintSetupState

LOG = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "templates"
STATIC_DIR = REPO_ROOT / "static"
NODE_MODULES_DIR = REPO_ROOT / "node_modules"

# These folders of node_modules, each under a short, stable name; only the files of VENDOR_FILES
# in them (and what their CSS loads) are served: no package.json, sources or build scripts.
VENDOR_DIRS: dict[str, str] = {
    "bootstrap": "bootstrap/dist",
    "chart.js": "chart.js/dist",
    "chartjs-adapter-date-fns": "chartjs-adapter-date-fns/dist",
    "date-fns": "date-fns",
    "fontawesome": "@fortawesome/fontawesome-free",
    "antonio": "@fontsource/antonio",
}
# The files the templates load, per package (tests/security/test_vendor.py keeps this equal to
# the templates' url_for('pages.vendor', ...) calls).
VENDOR_FILES: dict[str, tuple[str, ...]] = {
    "bootstrap": ("css/bootstrap.min.css", "js/bootstrap.bundle.min.js"),
    "chart.js": ("chart.umd.min.js",),
    "chartjs-adapter-date-fns": ("chartjs-adapter-date-fns.min.js",),
    "date-fns": ("cdn.min.js",),
    "fontawesome": ("css/all.min.css",),
    "antonio": ("latin-400.css", "latin-700.css"),
}
CSS_URL_RE = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
# One file per package proves `npm ci` ran; a missing one is named in the log and on the pages.
VENDOR_PROBES: tuple[str, ...] = (
    "bootstrap/dist/css/bootstrap.min.css",
    "chart.js/dist/chart.umd.min.js",
    "chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.min.js",
    "date-fns/cdn.min.js",
    "@fortawesome/fontawesome-free/css/all.min.css",
    "@fontsource/antonio/latin-400.css",
)

# Self only: no CDN, no inline script or style. data: images are Bootstrap's own SVG icons
# (navbar toggler, form controls), which it embeds in its CSS.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
VENDOR_MAX_AGE_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Page:
    """One page of the site: its endpoint, its navigation label and icon, and its template."""

    endpoint: str
    label: str
    icon: str
    template: str


PAGES: tuple[Page, ...] = (
    Page("dashboard", "Dashboard", "fa-gauge-high", "pages/dashboard.html"),
    Page("charts", "Charts", "fa-chart-line", "pages/charts.html"),
    Page("battery", "Battery", "fa-car-battery", "pages/battery.html"),
    Page("house", "House", "fa-house", "pages/house.html"),
    Page("settings", "Settings", "fa-sliders", "pages/settings.html"),
)
THEMES: tuple[str, ...] = ("standard", "lcars")

pages = Blueprint(
    "pages",
    __name__,
    template_folder=str(TEMPLATE_DIR),
    static_folder=str(STATIC_DIR),
    static_url_path="/static/app",
)


def init_app(app: Flask, _ctx: object) -> None:
    """Register the dashboard pages of both themes (create_app calls this by name)."""
    app.register_blueprint(pages)


def missing_vendor_files(node_modules: Path = NODE_MODULES_DIR) -> list[str]:
    """Return the front-end files that `npm ci` should have installed but are not there."""
    return [probe for probe in VENDOR_PROBES if not (node_modules / probe).is_file()]


@pages.record_once
def _check_vendor(state: BlueprintSetupState) -> None:
    """Say once, at registration, when the front-end packages are missing (pages would be bare)."""
    missing = missing_vendor_files()
    if missing:
        LOG.warning("front-end packages missing (run `npm ci` in %s): %s", REPO_ROOT, ", ".join(missing))


def _page_url(endpoint: str, theme: str) -> str:
    """The URL of a page in a theme: the standard page's path, with /lcars appended for LCARS."""
    paths = {"dashboard": "/", "charts": "/charts", "battery": "/battery", "house": "/house",
             "settings": "/settings"}
    path = paths[endpoint]
    if theme == "standard":
        return path
    return "/lcars" if path == "/" else f"{path}/lcars"


def render_page(endpoint: str, theme: str) -> str:
    """Render one page in one theme with the navigation and the theme switch."""
    page = next(p for p in PAGES if p.endpoint == endpoint)
    nav = [
        {"label": p.label, "icon": p.icon, "url": _page_url(p.endpoint, theme), "active": p is page}
        for p in PAGES
    ]
    other = "lcars" if theme == "standard" else "standard"
    return render_template(
        page.template,
        layout=f"{theme}/base.html",
        theme=theme,
        page=page,
        nav=nav,
        other_theme_url=_page_url(endpoint, other),
        other_theme_label="LCARS" if other == "lcars" else "Standard",
        vendor_missing=missing_vendor_files(),
        settings_url=_page_url("settings", theme),
    )


def render_part_page(theme: str, page: dict[str, str], path: str) -> str:
    """A page of another part (alerts, forecast) in one theme, framed like the pages here: their
    navigation (the part's own entry comes from `extra_nav`) and a theme switch to `path`."""
    suffix = "" if theme == "standard" else f"_{theme}"
    nav = [{"label": p.label, "icon": p.icon, "url": url_for(f"pages.{p.endpoint}{suffix}"), "active": False}
           for p in PAGES]
    other = "lcars" if theme == "standard" else "standard"
    return render_template(page["template"], layout=f"{theme}/base.html", theme=theme, page=page, nav=nav,
                           other_theme_url=f"{path}/lcars" if other == "lcars" else path,
                           other_theme_label="LCARS" if other == "lcars" else "Standard",
                           vendor_missing=missing_vendor_files(), settings_spec_json="[]")


@pages.after_request
def _security_headers(response: Response) -> Response:
    """Every page and asset says: load nothing from anywhere but this server."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _view(endpoint: str, theme: str) -> Any:
    """The view function of one page in one theme."""

    def view() -> str:
        return render_page(endpoint, theme)

    view.__doc__ = f"The {endpoint} page, {theme} theme."
    return view


def _add_page_rules(blueprint: Blueprint) -> None:
    """One rule per page and theme: /, /lcars, /charts, /charts/lcars, ... Endpoints are the page's
    name (standard) and <name>_lcars, so url_for("pages.charts_lcars") works."""
    for page in PAGES:
        for theme in THEMES:
            name = page.endpoint if theme == "standard" else f"{page.endpoint}_{theme}"
            blueprint.add_url_rule(_page_url(page.endpoint, theme), name, _view(page.endpoint, theme))


_add_page_rules(pages)


# The web app manifest: the dashboard can be added to a phone's home screen. Every icon is a file
# of this app (static/img, rendered by scripts/render_icons.py); nothing comes from another host.
MANIFEST: dict[str, Any] = {
    "name": "solarmon", "short_name": "solarmon",
    "description": "This house's solar inverter: power, battery, energy and alerts",
    "start_url": "/", "scope": "/", "display": "standalone",
    "background_color": "#f4f6f9", "theme_color": "#1d2733",
    "icons": [
        {"src": "/static/app/img/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": "/static/app/img/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {"src": "/static/app/img/app-icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
    ],
}


@pages.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest (public: a phone reads it before anyone signs in)."""
    response = Response(json.dumps(MANIFEST), mimetype="application/manifest+json")
    response.cache_control.max_age = 3600
    return response


@pages.get("/static/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str) -> Response:
    """A file of an allowed front-end package from node_modules (send_from_directory refuses `..`)."""
    subdir = VENDOR_DIRS.get(package)
    if subdir is None or filename not in vendor_allowed(NODE_MODULES_DIR).get(package, ()):
        abort(404)
    return send_from_directory(NODE_MODULES_DIR / subdir, filename, max_age=VENDOR_MAX_AGE_S)


@functools.cache
def vendor_allowed(node_modules: Path) -> dict[str, frozenset[str]]:
    """Per package, the files that may be served: VENDOR_FILES and the fonts and images their
    CSS files load (relative `url(...)`s that stay inside the package's folder).

    Computed once per folder: `npm ci` does not run under a running app.
    """
    allowed: dict[str, frozenset[str]] = {}
    for package, files in VENDOR_FILES.items():
        names = set(files)
        for name in files:
            if not name.endswith(".css"):
                continue
            try:
                css_file = node_modules / VENDOR_DIRS[package] / name
                css = css_file.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for ref in CSS_URL_RE.findall(css):
                target = ref.split("?", 1)[0].split("#", 1)[0]
                if not target or ":" in target or target.startswith("/"):
                    continue  # data: URIs, other sites, absolute paths
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
                if not joined.startswith("../") and joined != "..":
                    names.add(joined)
        allowed[package] = frozenset(names)
    return allowed


def page_rules() -> list[str]:
    """The URL rules of every page (both themes), for tests and the docs."""
    return [_page_url(p.endpoint, theme) for p in PAGES for theme in THEMES]

