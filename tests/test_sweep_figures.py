"""The sweep's figures read right: one legend names every value, and a value keeps its colour in
every panel (saturated tanh beside silent ReLU units used to share the first colour)."""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex

from backproplab.sweeps import figures, stats


def _row(tmp_path, activation: str, kind: str) -> dict:
    folder = tmp_path / activation
    folder.mkdir()
    series = {layer: {"step": [0, 100, 200], "value": [0.1, 0.2, 0.3]} for layer in stats.ACTIVATION_LAYERS}
    (folder / stats.STATS_FILE).write_text(json.dumps({"saturated": {}, "silent": {}, kind: series}))
    return {"folder": folder, "activation": activation}


def test_activation_inside_has_one_legend_for_all_panels_and_one_colour_per_value(tmp_path) -> None:
    groups = {"tanh": [_row(tmp_path, "tanh", "saturated")], "relu": [_row(tmp_path, "relu", "silent")]}
    panels = [(kind, layer, f"{kind} share") for kind in ("saturated", "silent") for layer in stats.ACTIVATION_LAYERS]
    fig = figures.layer_grid_figure("activation", groups, panels, log=False)
    try:
        (legend,) = fig.legends
        assert [t.get_text() for t in legend.get_texts()] == ["tanh", "relu"]
        colours: dict[str, set[str]] = {}
        for ax in fig.axes:
            assert ax.get_legend() is None
            for line in ax.get_lines():
                colours.setdefault(line.get_label(), set()).add(to_hex(line.get_color()))
        assert set(colours) == {"tanh", "relu"}
        assert all(len(c) == 1 for c in colours.values()), colours
        assert colours["tanh"] != colours["relu"]
        # every panel titled with its layer and what it shows (the layers repeat across kinds)
        assert [ax.get_title() for ax in fig.axes] == [f"{layer}: {kind} share" for kind, layer, _ in panels]
    finally:
        plt.close(fig)


def test_loss_curve_is_averaged_in_chunks_leaving_out_nan() -> None:
    n = 2 * stats.LOSS_POINTS  # two points per chunk
    values = [float(i) for i in range(n)]
    values[1] = math.nan  # chunk 0 keeps its finite point
    values[10] = values[11] = math.nan  # chunk 5 has none: a gap
    curve = stats._loss_curve([(10 * i, v) for i, v in enumerate(values)])
    expected = [2 * k + 0.5 for k in range(stats.LOSS_POINTS)]
    expected[0], expected[5] = 0.0, math.nan
    assert curve["step"] == [20 * k + 5.0 for k in range(stats.LOSS_POINTS)]
    assert curve["value"] == pytest.approx(expected, nan_ok=True)
    short = [(0, 3.0), (5, 1.0)]
    assert stats._loss_curve(short) == {"step": [0.0, 5.0], "value": [3.0, 1.0]}


@pytest.mark.parametrize(
    ("activation", "limits", "expected"),
    [
        # sigmoid, margin 0.01: the buckets reaching below 0.01 or above 0.99, not those ending at 0.015 or 0.985
        ("sigmoid", [0.005, 0.015, 0.5, 0.985, 1.0], (1 + 8) / 15),
        # tanh spans 2, margin 0.02: below -0.98 or above 0.98, not those at -0.97 or 0.97
        ("tanh", [-0.995, -0.97, 0.0, 0.97, 0.99, 1.0], (1 + 8 + 16) / 31),
    ],
    ids=["sigmoid", "tanh"],
)
def test_saturated_share_counts_the_buckets_within_one_percent_of_a_bound(activation, limits, expected) -> None:
    counts = [0] + [2**i for i in range(len(limits) - 1)]  # bucket 0 is the empty one ending at the minimum
    assert stats.saturated_share({"bucket_limit": limits, "bucket": counts}, activation) == pytest.approx(expected)


def test_seed_band_is_the_mean_and_one_std_of_the_seeds() -> None:
    fig, ax = plt.subplots()
    try:
        figures._band(ax, [([0, 1, 2], [1.0, 2.0, 3.0]), ([0, 1, 2], [3.0, 6.0, 5.0])], "relu")
        (line,) = ax.get_lines()
        assert list(line.get_ydata()) == pytest.approx([2.0, 4.0, 4.0])
        (band,) = ax.collections
        corners = {(float(x), float(y)) for x, y in band.get_paths()[0].vertices}
        assert {(0, 1), (1, 2), (2, 3), (0, 3), (1, 6), (2, 5)} <= corners  # mean -+ std: 2-+1, 4-+2, 4-+1
    finally:
        plt.close(fig)
