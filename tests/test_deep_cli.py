"""`backproplab mlp` for deep networks, other data sets, optimizers and TensorBoard logs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.datasets import load

PNG = b"\x89PNG\r\n\x1a\n"


def test_deep_network_on_moons_writes_boundary_curves_and_metrics(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["mlp", "--hidden", "10,10,10", "--activation", "relu", "--optimizer", "adam", "--batch-size", "32",
                 "--epochs", "60", "--n-samples", "400", "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    for name in ("dataset.png", "decision_boundary.png", "loss.png", "accuracy.png"):
        assert (out / name).read_bytes().startswith(PNG), name
    record = json.loads((out / "metrics.json").read_text())
    m = record["final"]
    assert record["config"]["hidden"] == [10, 10, 10] and record["config"]["optimizer"] == "adam"
    assert record["config"]["n_samples"] == 400 and m["dataset"]["n_test"] == 133
    assert m["parameter_count"] == 2 * 10 + 10 + 2 * (10 * 10 + 10) + 10 * 2 + 2
    assert m["test_accuracy"] >= 0.9 and m["train_accuracy"] >= 0.9
    assert len(record["curves"]["pass"]) == len(record["curves"]["accuracy"]) == 61
    assert f"test accuracy {m['test_accuracy']:.3f}" in capsys.readouterr().out


def test_tabular_run_writes_a_confusion_matrix_that_adds_up(tmp_path) -> None:
    out = tmp_path / "wine"
    code = main(["mlp", "--dataset", "wine", "--hidden", "16", "--activation", "relu", "--optimizer", "adam",
                 "--batch-size", "16", "--epochs", "40", "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    assert (out / "confusion_matrix.png").read_bytes().startswith(PNG)
    assert not (out / "decision_boundary.png").exists()
    m = json.loads((out / "metrics.json").read_text())["final"]
    cm = np.array(m["confusion_matrix"])
    d = load("wine", seed=0)
    assert cm.shape == (3, 3) and cm.sum() == d.y_test.shape[0]
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(d.y_test))
    assert np.trace(cm) / cm.sum() == pytest.approx(m["test_accuracy"])
    assert m["test_accuracy"] >= 0.9


def test_tensorboard_logs_and_early_stopping_from_the_cli(tmp_path) -> None:
    from backproplab.monitoring import read_scalars

    out = tmp_path / "run"
    code = main(["mlp", "--hidden", "8,8", "--activation", "tanh,relu", "--optimizer", "momentum", "--lr", "0.001",
                 "--batch-size", "20", "--epochs", "20", "--val-split", "0.2", "--patience", "5",
                 "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    scalars = read_scalars(out)  # the events are in the run folder
    assert {"train/loss", "validation/accuracy", "layer1/activation/mean", "layer3/net_input/std"} <= set(scalars)
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["activation"] == ["tanh", "relu"]
    assert len(scalars["train/loss"]) == len(m["curves"]["pass"])


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--hidden", "10,0"], "hidden layer 2 width must be a positive whole number"),
        (["--optimizer", "lbfgs"], "--optimizer: unknown optimizer 'lbfgs'; choose one of: sgd"),
        (["--batch-size", "500"], "batch_size=500 is larger than the 200 training rows"),
        (["--dataset", "iris", "--noise", "0.1"], "iris is a fixed bundled table"),
        (["--hidden", "4,4", "--activation", "tanh,relu,relu"], "3 activations for 2 hidden layers"),
        (["--patience", "3"], "early stopping (patience) needs a validation split"),
        (["--init", "zeros"], "--init: unknown weight initialisation 'zeros'; choose one of: scaled_normal"),
        (["--out", "/dev/null/tb", "--passes", "2"], "cannot use /dev/null/tb as a run folder"),
        (["--seed", "-1"], "--seed: must be a whole number from 0 to"),
    ],
)
def test_bad_deep_arguments_exit_with_one_line(tmp_path, capsys, argv, needle) -> None:
    code = main(["mlp", "--out", str(tmp_path / "x"), "--no-progress", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
