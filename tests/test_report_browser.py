"""The quick report opened in a real browser: Debian's chromium, driven by Playwright (never a browser
download). `make test` and CI install chromium first (.ci/install-chromium), so this test never skips there.

The full-page screenshot is kept in ``.pytest_cache/d/report-browser/report.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from browser import offline_page
from report_fixtures import build_quick_report

# The quick report is built and loaded in chromium in the setup of the first test: 171 s measured on 2 shared
# cores under load (docs/results.md).
pytestmark = pytest.mark.timeout(360)


@pytest.fixture(scope="module")
def browser_view(tmp_path_factory, testrun_uid, pytestconfig):
    report, _ = build_quick_report(tmp_path_factory, testrun_uid)
    screenshot = pytestconfig.cache.mkdir("report-browser") / "report.png"
    with offline_page() as (page, seen):
        page.goto((report / "index.html").as_uri(), wait_until="load")
        seen["images"] = page.evaluate(
            "() => Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"
        )
        seen["maths"] = page.evaluate(
            """() => Array.from(document.querySelectorAll('math')).map(m => {
                    const r = m.getBoundingClientRect();
                    return [r.width, r.height, m.querySelectorAll('merror').length, m.textContent.slice(0, 40)];
                })"""
        )
        seen["links"] = page.evaluate(
            """() => Array.from(document.querySelectorAll('a[href^="#"]')).map(a => {
                    const id = decodeURIComponent(a.getAttribute('href').slice(1));
                    return [id, document.getElementById(id) !== null];
                })"""
        )
        seen["math_display"] = page.evaluate("() => getComputedStyle(document.querySelector('math')).display")
        page.screenshot(path=str(screenshot), full_page=True)
    seen["screenshot"] = screenshot
    return seen


def test_page_has_no_console_or_page_errors(browser_view) -> None:
    assert browser_view["errors"] == []


def test_page_requests_only_local_files(browser_view) -> None:
    requests = browser_view["requests"]
    assert len(requests) >= 10  # the page and its figures
    assert all(url.startswith("file:") for url in requests), [u for u in requests if not u.startswith("file:")]
    assert browser_view["remote"] == []


def test_every_image_loads(browser_view) -> None:
    images = browser_view["images"]
    assert len(images) >= 10
    assert [src for src, ok in images if not ok] == []


def test_every_formula_is_drawn_by_the_browser(browser_view) -> None:
    maths = browser_view["maths"]
    assert len(maths) >= 20
    # an element the browser does not know as MathML would be laid out as plain "inline" text
    assert browser_view["math_display"] in ("math", "inline math", "block math")
    assert [m for m in maths if m[0] <= 0 or m[1] <= 0 or m[2] > 0] == []


def test_every_internal_link_resolves(browser_view) -> None:
    links = browser_view["links"]
    assert len(links) >= 15  # contents and the assignment map
    assert [target for target, ok in links if not ok] == []


def test_full_page_screenshot_is_kept(browser_view) -> None:
    with Image.open(browser_view["screenshot"]) as image:
        width, height = image.size
    assert width >= 1000 and height > 3000  # the whole page, not just the first screen


def test_tensorboard_dashboards_are_photographed(tmp_path_factory, testrun_uid, tmp_path) -> None:
    """The report's TensorBoard views (skipped in quick builds): a real TensorBoard over the quick runs,
    photographed by chromium; each screenshot shows a drawn dashboard, not a blank page."""
    import numpy as np
    from PIL import Image

    from backproplab.report.tensorboard_views import available, screenshots

    _, results = build_quick_report(tmp_path_factory, testrun_uid)
    assert available()
    taken = screenshots(results, tmp_path, names=("scalars", "hparams"))
    assert sorted(taken) == ["hparams", "scalars"]
    for path in taken.values():
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=float)
        assert pixels.shape[1] >= 1000 and pixels.std() > 20, path  # TensorBoard's orange bar, text and charts


def test_the_readme_screenshots(tmp_path_factory, testrun_uid, pytestconfig) -> None:
    """The README's two pictures, taken from the quick report: its assignment map and its explorer.
    ``make screenshots`` sets BACKPROPLAB_SCREENSHOTS=docs/images to keep them; else they go to the cache."""
    report, _ = build_quick_report(tmp_path_factory, testrun_uid)
    folder = Path(os.environ.get("BACKPROPLAB_SCREENSHOTS") or pytestconfig.cache.mkdir("report-browser"))
    taken = screenshots(report, folder)
    for path in taken:
        with Image.open(path) as image:
            width, height = image.size
            colours = len(image.convert("RGB").getcolors(maxcolors=1 << 16) or range(1 << 16))
        assert width >= 800 and 300 <= height <= 1600, (path, image.size)
        assert colours > 16, f"{path} is nearly blank"  # text and figures, not an empty page
        assert path.stat().st_size < 400_000, f"{path} is {path.stat().st_size} bytes; keep the README light"


def screenshots(report: Path, folder: Path) -> list[Path]:
    """report-map.png (the assignment map) and explorer.png (the explorer page's first screen), in ``folder``,
    as 256-colour PNGs (a few hundred KB at most)."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = [folder / "report-map.png", folder / "explorer.png"]
    with offline_page(width=1200, height=800) as (page, seen):
        page.goto((report / "index.html").as_uri(), wait_until="load")
        page.locator("#assignment-map").screenshot(path=str(taken[0]))
        page.goto((report / "explorer" / "index.html").as_uri(), wait_until="load")
        page.locator("input[type=range]").first.press("End")  # the trained network, not its first pass
        page.wait_for_timeout(500)
        page.screenshot(path=str(taken[1]))
        assert seen["errors"] == [] and seen["remote"] == []
    for path in taken:
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=256).save(path, optimize=True)
    return taken
