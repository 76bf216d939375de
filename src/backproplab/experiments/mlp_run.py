"""Train one from-scratch NumPy network on a data set and write its figures and metrics.

The defaults are the course handout's: the three-layer network (3 tanh units) on 200 moons points
(noise 0.20, seed 0), 20,000 full-batch gradient steps with epsilon 0.01 and L2 0.01. Any depth,
data set and optimizer can be chosen instead (see :class:`MLPConfig`).

Data: 2-D sets are used in the generator's own coordinates; the network trains on all
``n_samples`` generated points (for moons exactly the handout's data) and is tested on a fresh
draw from the same generator (seed + 1000, ``test_size`` of the total). Tabular sets get a
seeded stratified split, standardised with the training rows' statistics.

A run is a folder ``runs/mlp/<name>/`` (:mod:`backproplab.runs`: claimed while it runs, refused
if it holds a run unless ``overwrite``), all written atomically:

    config.json            every setting, resolved (written before training)
    events.out.tfevents.*  TensorBoard: per-layer summaries, train/ and validation/ loss and accuracy
    dataset.png            2-D data only: the training points
    decision_boundary.png  2-D data only: the learned regions, train (circles) and test (triangles) points
    loss.png               loss per example against passes (training, and validation if any)
    accuracy.png           accuracy against passes (training, and validation if any)
    confusion_matrix.png   tabular data only: on the test rows
    metrics.json           status, config, final (loss, accuracies, passes...), curves (the history),
                           wall_seconds, steps_per_second (passes per second); written for diverged
                           and interrupted runs too, with the curves up to where they stopped
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import errors, limits, runs
from backproplab.datasets import Dataset, is_two_dimensional, load
from backproplab.datasets.registry import canonical_name
from backproplab.scratch import DeepNeuralNetwork, get_activation
from backproplab.scratch import TrainingDiverged as _ScratchDiverged
from backproplab.scratch.layer import check_init
from backproplab.scratch.optimizers import canonical_optimizer
from backproplab.scratch.validation import (
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
)

_MAX_SEED = 2**32 - 1000
ENGINE = "mlp"
FIGURES = ("dataset.png", "decision_boundary.png", "loss.png", "accuracy.png", "confusion_matrix.png")
#: What a diverging NumPy network raises (one class once errors.TrainingDiverged is the engine's).
DIVERGED: tuple[type[BaseException], ...] = tuple(
    {getattr(errors, "TrainingDiverged", _ScratchDiverged), _ScratchDiverged}
)


@dataclass
class MLPConfig:
    """Every setting of one run. ``hidden``: one width (the three-layer network) or a list of widths;
    ``activation``: one name or one per hidden layer. ``n_samples``/``noise`` None = the generator's
    defaults (2-D sets only). ``batch_size`` None = full batch. See ``DeepNeuralNetwork.fit_model``."""

    dataset: str = "moons"
    n_samples: int | None = None
    noise: float | None = None
    hidden: int | list[int] = 3
    activation: str | list[str] = "tanh"
    epsilon: float = 0.01
    num_passes: int = 20000
    reg_lambda: float = 0.01
    seed: int = 0
    optimizer: str = "sgd"
    batch_size: int | None = None
    init: str = "scaled_normal"
    lr_decay: float = 1.0
    test_size: float = 0.25
    validation_split: float | None = None
    patience: int | None = None
    dtype: str = "float64"

    def hidden_dims(self) -> list[int]:
        return [self.hidden] if isinstance(self.hidden, int) else list(self.hidden)

    def validate(self) -> MLPConfig:
        """Check every field (raising ValueError that names it) and normalise the names. Returns self."""
        self.dataset = canonical_name(self.dataset)
        if isinstance(self.hidden, int | np.integer):
            self.hidden = check_positive_int(self.hidden, "hidden")
        else:
            self.hidden = list(self.hidden)
            if not self.hidden:
                raise ValueError("hidden is empty: give at least one hidden layer width")
            self.hidden = [check_positive_int(h, f"hidden layer {i + 1} width") for i, h in enumerate(self.hidden)]
        if isinstance(self.activation, str):
            self.activation = get_activation(self.activation).name
        else:
            self.activation = [get_activation(a).name for a in self.activation]
            if len(self.activation) != len(self.hidden_dims()):
                raise ValueError(
                    f"{len(self.activation)} activations for {len(self.hidden_dims())} hidden layers; "
                    "give one, or one per hidden layer"
                )
        # NumPy and scikit-learn seeds are 32-bit; the fresh 2-D test set uses seed + 1000.
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or not 0 <= self.seed < _MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {_MAX_SEED - 1}, got {self.seed!r}")
        if self.n_samples is not None:
            check_positive_int(self.n_samples, "n_samples")
        if self.noise is not None:
            check_non_negative_float(self.noise, "noise")
        check_positive_float(self.epsilon, "epsilon")
        check_positive_int(self.num_passes, "num_passes")
        check_non_negative_float(self.reg_lambda, "reg_lambda")
        self.optimizer = canonical_optimizer(self.optimizer)
        if self.batch_size is not None:
            check_positive_int(self.batch_size, "batch_size")
        self.init = check_init(self.init)
        check_positive_float(self.lr_decay, "lr_decay")
        check_positive_float(self.test_size, "test_size")
        if self.test_size >= 1:
            raise ValueError(f"test_size is the test fraction, in (0, 1); got {self.test_size}")
        if self.patience is not None:
            check_positive_int(self.patience, "patience")
            if self.validation_split is None:
                raise ValueError("early stopping (patience) needs a validation split (validation_split / --val-split)")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        return self

    def label(self) -> str:
        """A short description, e.g. ``moons, [10, 10] relu``."""
        acts = self.activation if isinstance(self.activation, str) else "/".join(self.activation)
        return f"{self.dataset}, hidden {self.hidden_dims()} {acts}"


def load_data(config: MLPConfig) -> Dataset:
    """The data of ``config`` (see the module docstring for how 2-D and tabular sets differ)."""
    if is_two_dimensional(config.dataset):
        return load(
            config.dataset,
            n_samples=config.n_samples,
            noise=config.noise,
            seed=config.seed,
            test_size=config.test_size,
            standardize=False,
            fresh_test=True,
        )
    if config.n_samples is not None or config.noise is not None:
        raise ValueError(f"{config.dataset} is a fixed bundled table: n_samples and noise do not apply to it")
    return load(config.dataset, seed=config.seed, test_size=config.test_size)


@dataclass
class TrainedRun:
    """A trained network with its history and summary metrics."""

    net: DeepNeuralNetwork
    history: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)


def train_config(
    config: MLPConfig, data: Dataset, *, progress: bool = False, logdir: str | Path | None = None
) -> TrainedRun:
    """Build the network of ``config`` for ``data``, train it, and measure it."""
    config.validate()
    net = DeepNeuralNetwork(
        nn_input_dim=data.n_features,
        nn_hidden_dims=config.hidden_dims(),
        nn_output_dim=data.n_classes,
        actFun_type=config.activation,
        reg_lambda=config.reg_lambda,
        seed=config.seed,
        init=config.init,
        dtype=np.dtype(config.dtype),
    )
    start = time.perf_counter()
    history = net.fit_model(
        data.X_train,
        data.y_train,
        epsilon=config.epsilon,
        num_passes=config.num_passes,
        print_loss=False,
        batch_size=config.batch_size,
        optimizer=config.optimizer,
        lr_decay=config.lr_decay,
        validation_split=config.validation_split,
        patience=config.patience,
        seed=config.seed,
        progress=progress,
        logdir=logdir,
    )
    seconds = time.perf_counter() - start
    train_pred = net.predict(data.X_train)
    test_pred = net.predict(data.X_test)
    resolved = asdict(config)
    resolved.update(n_samples=data.params.get("n_samples"), noise=data.params.get("noise"))
    metrics = {
        "final_loss": history["loss"][-1],
        "final_loss_per_example": history["loss_per_example"][-1],
        "train_accuracy": float(np.mean(train_pred == data.y_train)),
        "test_accuracy": float(np.mean(test_pred == data.y_test)),
        "passes": config.num_passes,
        "passes_run": history["passes_run"],
        "stopped_early": history["stopped_early"],
        "best_pass": history["best_pass"],
        "seconds": seconds,
        "seconds_per_1000_passes": 1000 * seconds / max(history["passes_run"], 1),
        "n_parameters": net.n_parameters,
        "network": repr(net),
        "dataset": data.describe(),
        "config": resolved,
    }
    return TrainedRun(net, history, metrics)


def run_name(config: MLPConfig) -> str:
    """The default run name, e.g. ``moons-tanh-3`` or ``spirals-relu-tanh-10x10``."""
    hidden = "x".join(str(h) for h in config.hidden_dims())
    acts = config.activation if isinstance(config.activation, str) else "-".join(config.activation)
    return f"{config.dataset}-{acts}-{hidden}"


def check_size(config: MLPConfig, n_rows: int, n_features: int, n_classes: int) -> None:
    """Refuse (one line) a run whose data and network would not fit in the memory available: the
    parameters with their gradients and optimizer state, and z, a and delta for every row."""
    dims = [n_features, *config.hidden_dims(), n_classes]
    parameters = sum((a + 1) * b for a, b in itertools.pairwise(dims))
    itemsize = np.dtype(config.dtype).itemsize
    needed = itemsize * (5 * parameters + 3 * n_rows * sum(dims[1:])) + 8 * n_rows * (n_features + 1)
    limits.check_memory(
        needed, f"a network {dims} on {n_rows:,} rows", "choose smaller --hidden widths or fewer --n-samples"
    )


def run_mlp(
    config: MLPConfig,
    out_dir: str | Path | None = None,
    *,
    name: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train ``config`` as a run in ``out_dir`` (default ``runs/mlp/<name>``, ``name`` default
    :func:`run_name`): config.json, TensorBoard events, figures and metrics.json, whose record
    (:func:`backproplab.runs.metrics_record`) is returned. A folder holding a run is refused unless
    ``overwrite`` (which deletes that run's files). A diverged or interrupted run writes its
    metrics.json with the curves up to where it stopped, then re-raises."""
    config.validate()
    if is_two_dimensional(config.dataset) and config.n_samples is not None:
        check_size(config, config.n_samples, 2, 2)  # before the points are generated
    out = runs.run_folder(ENGINE, name or run_name(config), out_dir)
    with runs.claimed(out):
        runs.refuse_or_clear(out, ENGINE, overwrite=overwrite, patterns=FIGURES)
        data = load_data(config)
        check_size(config, data.X_train.shape[0], data.n_features, data.n_classes)
        resolved = asdict(config)
        resolved.update(n_samples=data.params.get("n_samples"), noise=data.params.get("noise"))
        runs.write_strict_json(out / "config.json", resolved)
        start = time.perf_counter()
        try:
            run = train_config(config, data, progress=progress, logdir=out)
        except (*DIVERGED, KeyboardInterrupt) as exc:
            _write_stopped(out, resolved, exc, time.perf_counter() - start)
            raise
        except ValueError:  # settings the engine refuses (e.g. a batch larger than the data): no run
            runs.clear(runs.run_files(out, FIGURES))
            raise
        _draw(config, data, run, out)
        final = {k: v for k, v in run.metrics.items() if k not in ("config", "seconds")}
        curves = {k: v for k, v in run.history.items() if isinstance(v, list)}
        seconds = run.metrics["seconds"]
        record = runs.metrics_record(
            ENGINE, "completed", resolved, final, curves, seconds, run.history["passes_run"] / seconds
        )
        runs.write_strict_json(out / "metrics.json", record)
    return record


