"""The depth x width x activation grid: Python entry point and `backproplab mlp --grid`."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.datasets import load
from backproplab.experiments.grid import run_grid
from backproplab.experiments.mlp_run import MLPConfig, load_data, train_config

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.pins_numbers
def test_run_grid_writes_one_figure_and_a_table(tmp_path) -> None:
    result = run_grid(
        "moons", depths=(1, 3), widths=(4,), activations=("tanh", "relu"), out_dir=tmp_path, progress=False,
        num_passes=30,
    )  # fmt: skip
    assert [(r["activation"], r["depth"], r["width"]) for r in result.rows] == [
        ("tanh", 1, 4), ("tanh", 3, 4), ("relu", 1, 4), ("relu", 3, 4),
    ]  # fmt: skip
    for path in (result.figure, result.heatmap):
        assert path.read_bytes().startswith(PNG)
    with result.table.open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and float(table[1]["test_accuracy"]) == pytest.approx(result.rows[1]["test_accuracy"])
    saved = json.loads(result.metrics.read_text())
    assert saved["rows"] == json.loads(json.dumps(result.rows))
    assert saved["config"]["optimizer"] == "adam" and saved["config"]["num_passes"] == 30
    # each cell's numbers are those of the same network trained on its own
    cfg = MLPConfig(optimizer="adam", batch_size=32, epsilon=0.01, num_passes=30, lr_decay=0.99, init="he",
                    hidden=[4, 4, 4], activation="relu")  # fmt: skip
    alone = train_config(cfg, load_data(cfg)).metrics
    assert alone["test_accuracy"] == result.rows[3]["test_accuracy"]
    assert alone["train_accuracy"] == result.rows[3]["train_accuracy"]
    assert result.best() in result.rows
    assert all(0.8 <= r["train_accuracy"] <= 1 for r in result.rows)


@pytest.mark.pins_numbers
def test_grid_on_a_table_has_no_boundaries_but_a_heatmap(tmp_path) -> None:
    result = run_grid("iris", depths=(1,), widths=(8,), activations=("relu",), out_dir=tmp_path, progress=False,
                      num_passes=40)  # fmt: skip
    assert result.figure is None and not (tmp_path / "grid.png").exists()
    assert result.heatmap.read_bytes().startswith(PNG)
    assert result.rows[0]["test_accuracy"] >= 0.85


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"depths": ()}, "depths is empty"),
        ({"widths": (3, 3)}, "widths has repeated values"),
        ({"depths": (0,)}, "depth must be a positive whole number"),
        ({"activations": ("swish",)}, "unknown activation 'swish'"),
        ({"learning_rate": 0.1}, "unknown setting\\(s\\) learning_rate"),
        ({"dataset": "nope"}, "unknown data set 'nope'"),
    ],
)
def test_bad_grids_give_clear_errors(tmp_path, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        run_grid(**{"out_dir": tmp_path / "g", "progress": False, **kwargs})
    assert not (tmp_path / "g").exists()


def test_cli_grid(tmp_path, capsys) -> None:
    out = tmp_path / "grid"
    code = main(["mlp", "--grid", "--dataset", "xor", "--depths", "1,2", "--widths", "6", "--activations", "relu",
                 "--epochs", "40", "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    rows = json.loads((out / "grid.json").read_text())["rows"]
    assert [(r["depth"], r["width"]) for r in rows] == [(1, 6), (2, 6)]
    assert (out / "grid.png").read_bytes().startswith(PNG)
    printed = capsys.readouterr().out
    assert "2 networks; best test accuracy" in printed
    assert max(r["test_accuracy"] for r in rows) >= 0.9


def test_cli_grid_rejects_single_run_options(tmp_path, capsys) -> None:
    code = main(["mlp", "--grid", "--hidden", "3", "--out", str(tmp_path / "g"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "with --grid use --depths" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "g").exists()


def test_load_data_for_the_cli_keeps_the_handout_moons() -> None:
    data = load_data(MLPConfig())
    from backproplab.datasets import make_moons

    X, y = make_moons()
    np.testing.assert_array_equal(data.X_train, X)
    np.testing.assert_array_equal(data.y_train, y)
    X_test, _ = make_moons(67, 0.2, seed=1000)
    np.testing.assert_array_equal(data.X_test, X_test)
    assert load("moons", fresh_test=True).params["test_seed"] == 1000
