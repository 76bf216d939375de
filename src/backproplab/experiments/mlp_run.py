"""Train one from-scratch network on a 2-D data set and write its figures and metrics.

Output folder layout (all written atomically):

    dataset.png            the training data
    decision_boundary.png  the learned decision regions with the data on top
    loss.png               loss per example (and training accuracy) against passes
    metrics.json           final loss, training accuracy, passes, seconds, and the full config
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import figures
from backproplab.datasets import make_moons
from backproplab.io import write_json
from backproplab.scratch import NeuralNetwork, get_activation
from backproplab.scratch.validation import check_positive_float, check_positive_int

DATASETS = {"moons": make_moons}


@dataclass
class MLPConfig:
    """Every setting of one three-layer run (the defaults are the course handout's)."""

    dataset: str = "moons"
    n_samples: int = 200
    noise: float = 0.20
    hidden: int = 3
    activation: str = "tanh"
    epsilon: float = 0.01
    num_passes: int = 20000
    reg_lambda: float = 0.01
    seed: int = 0

    def validate(self) -> MLPConfig:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid data sets are: {', '.join(DATASETS)}")
        self.activation = get_activation(self.activation).name
        check_positive_int(self.hidden, "hidden")
        check_positive_int(self.n_samples, "n_samples")
        check_positive_int(self.num_passes, "num_passes")
        check_positive_float(self.epsilon, "epsilon")
        if self.noise < 0 or self.reg_lambda < 0:
            raise ValueError("noise and reg_lambda must be >= 0")
        return self


def run_mlp(config: MLPConfig, out_dir: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """Train ``config`` and write the figures and ``metrics.json`` into ``out_dir``; returns the metrics."""
    config.validate()
    out = Path(out_dir)
    X, y = DATASETS[config.dataset](n_samples=config.n_samples, noise=config.noise, seed=config.seed)
    net = NeuralNetwork(
        nn_input_dim=X.shape[1],
        nn_hidden_dim=config.hidden,
        nn_output_dim=int(y.max()) + 1,
        actFun_type=config.activation,
        reg_lambda=config.reg_lambda,
        seed=config.seed,
    )
    start = time.perf_counter()
    history = net.fit_model(
        X, y, epsilon=config.epsilon, num_passes=config.num_passes, print_loss=False, progress=progress
    )
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(net.predict(X) == y))
    label = f"{config.dataset}, {config.hidden} hidden {config.activation} units"
    figures.plot_dataset(
        X, y, title=f"{config.dataset}: {len(y)} points, noise {config.noise}", path=out / "dataset.png"
    )
    figures.plot_decision_boundary(
        net.predict, X, y, title=f"{label} (train acc {accuracy:.3f})", path=out / "decision_boundary.png"
    )
    figures.plot_curves(
        history["pass"],
        {"loss per example": history["loss_per_example"]},
        xlabel="pass",
        ylabel="loss per example",
        logy=True,
        title=label,
        path=out / "loss.png",
    )
    metrics = {
        "final_loss": history["loss"][-1],
        "final_loss_per_example": history["loss_per_example"][-1],
        "train_accuracy": accuracy,
        "passes": config.num_passes,
        "seconds": seconds,
        "seconds_per_1000_passes": 1000 * seconds / config.num_passes,
        "config": asdict(config),
        "history": history,
    }
    write_json(out / "metrics.json", metrics)
    return metrics