def _write_stopped(out: Path, resolved: dict[str, Any], exc: BaseException, seconds: float) -> None:
    """metrics.json of a run that diverged or was interrupted, with its curves so far."""
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "diverged"
    curves = _partial_curves(exc, out)
    passes = curves["pass"][-1] if curves.get("pass") else 0
    final: dict[str, Any] = {"passes_run": passes}
    if status == "diverged":
        final["diverged_reason"] = str(exc)
    record = runs.metrics_record(ENGINE, status, resolved, final, curves, seconds, passes / seconds)
    runs.write_strict_json(out / "metrics.json", record)


def _partial_curves(exc: BaseException, out: Path) -> dict[str, list[Any]]:
    """The history up to where training stopped: the exception's ``history`` when it carries one,
    else what the run's TensorBoard events recorded (every history entry is logged there)."""
    history = getattr(exc, "history", None)
    if isinstance(history, dict):
        return {k: v for k, v in history.items() if isinstance(v, list)}
    from backproplab.monitoring import read_scalars

    try:
        scalars = read_scalars(out)
    except (OSError, ValueError):
        return {}
    loss, accuracy = scalars.get("train/loss", []), scalars.get("train/accuracy", [])
    return {
        "pass": [step for step, _ in loss],
        "loss_per_example": [value for _, value in loss],
        "accuracy": [value for _, value in accuracy],
    }


