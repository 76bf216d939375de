"""Depth x width x activation grid: train one network per cell on one data set, draw all the
decision boundaries side by side, and tabulate train/test accuracy.

    result = run_grid(dataset="moons", depths=(1, 2, 3, 5), widths=(3, 10), activations=("tanh", "relu"),
                      out_dir="runs/mlp-grid/moons")
    result.figure        # grid.png: one panel per cell, "train 0.975 / test 0.960" in each title
    result.rows          # one dict per cell: activation, width, depth, accuracies, loss, seconds...

``depth`` is the number of hidden layers, each ``width`` units wide. Every cell sees the same data
and the same training settings (those of :class:`MLPConfig`, overridable by keyword).

Output folder (atomic writes): ``grid.png`` (2-D data sets only), ``grid_accuracy.png`` (test
accuracy as a heat map), ``grid.csv`` and ``grid.json`` (config and one row per cell).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import outputs, runs
from backproplab.checks import check_positive_int
from backproplab.experiments.mlp_run import MLPConfig, load_data, train_config
from backproplab.io import write_json, write_text
from backproplab.progress import progress_bar
from backproplab.scratch import ACTIVATIONS

CSV_FIELDS = [
    "activation",
    "depth",
    "width",
    "train_accuracy",
    "test_accuracy",
    "final_loss_per_example",
    "n_parameters",
    "passes_run",
    "seconds",
]


#: The command that writes grid folders (named by the output mark, :mod:`backproplab.outputs`).
GRID_COMMAND = "mlp --grid"


# The grid's training settings unless told otherwise: Adam on mini-batches with a gently decaying
# rate trains every cell, deep ReLU stacks included. (The handout's full-batch SGD at epsilon 0.01
# leaves most deep ReLU cells dead at 50% -- a lesson of its own, available with base=MLPConfig().)
GRID_DEFAULTS: dict[str, Any] = {
    "optimizer": "adam",
    "batch_size": 32,
    "epsilon": 0.01,
    "num_passes": 300,
    "lr_decay": 0.99,
    "init": "he",
}


@dataclass
class GridResult:
    """What :func:`run_grid` wrote and measured."""

    rows: list[dict[str, Any]]
    figure: Path | None  # grid.png; None for data sets that are not 2-D
    heatmap: Path
    table: Path
    metrics: Path

    def best(self) -> dict[str, Any]:
        """The row with the highest test accuracy (the shallower, narrower one on ties)."""
        return max(self.rows, key=lambda r: (r["test_accuracy"], -r["depth"], -r["width"]))


def _check_list(values: Sequence[Any], name: str) -> list[Any]:
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty: give at least one value")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated values: {values}")
    return values


def run_grid(
    dataset: str = "moons",
    depths: Sequence[int] = (1, 2, 3, 5),
    widths: Sequence[int] = (3, 10),
    activations: Sequence[str] = ("tanh", "relu"),
    *,
    out_dir: str | Path | None = None,
    base: MLPConfig | None = None,
    progress: bool = True,
    **settings: Any,
) -> GridResult:
    """Train every (activation, width, depth) cell and write the figures and tables (see the module docstring).

    ``out_dir``: where the figures and tables go (default ``runs/mlp-grid/<dataset>``).
    ``base`` gives the training settings (default: :class:`MLPConfig` with :data:`GRID_DEFAULTS`);
    ``settings`` override its fields (``optimizer="sgd"``, ``batch_size=None``, ``n_samples=1000``...).
    Returns a :class:`GridResult`; one row per cell in the order activation, width, depth.
    """
    from backproplab import figures  # matplotlib only when drawing

    depths = [check_positive_int(d, "depth") for d in _check_list(depths, "depths")]
    widths = [check_positive_int(w, "width") for w in _check_list(widths, "widths")]
    activations = [ACTIVATIONS[a].name for a in _check_list(activations, "activations")]
    unknown = set(settings) - set(MLPConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(sorted(unknown))}; valid: {', '.join(MLPConfig.__dataclass_fields__)}"
        )
    if base is None:
        base = MLPConfig(**GRID_DEFAULTS)
    config = replace(base, dataset=dataset, **settings).validate()
    out = runs.run_folder("mlp-grid", config.dataset, out_dir)
    outputs.check_writable(out, GRID_COMMAND, "grid", ours=lambda folder: (folder / "grid.json").is_file())
    data = load_data(config)

    cells = [(a, w, d) for a in activations for w in widths for d in depths]
    rows: list[dict[str, Any]] = []
    panels = []
    bar = progress_bar(len(cells), progress, desc=f"grid on {config.dataset}", unit="net")
    try:
        for activation, width, depth in cells:
            cell = replace(config, hidden=[width] * depth, activation=activation)
            run = train_config(cell, data)
            m = run.metrics
            rows.append(
                {
                    "activation": activation,
                    "depth": depth,
                    "width": width,
                    "train_accuracy": m["train_accuracy"],
                    "test_accuracy": m["test_accuracy"],
                    "final_loss_per_example": m["final_loss_per_example"],
                    "n_parameters": m["parameter_count"],  # the table's columns, as report caches hold them
                    "passes_run": m["steps_done"],
                    "seconds": m["seconds"],
                }
            )
            title = f"{activation}, {depth} x {width}\ntrain {m['train_accuracy']:.3f} / test {m['test_accuracy']:.3f}"
            panels.append((title, run.net.predict))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(last=f"{activation} {depth}x{width}: {m['test_accuracy']:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()

    settings_line = (
        f"{config.optimizer}, lr {config.epsilon:g}, "
        f"{'full batch' if config.batch_size is None else f'batch {config.batch_size}'}, "
        f"{config.num_passes} passes, L2 {config.reg_lambda:g}, init {config.init}"
    )
    figure_path = None
    if data.two_dimensional:
        figure_path = out / "grid.png"
        figures.plot_boundary_grid(
            panels,
            data.X_train,
            data.y_train,
            X_test=data.X_test,
            y_test=data.y_test,
            ncols=len(depths),
            suptitle=f"{config.dataset}: depth (hidden layers) x width -- {settings_line}",
            path=figure_path,
        )
    table = np.array(
        [[r["test_accuracy"] for r in rows[i : i + len(depths)]] for i in range(0, len(rows), len(depths))]
    )
    figures.plot_accuracy_table(
        table,
        [f"{a}, width {w}" for a in activations for w in widths],
        [str(d) for d in depths],
        xlabel="hidden layers (depth)",
        title=f"{config.dataset}: test accuracy",
        path=out / "grid_accuracy.png",
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    table_path = write_text(out / "grid.csv", buffer.getvalue())
    config_dict = asdict(config)
    config_dict.pop("hidden")
    config_dict.pop("activation")
    outputs.mark(out, GRID_COMMAND)
    metrics_path = write_json(
        out / "grid.json",
        {
            "dataset": data.describe(),
            "depths": depths,
            "widths": widths,
            "activations": activations,
            "config": config_dict,
            "rows": rows,
        },
    )
    return GridResult(rows, figure_path, out / "grid_accuracy.png", table_path, metrics_path)
