"""The guide: built offline by MkDocs, every internal link resolving, each command page showing exactly what
``--help`` prints, the home page opening in a real browser; and the README a short front door into it."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from backproplab.cli import subcommand_parsers
from backproplab.settings import COMMON_FLAGS
from browser import offline_page

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
HELP_WIDTH = "80"  # tools/docs_hooks.py wraps --help at this width
MARKER = re.compile(r"<!-- backproplab-help: ([a-z][a-z -]*?) -->")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


class _Page(HTMLParser):
    """The ids, the links (href/src) and the resources (script src, stylesheet href) of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.resources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if key in a:
                self.links.append(a[key])
        if tag in ("script", "img", "iframe") and "src" in a:
            self.resources.append(a["src"])
        if tag == "link" and "href" in a and a.get("rel") not in ("canonical", "alternate"):
            self.resources.append(a["href"])


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_every_internal_link_resolves(site: Path) -> None:
    # 404.html is for a web server (absolute paths from the site's root); a guide opened from disk never shows it.
    pages = {path: _parse(path) for path in site.rglob("*.html") if path.name != "404.html"}
    broken, checked = [], 0
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # an outside address: a link to follow, never a resource (see the test below)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{path.relative_to(site)}: {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = (pages.get(target) or _parse(target)).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(site)}: {link} (no such anchor)")
    assert checked > 200  # every page's navigation, the guide's cross-links and the pictures
    assert broken == []


def test_nothing_is_fetched_from_the_network(site: Path) -> None:
    remote = []
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, path
        remote += [f"{path.name}: {r}" for r in _parse(path).resources if urlsplit(r).scheme or r.startswith("//")]
    assert remote == []


def _help(command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backproplab.cli", *command.split(), "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": HELP_WIDTH},
        check=True,
    )
    return done.stdout


def _code_blocks(page: Path) -> list[str]:
    blocks = re.findall(r"<pre[^>]*>(.*?)</pre>", page.read_text(encoding="utf-8"), flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", block)) for block in blocks]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


@pytest.mark.parametrize("command", sorted(subcommand_parsers()))
def test_each_command_page_shows_exactly_its_help(site: Path, command: str) -> None:
    pages = [p for p in DOCS.rglob("*.md") if command in MARKER.findall(p.read_text(encoding="utf-8"))]
    assert len(pages) == 1, f"backproplab {command} needs one page with <!-- backproplab-help: {command} -->"
    built = site / pages[0].relative_to(DOCS).with_suffix(".html")
    expected = _lines(_help(command))
    assert any(_lines(block) == expected for block in _code_blocks(built)), f"{built.name} does not show --help"


def test_the_shared_flags_table_is_the_declared_one(site: Path) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", "", (site / "getting-started.html").read_text(encoding="utf-8")))
    for flag in COMMON_FLAGS.values():
        assert re.search(rf"{re.escape(flag.flag)}\b.*\s+{re.escape(flag.meaning)}", text), flag.flag


def test_the_home_page_opens_offline_in_a_browser(site: Path) -> None:
    with offline_page() as (page, seen):
        page.goto((site / "index.html").as_uri(), wait_until="load")
        title = page.title()
        images = page.evaluate("() => Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        nav = page.evaluate("() => Array.from(document.querySelectorAll('nav a[href$=\".html\"]')).length")
        page.locator("a:has-text('Results')").first.click()
        page.wait_for_load_state("load")
        results_heading = page.locator("h1").first.inner_text()
    assert seen["errors"] == [] and seen["remote"] == []
    assert all(url.startswith("file:") for url in seen["requests"])
    assert "backproplab" in title
    assert images and all(images)  # the assignment map's picture
    assert nav >= 12
    assert results_heading.startswith("Results")  # then its permalink sign


# ----------------------------------------------------------------------------- the README


README = ROOT / "README.md"


def test_the_readme_is_short_and_links_into_the_guide() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if not urlsplit(link).scheme]
    assert sum(link.startswith("docs/") for link in local) >= 8
    assert [link for link in local if not (ROOT / link).is_file()] == []
    for picture in ("docs/images/report-map.png", "docs/images/explorer.png"):
        assert picture in local and (ROOT / picture).stat().st_size < 400_000


def test_the_readme_names_exactly_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert set(re.findall(r"^\s+make (\w+)", text, flags=re.M)) == {"report", "test"}
