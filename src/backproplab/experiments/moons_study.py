"""The three-layer network on Make-Moons (assignment 1a-1e): train and record, draw nothing.

Settings (:func:`moons_settings`) go into the result's ``config.json``; the study records, under
:mod:`backproplab.experiments.store`'s convention:

- metrics: logistic-regression accuracy, backprop-vs-finite-difference error per activation, and
  per trained network (by activation with ``unit_width`` units; by width with tanh) the final loss
  per example, training accuracy and seconds;
- arrays: the data ``X`` (N, 2), ``y`` (N,), the mesh ``xs``, ``ys``; per network ``act/<name>/...``
  or ``width/<w>/...``: ``loss_per_example``, ``regions`` (uint8 mesh of predicted classes), ``W1``,
  ``b1``, ``W2``, ``b2``; ``pass`` (recorded pass numbers); ``logreg/regions``; ``units/<j>``: where
  hidden unit j of the tanh network is positive.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from backproplab.datasets import make_moons
from backproplab.experiments.regions import decision_regions, mesh_axes
from backproplab.experiments.store import Arrays, Result, run_or_reuse
from backproplab.hardware import describe_numpy_vector_path
from backproplab.progress import progress_bar
from backproplab.scratch import ACTIVATIONS, NeuralNetwork, gradient_check

STUDY = "moons"


def moons_settings(*, quick: bool, seed: int) -> dict[str, Any]:
    """The study's settings: the handout's (200 points, noise 0.20, epsilon 0.01, L2 0.01), shorter when quick."""
    return {
        "seed": seed,
        "n_samples": 200,
        "noise": 0.20,
        "epsilon": 0.01,
        "reg_lambda": 0.01,
        "passes": 2000 if quick else 20000,
        "record_every": 100,
        "unit_width": 3,
        "activations": ["tanh", "sigmoid", "relu"]
        if quick
        else ["tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus"],
        "widths": [1, 3, 50] if quick else [1, 2, 3, 4, 5, 20, 50],
        "width_activation": "tanh",
        "gradient_check": {"examples": 20, "hidden": 4, "reg_lambda": 0.1, "h": 1e-6},
    }


def run_moons_study(
    root: str | Path, *, quick: bool, seed: int, rerun: bool = False, progress: bool = True, implementation: Any = None
) -> Result:
    """The finished moons study under ``root`` (reused when complete, else trained now).

    ``implementation``: a learner's network (:class:`~backproplab.exercise.implementation.Implementation`)
    to run instead of the reference's, on the activations of the exercise; it is part of the settings."""
    settings = moons_settings(quick=quick, seed=seed)
    network: Any = NeuralNetwork
    if implementation is not None:
        from backproplab.exercise.part1 import ACTIVATIONS

        settings.update(implementation=implementation.describe(STUDY), checked_activations=list(ACTIVATIONS))
        settings["activations"] = [a for a in settings["activations"] if a in ACTIVATIONS]
        network = implementation.network
    return run_or_reuse(
        root,
        STUDY,
        settings,
        lambda config, _folder: _compute(config, progress, network),
        rerun=rerun,
    )


def _gradient_error(activation: str, settings: dict[str, Any], seed: int, network: Any = NeuralNetwork) -> float:
    """Max relative error between backprop and central differences of calculate_loss (float64)."""
    rng = np.random.default_rng(seed)
    n = settings["examples"]
    X, y = rng.normal(size=(n, 2)), rng.integers(0, 2, size=n)
    net = network(2, settings["hidden"], 2, actFun_type=activation, reg_lambda=settings["reg_lambda"], seed=seed)
    net.b1 += 0.1  # away from ReLU's kink at 0, where finite differences are meaningless
    return gradient_check(net, X, y, h=settings["h"])


def _compute(config: dict[str, Any], progress: bool, network: Any = NeuralNetwork) -> tuple[dict[str, Any], Arrays]:
    seed = config["seed"]
    X, y = make_moons(n_samples=config["n_samples"], noise=config["noise"], seed=seed)
    xs, ys = mesh_axes(X)
    arrays: Arrays = {"X": X, "y": y, "xs": xs, "ys": ys}

    logreg = LogisticRegression().fit(X, y)
    arrays["logreg/regions"] = decision_regions(logreg.predict, xs, ys)
    metrics: dict[str, Any] = {
        "numpy_vector_path": describe_numpy_vector_path(),  # the last digits below depend on it
        "logistic_regression_accuracy": float(logreg.score(X, y)),
        "gradient_check_max_relative_error": {
            a: _gradient_error(a, config["gradient_check"], seed, network)
            for a in config.get("checked_activations", ACTIVATIONS.names())
        },
    }
    jobs = [("act", a, config["unit_width"], a) for a in config["activations"]]
    jobs += [("width", str(w), w, config["width_activation"]) for w in config["widths"]]
    bar = progress_bar(len(jobs), progress, desc="report: moons", unit="net")
    nets = {}
    try:
        for group, key, hidden, activation in jobs:
            net = network(2, hidden, 2, actFun_type=activation, reg_lambda=config["reg_lambda"], seed=seed)
            start = time.perf_counter()
            history = net.fit_model(
                X, y, epsilon=config["epsilon"], num_passes=config["passes"], print_loss=False,
                record_every=config["record_every"],
            )  # fmt: skip
            seconds = time.perf_counter() - start
            prefix = f"{group}/{key}"
            arrays["pass"] = np.asarray(history["pass"])
            arrays[f"{prefix}/loss_per_example"] = np.asarray(history["loss_per_example"])
            arrays[f"{prefix}/regions"] = decision_regions(net.predict, xs, ys)
            for name in ("W1", "b1", "W2", "b2"):
                arrays[f"{prefix}/{name}"] = getattr(net, name)
            metrics.setdefault(group, {})[key] = {
                "hidden": hidden,
                "activation": activation,
                "loss_per_example": history["loss_per_example"][-1],
                "train_accuracy": float(np.mean(net.predict(X) == y)),
                "seconds": seconds,
            }
            nets[prefix] = net
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    unit_net = nets.get(f"act/{config['width_activation']}")
    if unit_net is not None:  # what each hidden unit computes: the half-plane where its net input is positive
        for j in range(unit_net.nn_hidden_dim):
            w, b = unit_net.W1[:, j], unit_net.b1[j]
            arrays[f"units/{j}"] = decision_regions(lambda P, w=w, b=b: (P @ w + b > 0).astype(int), xs, ys)
    return metrics, arrays
