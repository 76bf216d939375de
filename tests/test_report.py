"""The HTML report: every section builds, every figure it links exists, numbers are recorded."""

from __future__ import annotations

import json
import re

import pytest

from backproplab.cli import main
from backproplab.report import build_report


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    build_report(out, sections=["moons", "deep"], quick=True, progress=False)
    return out


def test_report_links_only_existing_png_figures(quick_report) -> None:
    page = (quick_report / "index.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) >= 6
    for src in sources:
        data = (quick_report / src).read_bytes()
        assert data.startswith(b"\x89PNG"), src


def test_report_contains_derivation_and_tables(quick_report) -> None:
    page = (quick_report / "index.html").read_text()
    assert "delta2 = p - onehot(y)" in page
    assert page.count("<table>") >= 2
    assert "What the numbers show" in page


def test_report_metrics_agree_with_the_page(quick_report) -> None:
    metrics = json.loads((quick_report / "metrics.json").read_text())
    moons = metrics["moons"]
    assert max(moons["gradient_check_max_relative_error"].values()) < 1e-6
    assert moons["activations"]["tanh"]["train_accuracy"] > moons["logistic_regression_accuracy"]
    page = (quick_report / "index.html").read_text()
    assert f"{moons['logistic_regression_accuracy']:.3f}" in page


def test_report_unknown_section_is_a_one_line_error(tmp_path, capsys) -> None:
    code = main(["report", "--out", str(tmp_path / "r"), "--sections", "nope", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown report section" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "index.html").exists()


def test_report_deep_section_tabulates_every_grid_cell(quick_report) -> None:
    metrics = json.loads((quick_report / "metrics.json").read_text())
    rows = metrics["deep"]["spirals"]["rows"]
    assert {(r["activation"], r["depth"], r["width"]) for r in rows} == {("tanh", 1, 4), ("tanh", 2, 4)}
    page = (quick_report / "index.html").read_text()
    for r in rows:
        assert f"{r['test_accuracy']:.4g}" in page
    assert 'src="figures/grid-spirals/grid.png"' in page
