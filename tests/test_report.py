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
    build_report(out, sections=["moons", "deep", "dcn"], quick=True, progress=False)  # MNIST: BACKPROPLAB_DATA
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


def test_report_dcn_section_reads_back_its_tensorboard_run(quick_report) -> None:
    from backproplab.monitoring import read_scalars

    metrics = json.loads((quick_report / "metrics.json").read_text())["dcn"]
    assert metrics["status"] == "completed" and metrics["steps_done"] == 40
    scalars = read_scalars(quick_report / "runs" / "dcn" / "default")
    assert len(scalars["train/loss"]) == 40
    final_test_error = scalars["eval/test_error"][-1][1]
    assert final_test_error == pytest.approx(metrics["test_error"], abs=1e-6)
    page = (quick_report / "index.html").read_text()
    assert f"{100 * metrics['test_accuracy']:.2f}%" in page
    for name in ("dcn_loss.png", "dcn_error.png", "dcn_layer_statistics.png", "dcn_histograms.png"):
        assert f'src="figures/{name}"' in page


def test_report_without_mnist_fails_fast_with_one_line(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BACKPROPLAB_OFFLINE", "1")
    empty = tmp_path / "no-mnist"
    empty.mkdir()
    code = main(["report", "--out", str(tmp_path / "r"), "--data-dir", str(empty), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "train-images-idx3-ubyte" in err and "BACKPROPLAB_DATA" in err
    assert not (tmp_path / "r" / "figures").exists(), "no experiment should run before the data check"
