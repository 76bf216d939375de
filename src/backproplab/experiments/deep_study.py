"""Deeper networks (assignment 1f): depth x width x activation grids on 2-D sets, and tabular sets.

Train and record, draw nothing. Metrics: ``training`` (the settings every cell was trained with, as
resolved by :class:`MLPConfig`), ``grids[<data set>]`` (the data set's description and one row per
cell: activation, depth, width, accuracies, final loss, parameters, passes, seconds) and
``tabular[<data set>]`` (accuracies, parameters, seconds, confusion matrix on the test rows).
Arrays, per grid data set ``<d>``: ``<d>/X_train``, ``<d>/y_train``, ``<d>/X_test``, ``<d>/y_test``,
``<d>/xs``, ``<d>/ys`` and ``<d>/<activation>/<width>/<depth>/regions`` (uint8 mesh of classes).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.experiments.grid import GRID_DEFAULTS
from backproplab.experiments.mlp_run import MLPConfig, load_data, train_config
from backproplab.experiments.regions import decision_regions, mesh_axes
from backproplab.experiments.store import Arrays, Result, run_or_reuse
from backproplab.progress import progress_bar

STUDY = "deep"
#: A row's fields: the table's name and the run's metric (finished studies keep the table's names).
ROW_FIELDS = {
    "train_accuracy": "train_accuracy",
    "test_accuracy": "test_accuracy",
    "final_loss_per_example": "final_loss_per_example",
    "n_parameters": "parameter_count",
    "passes_run": "steps_done",
    "seconds": "seconds",
}


def deep_settings(*, quick: bool, seed: int) -> dict[str, Any]:
    """Spirals is where depth shows; moons barely needs it. Quick: one small grid, no tabular sets."""
    training = {**GRID_DEFAULTS, "num_passes": 20 if quick else GRID_DEFAULTS["num_passes"]}
    grids = (
        [{"dataset": "spirals", "n_samples": 200, "depths": [1, 2], "widths": [4], "activations": ["tanh"]}]
        if quick
        else [
            {"dataset": "spirals", "n_samples": 600, "depths": [1, 2, 3, 5], "widths": [4, 16],
             "activations": ["tanh", "relu"]},
            {"dataset": "moons", "n_samples": 1000, "depths": [1, 2, 3, 5], "widths": [3, 10],
             "activations": ["tanh", "relu"]},
        ]
    )  # fmt: skip
    tabular = None
    if not quick:
        tabular = {
            "datasets": ["iris", "wine", "breast_cancer", "digits"],
            "hidden": [32, 32],
            "activation": "relu",
            "num_passes": 100,
        }
    return {"seed": seed, "training": training, "grids": grids, "tabular": tabular}


def run_deep_study(
    root: str | Path, *, quick: bool, seed: int, rerun: bool = False, progress: bool = True, implementation: Any = None
) -> Result:
    """The finished deep study under ``root`` (reused when complete, else trained now); ``implementation``: a
    learner's network (:class:`~backproplab.exercise.implementation.Implementation`) instead of the reference's."""
    settings = deep_settings(quick=quick, seed=seed)
    network = None
    if implementation is not None:
        settings["implementation"] = implementation.describe(STUDY)
        network = implementation.deep_network
    return run_or_reuse(
        root,
        STUDY,
        settings,
        lambda config, _folder: _compute(config, progress, network),
        rerun=rerun,
    )


def _compute(config: dict[str, Any], progress: bool, network: Any = None) -> tuple[dict[str, Any], Arrays]:
    base = MLPConfig(seed=config["seed"], **config["training"])
    arrays: Arrays = {}
    metrics: dict[str, Any] = {"grids": {}, "tabular": {}}
    cells = sum(len(g["depths"]) * len(g["widths"]) * len(g["activations"]) for g in config["grids"])
    tabular = config["tabular"] or {"datasets": []}
    bar = progress_bar(cells + len(tabular["datasets"]), progress, desc="report: deep", unit="net")
    try:
        for grid in config["grids"]:
            name = grid["dataset"]
            grid_config = replace(base, dataset=name, n_samples=grid["n_samples"]).validate()
            data = load_data(grid_config)
            xs, ys = mesh_axes(np.vstack([data.X_train, data.X_test]))
            arrays.update({f"{name}/X_train": data.X_train, f"{name}/y_train": data.y_train})
            arrays.update({f"{name}/X_test": data.X_test, f"{name}/y_test": data.y_test})
            arrays.update({f"{name}/xs": xs, f"{name}/ys": ys})
            rows = []
            for activation in grid["activations"]:
                for width in grid["widths"]:
                    for depth in grid["depths"]:
                        run = train_config(
                            replace(grid_config, hidden=[width] * depth, activation=activation), data, network=network
                        )
                        rows.append(
                            {"activation": activation, "depth": depth, "width": width}
                            | {k: run.metrics[metric] for k, metric in ROW_FIELDS.items()}
                        )
                        key = f"{name}/{activation}/{width}/{depth}/regions"
                        arrays[key] = decision_regions(run.net.predict, xs, ys)
                        metrics.setdefault("training", _training(run.metrics["config"]))
                        if bar is not None:
                            bar.update()
            metrics["grids"][name] = {"dataset": data.describe(), "rows": rows}
        for name in tabular["datasets"]:
            cell = replace(
                base,
                dataset=name,
                hidden=list(tabular["hidden"]),
                activation=tabular["activation"],
                num_passes=tabular["num_passes"],
            ).validate()
            data = load_data(cell)
            run = train_config(cell, data, network=network)
            predicted = run.net.predict(data.X_test)
            matrix = np.bincount(data.y_test * data.n_classes + predicted, minlength=data.n_classes**2)
            metrics["tabular"][name] = {
                k: run.metrics[ROW_FIELDS[k]] for k in ("train_accuracy", "test_accuracy", "n_parameters")
            }
            metrics["tabular"][name] |= {
                "seconds": run.metrics["seconds"],
                "n_train": int(data.y_train.shape[0]),
                "n_test": int(data.y_test.shape[0]),
                "n_features": int(data.n_features),
                "n_classes": int(data.n_classes),
                "confusion_matrix": matrix.reshape(data.n_classes, data.n_classes).tolist(),
                "training": _training(asdict(cell)),
            }
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    return metrics, arrays


def _training(resolved: dict[str, Any]) -> dict[str, Any]:
    """The settings shared by every cell (what varies per cell is left out)."""
    return {k: v for k, v in resolved.items() if k not in ("dataset", "hidden", "activation", "n_samples", "noise")}