def _draw(config: MLPConfig, data: Dataset, run: TrainedRun, out: Path) -> None:
    """The run's figures (see the module docstring); a tabular run's confusion matrix also goes
    into its final metrics."""
    from backproplab import figures  # matplotlib only when writing figures

    net, history, metrics = run.net, run.history, run.metrics
    label = config.label()
    accs = f"train acc {metrics['train_accuracy']:.3f}, test acc {metrics['test_accuracy']:.3f}"
    if data.two_dimensional:
        figures.plot_dataset(
            data.X_train,
            data.y_train,
            title=f"{config.dataset}: {data.y_train.shape[0]} training points, noise {data.params.get('noise')}",
            path=out / "dataset.png",
        )
        figures.plot_decision_boundary(
            net.predict,
            data.X_train,
            data.y_train,
            X_test=data.X_test,
            y_test=data.y_test,
            title=f"{label}\n{accs}",
            path=out / "decision_boundary.png",
        )
    else:
        matrix = figures.confusion_matrix(data.y_test, net.predict(data.X_test), data.n_classes)
        metrics["confusion_matrix"] = matrix.tolist()
        figures.plot_confusion_matrix(
            matrix,
            class_names=data.class_names,
            title=f"{label}: test rows, accuracy {metrics['test_accuracy']:.3f}",
            path=out / "confusion_matrix.png",
        )
    loss_curves = {"training": history["loss_per_example"]}
    acc_curves = {"training": history["accuracy"]}
    if "val_loss" in history:
        loss_curves["validation"] = history["val_loss_per_example"]
        acc_curves["validation"] = history["val_accuracy"]
    figures.plot_curves(
        history["pass"],
        loss_curves,
        xlabel="pass",
        ylabel="loss per example",
        logy=True,
        title=label,
        path=out / "loss.png",
    )
    figures.plot_curves(
        history["pass"], acc_curves, xlabel="pass", ylabel="accuracy", title=label, path=out / "accuracy.png"
    )
