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


def test_a_band_spans_the_steps_all_seeds_reached_at_the_scale_asked_for_and_one_seed_has_none() -> None:
    """Seeds that stopped at different steps are averaged over the steps all of them reached, drawn at
    those steps (not at their indices), times ``scale`` (a share in percent); one seed draws a line only."""
    fig, ax = plt.subplots()
    try:
        figures._band(ax, [([0, 100, 200], [0.1, 0.2, 0.3]), ([0, 100], [0.3, 0.4])], "relu", scale=100.0)
        (line,) = ax.get_lines()
        assert list(line.get_xdata()) == [0, 100]
        assert list(line.get_ydata()) == pytest.approx([20.0, 30.0])
        assert len(ax.collections) == 1
        figures._band(ax, [([0, 100], [0.5, float("inf")])], "tanh")
        assert len(ax.collections) == 1  # no band for one seed
        first, second = ax.get_lines()[1].get_ydata()
        assert first == 0.5 and math.isnan(second)  # a diverged step is a gap
    finally:
        plt.close(fig)


def test_a_layer_panel_draws_each_runs_statistic_times_the_scale_and_skips_a_run_without_statistics(
    tmp_path,
) -> None:
    """The saved shares 0.1, 0.2, 0.3 drawn as they are, or in percent at ``scale=100``; a run whose folder
    holds no statistics (it failed before any) draws nothing and stops nothing."""
    groups = {
        "tanh": [_row(tmp_path, "tanh", "saturated")],
        "relu": [{"folder": tmp_path / "gone", "activation": "relu"}],
    }
    layer = stats.ACTIVATION_LAYERS[0]
    for kwargs, expected in (({}, [0.1, 0.2, 0.3]), ({"scale": 100}, [10.0, 20.0, 30.0])):
        fig = figures.layer_grid_figure("activation", groups, [("saturated", layer, "share")], log=False, **kwargs)
        try:
            (line,) = fig.axes[0].get_lines()
            assert list(line.get_xdata()) == [0, 100, 200]
            assert list(line.get_ydata()) == pytest.approx(expected)
        finally:
            plt.close(fig)


def _sweep_row(run: str, steps: int = 100, **factors) -> dict:
    course = {"activation": "relu", "init": "truncated_normal", "optimizer": "adam", "lr": 1e-3, "schedule": "none"}
    return {"run": run, "steps": steps, **course, **factors}


def test_factor_groups_slice_the_full_budget_runs_through_the_course_run_one_factor_at_a_time() -> None:
    rows = [
        _sweep_row("tanh", activation="tanh"),  # first, yet not the reference: the course's run is
        _sweep_row("course-0"),
        _sweep_row("course-1"),
        _sweep_row("sgd", optimizer="sgd", lr=0.1),  # an optimizer keeps its own learning rate
        _sweep_row("lr", lr=3e-3),
        _sweep_row("tanh-sgd", activation="tanh", optimizer="sgd"),  # two factors apart: in no slice
        _sweep_row("search", steps=10, activation="sigmoid"),  # the short learning-rate search budget
    ]
    names = {
        factor: {value: [r["run"] for r in members] for value, members in groups.items()}
        for factor, groups in figures.factor_groups(rows).items()
    }
    assert names == {
        "activation": {"tanh": ["tanh"], "relu": ["course-0", "course-1"]},
        "optimizer": {"adam": ["course-0", "course-1", "lr"], "sgd": ["sgd"]},
        "lr": {1e-3: ["course-0", "course-1"], 3e-3: ["lr"]},
    }
    # without the course's run the first full-budget run is the reference
    first, elu, orthogonal = (
        _sweep_row("sgd", optimizer="sgd"),
        _sweep_row("sgd-elu", optimizer="sgd", activation="elu"),
        _sweep_row("sgd-orthogonal", optimizer="sgd", init="orthogonal"),
    )
    assert figures.factor_groups([first, elu, orthogonal, _sweep_row("search", steps=10)]) == {
        "activation": {"relu": [first], "elu": [elu]},
        "init": {"truncated_normal": [first], "orthogonal": [orthogonal]},
    }
    assert figures.factor_groups([]) == {}


def test_the_lr_search_draws_each_optimizers_error_in_percent_against_the_sorted_rates(tmp_path, monkeypatch) -> None:
    drawn = {}

    def keep(fig, path):
        drawn.update({line.get_label(): line for line in fig.axes[0].get_lines()}, axes=fig.axes[0])
        return save(fig, path)

    save = figures.save_figure
    monkeypatch.setattr(figures, "save_figure", keep)
    search = {
        "adam": {"rates": {"0.01": 0.05, "0.001": 0.02, "0.1": None}, "best": 0.001},
        "sgd": {"rates": {"0.3": 0.9, "0.1": 0.04}, "best": 0.1},
    }
    figures.lr_search_figure(tmp_path / "lr_search.png", search)
    assert (tmp_path / "lr_search.png").stat().st_size > 0
    axes = drawn.pop("axes")
    assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    assert set(drawn) == {"adam", "sgd"}
    assert list(drawn["adam"].get_xdata()) == [0.001, 0.01, 0.1]
    assert drawn["adam"].get_marker() == "o"  # a rate between two diverged ones still shows, as a dot
    assert list(drawn["adam"].get_ydata()[:2]) == pytest.approx([2.0, 5.0])
    assert math.isnan(drawn["adam"].get_ydata()[2])  # a diverged rate leaves a gap
    assert list(drawn["sgd"].get_xdata()) == [0.1, 0.3] and list(drawn["sgd"].get_ydata()) == pytest.approx([4, 90])


def test_a_run_without_kept_statistics_reads_its_events_as_its_activation(tmp_path) -> None:
    from backproplab.monitoring import SummaryWriter

    with SummaryWriter(tmp_path) as writer:  # half the outputs at tanh's bound 1, half at 0
        writer.add_histogram("conv1/activation", [0.0] * 50 + [1.0] * 50, 0)
    got = figures._stats({"folder": str(tmp_path), "activation": "tanh"})
    assert got["saturated"] == {"conv1": {"step": [0], "value": [0.5]}}
    assert figures._stats({"folder": str(tmp_path / "missing"), "activation": "tanh"}) == {}
