"""The explorer page in a real browser: Debian's headless Chromium driven by Playwright.

The page is opened from disk with every non-``file:`` request aborted (and recorded), so passing
proves the page works offline. ``make test`` and ``.ci/run`` install Chromium when it is missing. The
full-page screenshot is kept in ``.pytest_cache/d/explorer-browser/explorer.png``.
"""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.explorer import RunSpec, build_explorer
from browser import offline_page

SPECS = [
    RunSpec("moons", (3,), "tanh", passes=3000),
    RunSpec("moons", (3,), "relu", passes=3000),
    RunSpec("moons", (5,), "tanh", passes=3000),
    RunSpec("spirals", (8, 8), "tanh", passes=600, epsilon=0.002),
]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory, pytestconfig):
    out = tmp_path_factory.mktemp("explorer")
    page_path = build_explorer(out, SPECS, snapshots=20, progress=False)
    with offline_page(1360, 1000) as (page, seen):
        page.goto(page_path.as_uri())
        page.wait_for_function("window.backproplabExplorer !== undefined")
        yield page, page_path, seen["errors"], seen["remote"]
        page.screenshot(path=str(pytestconfig.cache.mkdir("explorer-browser") / "explorer.png"), full_page=True)


def _shown(page) -> dict[str, float]:
    keys = ["pass", "train-loss", "train-accuracy", "test-loss", "test-accuracy"]
    return {k: float(page.get_attribute(f"#stat-{k}", "data-value")) for k in keys}


def _run(page, run_id: str) -> dict:
    return page.evaluate("id => window.backproplabExplorer.data.runs.find(r => r.id === id)", run_id)


def _set_slider(page, index: int) -> None:
    page.evaluate(
        "i => { const s = document.getElementById('pass-slider'); s.value = String(i);"
        " s.dispatchEvent(new Event('input')); }",
        index,
    )


def _boundary_pixels(page) -> str:
    return page.evaluate("document.getElementById('boundary').toDataURL()")


def test_loads_offline_without_errors(browser_page):
    page, _, problems, remote = browser_page
    assert problems == []
    assert remote == []
    assert page.evaluate("document.querySelectorAll('#units canvas').length") == 3  # moons tanh: 3 hidden units
    assert page.evaluate("document.querySelectorAll('#network line').length") == 2 * 3 + 3 * 2


def test_the_slider_moves_the_picture_and_the_numbers_match_the_history(browser_page):
    page, _, problems, _ = browser_page
    page.evaluate("window.backproplabExplorer.show('moons-tanh-3', 0)")
    run = _run(page, "moons-tanh-3")
    before_pixels, before = _boundary_pixels(page), _shown(page)
    for index in (5, 12, len(run["snapshots"]) - 1):
        _set_slider(page, index)
        snap = run["snapshots"][index]
        shown = _shown(page)
        assert shown == {
            "pass": snap["pass"],
            "train-loss": snap["train_loss"],
            "train-accuracy": snap["train_accuracy"],
            "test-loss": snap["test_loss"],
            "test-accuracy": snap["test_accuracy"],
        }
    assert shown != before
    assert _boundary_pixels(page) != before_pixels
    assert f"pass={run['snapshots'][-1]['pass']}" in page.evaluate("location.hash")
    assert problems == []


def test_switching_runs_keeps_the_pass(browser_page):
    page, _, problems, _ = browser_page
    page.evaluate("window.backproplabExplorer.show('moons-tanh-3', 0)")
    _set_slider(page, 9)
    pass_before = _shown(page)["pass"]
    page.select_option("#pick-activation", "relu")
    assert page.evaluate("window.backproplabExplorer.state.run.id") == "moons-relu-3"
    assert _shown(page)["pass"] == pass_before
    page.select_option("#pick-hidden", "5")
    assert (
        page.evaluate("window.backproplabExplorer.state.run.id") == "moons-tanh-5"
        or page.evaluate("window.backproplabExplorer.state.run.hidden.join(',')") == "5"
    )
    assert _shown(page)["pass"] == pass_before
    page.select_option("#pick-dataset", "spirals")  # 600 passes: the nearest recorded pass
    run = _run(page, "spirals-tanh-8x8")
    nearest = min((s["pass"] for s in run["snapshots"]), key=lambda p: abs(p - pass_before))
    assert _shown(page)["pass"] == nearest
    assert page.evaluate("document.querySelectorAll('#units canvas').length") == 8
    assert problems == []


def test_the_url_fragment_restores_a_view(browser_page):
    page, page_path, problems, _ = browser_page
    run = _run(page, "moons-relu-3")
    target = run["snapshots"][7]["pass"]
    page.goto(page_path.as_uri() + f"#run=moons-relu-3&pass={target}")
    page.wait_for_function("window.backproplabExplorer !== undefined")
    assert page.evaluate("window.backproplabExplorer.state.run.id") == "moons-relu-3"
    assert _shown(page)["pass"] == target
    assert problems == []


def test_the_drawn_probabilities_are_the_engines(browser_page):
    """The page's forward pass (used only for pictures) agrees with NumPy's to 1e-12."""
    from backproplab.scratch import DeepNeuralNetwork

    page, _, _, _ = browser_page
    run = _run(page, "spirals-tanh-8x8")
    index = len(run["snapshots"]) - 1
    net = DeepNeuralNetwork(2, [8, 8], 3, actFun_type="tanh", seed=0)
    for live, recorded in zip(net.parameters(), run["snapshots"][index]["params"], strict=True):
        live[...] = np.asarray(recorded)
    points = np.random.default_rng(0).uniform(-2, 2, size=(20, 2))
    expected = net.feedforward(points)
    for point, probs in zip(points, expected, strict=True):
        got = page.evaluate(
            "a => window.backproplabExplorer.predict(a[0], a[1], a[2], a[3])",
            ["spirals-tanh-8x8", index, float(point[0]), float(point[1])],
        )
        np.testing.assert_allclose(got, probs, rtol=0, atol=1e-12)
