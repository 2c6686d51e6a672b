"""/static/vendor serves the files the pages load, and nothing else of node_modules (issue 14, 14g)."""

from __future__ import annotations

import re

import pytest

from solarmon.web.pages import NODE_MODULES_DIR, TEMPLATE_DIR, VENDOR_DIRS, VENDOR_FILES, vendor_allowed

URL_FOR_VENDOR = re.compile(r"url_for\('pages\.vendor', package='([^']+)', filename='([^']+)'\)")


def referenced() -> set[tuple[str, str]]:
    """(package, file) of every url_for('pages.vendor', ...) in the templates."""
    found = set()
    for template in TEMPLATE_DIR.rglob("*.html"):
        found.update(URL_FOR_VENDOR.findall(template.read_text(encoding="utf-8")))
    return found


def test_the_allow_list_is_what_the_templates_load():
    listed = {(package, name) for package, names in VENDOR_FILES.items() for name in names}
    assert listed == referenced()


@pytest.mark.parametrize("path", [
    "/static/vendor/date-fns/package.json",
    "/static/vendor/fontawesome/package.json",
    "/static/vendor/antonio/package.json",
    "/static/vendor/date-fns/README.md",
    "/static/vendor/date-fns/index.js",
    "/static/vendor/date-fns/LICENSE.md",
    "/static/vendor/fontawesome/js/all.js",
    "/static/vendor/fontawesome/svgs/solid/house.svg",
    "/static/vendor/antonio/index.css",
    "/static/vendor/bootstrap/css/bootstrap.css",
    "/static/vendor/bootstrap/css/bootstrap.min.css.map",
])
def test_other_files_of_the_packages_are_not_served(client, path):
    package, rest = path.removeprefix("/static/vendor/").split("/", 1)
    assert (NODE_MODULES_DIR / VENDOR_DIRS[package] / rest).is_file(), f"{path}: not in node_modules"
    assert client.get(path).status_code == 404


def test_every_allowed_file_is_served_and_the_fonts_css_loads_are_allowed(client):
    allowed = vendor_allowed(NODE_MODULES_DIR)
    assert "webfonts/fa-solid-900.woff2" in allowed["fontawesome"]
    assert "files/antonio-latin-700-normal.woff2" in allowed["antonio"]
    for package, names in allowed.items():
        for name in names:
            assert client.get(f"/static/vendor/{package}/{name}").status_code == 200, (package, name)
