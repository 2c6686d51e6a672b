"""Every relative link and image of the project's Markdown resolves: the file exists, and an
`#anchor` names a heading of its target (GitHub's heading slugs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.conftest import REPO, markdown_files

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
EXTERNAL = ("http://", "https://", "mailto:", "file:")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (outside code blocks); repeats get -1, -2..."""
    seen: dict[str, int] = {}
    found = set()
    for match in re.finditer(r"^#{1,6} (.+)$", FENCE.sub("", path.read_text(encoding="utf-8")), re.MULTILINE):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file (code blocks and inline code skipped)."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    return [target for target in LINK.findall(text) if not target.startswith(EXTERNAL)]


@pytest.mark.parametrize(("heading", "anchor"), [
    ("The two commands", "the-two-commands"),
    ("`GET /api/data?device=`", "get-apidatadevice"),
    ("MQTT: broker, house sensors", "mqtt-broker-house-sensors"),
    ("Home Assistant discovery (when enabled)", "home-assistant-discovery-when-enabled"),
])
def test_slug(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_links_finds_links_and_images_but_not_code(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("[a](docs/A.md#b) ![i](img/x.png) [w](https://example.org) `[c](no.md)`\n"
                   "```\n[d](no.md)\n```\n[e](#here)\n")
    assert links(doc) == ["docs/A.md#b", "img/x.png", "#here"]


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(doc: Path) -> None:
    for target in links(doc):
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        assert resolved.exists(), f"{doc.relative_to(REPO)}: link to {target} -> {resolved} does not exist"
        assert REPO in resolved.parents, f"{doc.relative_to(REPO)}: {target} leaves the repository"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{doc.relative_to(REPO)}: {target}: no heading #{anchor}"
