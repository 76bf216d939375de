"""`backproplab mlp` end to end: files written, numbers printed, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.datasets import make_moons

PNG = b"\x89PNG\r\n\x1a\n"


def test_mlp_writes_figures_and_metrics(tmp_path, capsys) -> None:
    out = tmp_path / "moons-tanh-3"
    code = main(
        [
            "mlp",
            "--dataset",
            "moons",
            "--activation",
            "tanh",
            "--hidden",
            "3",
            "--passes",
            "3000",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    for name in ("dataset.png", "decision_boundary.png", "loss.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passes"] == 3000
    assert metrics["config"]["activation"] == "tanh" and metrics["config"]["hidden"] == 3
    assert metrics["train_accuracy"] >= 0.9
    assert metrics["seconds"] > 0
    # the metrics agree with an independent training through the Python API
    from backproplab.scratch import NeuralNetwork

    X, y = make_moons()
    net = NeuralNetwork(2, 3, 2, actFun_type="tanh")
    history = net.fit_model(X, y, num_passes=3000, print_loss=False)
    assert metrics["final_loss"] == pytest.approx(history["loss"][-1], rel=1e-12)
    assert metrics["train_accuracy"] == pytest.approx(np.mean(net.predict(X) == y))
    printed = capsys.readouterr().out
    assert "training accuracy" in printed and f"{metrics['train_accuracy']:.3f}" in printed
    assert not list(out.glob(".*tmp*")), "temporary files left behind"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--activation", "swish"], "--activation: unknown activation 'swish'; choose one of: identity, tanh"),
        (["--hidden", "0"], "--hidden: must be a positive whole number, got 0"),
        (["--lr", "-1"], "--lr (epsilon): must be a positive number, got -1.0"),
        (["--passes", "0"], "--passes (num_passes): must be a positive whole number, got 0"),
    ],
)
def test_mlp_bad_arguments_exit_nonzero_with_one_line(tmp_path, capsys, argv, needle) -> None:
    code = main(["mlp", "--out", str(tmp_path / "x"), "--no-progress", *argv])
    err = capsys.readouterr().err
    assert code != 0
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_mlp_unknown_dataset_is_a_one_line_error(capsys) -> None:
    assert main(["mlp", "--dataset", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "backproplab mlp: error: --dataset: unknown data set 'nope'; choose one of: moons, circles, blobs, spirals, "
        "xor, gaussian_quantiles, iris, wine, breast_cancer, digits"
    )
