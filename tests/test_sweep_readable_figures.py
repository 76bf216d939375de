"""The 2c figures read at page width: errors in %, a log axis where values span decades (sigmoid's 75% beside
ReLU's 2%), the spread over seeds drawn only where there are two seeds and named, at most three panels a row,
one legend per figure. Hand-built runs, so every drawn number is known."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from backproplab.sweeps import figures, stats

#: The report page's content width (``max-width:1100px`` in report/html.py); figures are scaled down to it.
PAGE_PX = 1100
#: The smallest tick label, in screen pixels once the figure is scaled to the page, that we call legible.
LEGIBLE_PX = 11


def _run(tmp_path, value: str, seed: int, test_error: float, validation: list[float]) -> dict:
    folder = tmp_path / f"{value}-{seed}"
    folder.mkdir()
    steps = [200, 400, 600]
    (folder / "metrics.json").write_text(json.dumps({"curves": {"step": steps, "validation_error": validation}}))
    loss = {"step": steps, "value": [2.3, 1.0, 0.5]}
    series = {layer: {"step": steps, "value": [0.1, 0.2, 0.3]} for layer in stats.ACTIVATION_LAYERS}
    stats_of = {"loss": loss, "saturated": {}, "silent": series, "activation_std": series, "weight_std": {}}
    (folder / stats.STATS_FILE).write_text(json.dumps(stats_of))
    return {"folder": folder, "activation": value, "seed": seed, "test_error": test_error}


def _groups(tmp_path, errors: dict[str, list[float]]) -> dict[str, list[dict]]:
    return {
        value: [_run(tmp_path, value, seed, e, [e + 0.1, e + 0.05, e]) for seed, e in enumerate(seeds)]
        for value, seeds in errors.items()
    }


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_final_errors_spanning_decades_are_drawn_in_percent_on_a_log_axis_with_min_max_bars(tmp_path) -> None:
    fig = figures.final_error_figure("activation", _groups(tmp_path, {"relu": [0.02, 0.03], "sigmoid": [0.75, 0.76]}))
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and "(%)" in ax.get_ylabel()
    assert ax.get_lines()[0].get_ydata() == pytest.approx([2.5, 75.5])  # the means, in %
    (bars,) = [c for c in ax.collections if len(c.get_segments())]
    ends = sorted(sorted(seg[:, 1]) for seg in bars.get_segments())
    assert np.allclose(ends, [[2, 3], [75, 76]])
    assert "mean of 2 seeds, bars: min–max over seeds" in ax.get_title()
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(float(text) > 0 for text in labels)  # plain numbers, not 10^{-2} in mathtext


def test_final_errors_within_a_decade_keep_a_linear_axis(tmp_path) -> None:
    fig = figures.final_error_figure("activation", _groups(tmp_path, {"relu": [0.02, 0.03], "elu": [0.05, 0.06]}))
    assert fig.axes[0].get_yscale() == "linear"


def test_one_seed_draws_no_spread_and_says_so(tmp_path) -> None:
    groups = _groups(tmp_path, {"relu": [0.02], "sigmoid": [0.75]})
    final = figures.final_error_figure("activation", groups)
    assert not [c for c in final.axes[0].collections if len(c.get_segments())]
    assert "one seed: no spread shown" in final.axes[0].get_title()
    curves = figures.curves_figure("activation", groups)
    assert all(not ax.collections for ax in curves.axes)  # no band around a single run
    assert curves.get_suptitle() == "one seed: no spread shown"


def test_curves_show_validation_error_in_percent_a_min_max_band_and_one_legend(tmp_path) -> None:
    groups = _groups(tmp_path, {"relu": [0.02, 0.03, 0.07], "sigmoid": [0.75, 0.76, 0.74]})
    fig = figures.curves_figure("activation", groups)
    validation, loss = fig.axes
    assert "(%)" in validation.get_ylabel() and validation.get_yscale() == "log"
    relu = validation.get_lines()[0]
    assert relu.get_label() == "relu" and relu.get_ydata() == pytest.approx([14, 9, 4])  # mean of 12, 13, 17...
    band = validation.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(2) and band.max() == pytest.approx(17)  # min-max, not mean ± std
    assert loss.get_yscale() == "linear"  # 2.3 -> 0.5: within a decade
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert fig.get_suptitle() == "mean of 3 seeds, shaded: min–max over seeds"


@pytest.mark.parametrize("count", [2, 5, 6, 7])
def test_panels_are_at_most_three_a_row_and_legible_at_page_width(tmp_path, count: int) -> None:
    groups = _groups(tmp_path, {"relu": [0.02, 0.03], "tanh": [0.04, 0.05]})
    panels = [("activation_std", layer, "activation std") for layer in stats.ACTIVATION_LAYERS] * 3
    fig = figures.layer_grid_figure("init", groups, panels[:count], log=True)
    rows: dict[float, int] = {}
    for ax in fig.axes:
        top = round(ax.get_position().y1, 3)
        rows[top] = rows.get(top, 0) + 1
    assert sum(rows.values()) == count and max(rows.values()) <= figures.COLUMNS == 3
    width_in = fig.get_size_inches()[0]
    tick_pt = min(t.get_fontsize() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels())
    assert tick_pt / 72 * min(1.0, PAGE_PX / (width_in * 110)) * 110 >= LEGIBLE_PX
    assert len(fig.legends) == 1


def test_log_if_decades_decides_from_what_is_drawn() -> None:
    _, ax = plt.subplots()
    ax.plot([0, 1], [2.0, 19.0])
    figures.log_if_decades(ax)
    assert ax.get_yscale() == "linear"
    ax.plot([0, 1], [20.0, np.nan])
    figures.log_if_decades(ax)
    assert ax.get_yscale() == "log"


def test_the_loss_panel_shows_each_values_mean_loss_and_a_validation_subset_is_named_in_the_title(tmp_path) -> None:
    groups = _groups(tmp_path, {"relu": [0.02, 0.03]})
    validation, loss = figures.curves_figure("activation", groups).axes
    (line,) = loss.get_lines()
    assert list(line.get_xdata()) == [200, 400, 600] and line.get_ydata() == pytest.approx([2.3, 1.0, 0.5])
    assert validation.get_title() == "validation error by activation"  # every evaluation on the whole set
    metrics = groups["relu"][1]["folder"] / "metrics.json"
    record = json.loads(metrics.read_text())
    metrics.write_text(json.dumps({**record, "config": {"eval_images": 1000}}))
    validation, _ = figures.curves_figure("activation", groups).axes
    assert validation.get_title() == "validation error by activation\n(first 1,000 images but the last point)"


def test_log_if_decades_counts_every_positive_finite_value_and_only_those() -> None:
    _, ax = plt.subplots()
    ax.plot([0, 1, 2, 3], [0.0, -5.0, 1.0, 2.0])  # 0% and below have no logarithm: 1 to 2 is under a decade
    figures.log_if_decades(ax)
    assert ax.get_yscale() == "linear"
    _, ax = plt.subplots()
    ax.plot([0, 1], [0.2, 3.0])  # values under 1 count like any other: 15 times
    figures.log_if_decades(ax)
    assert ax.get_yscale() == "log"


def test_final_errors_are_dots_named_by_value_and_a_value_without_a_finite_error_is_a_gap(tmp_path) -> None:
    groups = {
        0.001: [_run(tmp_path, "0.001", seed, e, [e]) for seed, e in enumerate([0.02, 0.04])],
        0.01: [_run(tmp_path, "0.01", seed, 0.5, [0.5]) for seed in range(2)],
    }
    groups[0.01][0]["test_error"], groups[0.01][1]["test_error"] = None, float("nan")  # both runs diverged
    (ax,) = figures.final_error_figure("lr", groups).axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["lr 0.001", "lr 0.01"]
    dots = ax.get_lines()[0]
    assert dots.get_marker() == "o"
    assert all(line.get_linestyle() == "None" for line in ax.get_lines())  # values side by side, not a trend
    assert list(dots.get_xdata()) == [0, 1]
    assert dots.get_ydata()[0] == pytest.approx(3.0) and np.isnan(dots.get_ydata()[1])


def test_curves_name_each_value_in_a_legend_titled_by_the_factor_and_skip_a_run_without_metrics(tmp_path) -> None:
    groups = {
        0.001: [_run(tmp_path, "0.001", 0, 0.02, [0.3, 0.2, 0.1])],
        0.01: [_run(tmp_path, "0.01", 0, 0.04, [0.4, 0.3, 0.2])],
    }
    failed = tmp_path / "failed"  # a run that stopped before writing metrics.json or statistics
    failed.mkdir()
    groups[0.01].append({"folder": failed, "activation": "relu", "seed": 1, "test_error": None})
    fig = figures.curves_figure("lr", groups)
    (legend,) = fig.legends
    assert legend.get_title().get_text() == "lr"
    assert [t.get_text() for t in legend.get_texts()] == ["lr 0.001", "lr 0.01"]
    validation, _ = fig.axes
    assert [list(line.get_ydata()) for line in validation.get_lines()] == [
        pytest.approx([30, 20, 10]),
        pytest.approx([40, 30, 20]),  # the failed run left out, not averaged in as empty
    ]
