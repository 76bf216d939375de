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
    metrics.json           engine (numpy), status, config, final (loss, accuracies, steps_done = passes
                           run, parameter_count...), curves (the history),
                           wall_seconds, steps_per_second (passes per second); written for diverged
                           and interrupted runs too, with the curves up to where they stopped
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import limits, runs
from backproplab.checks import named
from backproplab.datasets import Dataset, is_two_dimensional, load
from backproplab.datasets.registry import DATASETS
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.registry import Registry
from backproplab.scratch import DeepNeuralNetwork
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.layer import INITS
from backproplab.scratch.optimizers import OPTIMIZERS
from backproplab.scratch.trainer import DEFAULTS, Trainer, TrainSettings
from backproplab.settings import (
    comma_list,
    common_help,
    fraction,
    int_range,
    non_negative_float,
    positive_float,
    positive_int,
    setting,
    validate,
)

_MAX_SEED = 2**32 - 1000  # NumPy and scikit-learn seeds are 32-bit; the fresh 2-D test set uses seed + 1000

#: Floating-point types a network can compute in.
DTYPES: Registry[type] = Registry(
    "dtype", {"float64": np.float64, "float32": np.float32}, aliases={"fp64": "float64", "fp32": "float32"}
)


def _widths(text: str) -> int | list[int]:
    """``--hidden``: "3" -> 3 (the three-layer network), "10,10,10" -> [10, 10, 10]."""
    widths = comma_list(int, "10,10,10")(text)
    return widths[0] if len(widths) == 1 else widths


def _names(text: str) -> str | list[str]:
    """``--activation``: "relu" -> "relu", "tanh,relu" -> ["tanh", "relu"]."""
    names = comma_list(str, "tanh,relu")(text)
    return names[0] if len(names) == 1 else names


def _check_hidden(value: Any) -> int | list[int]:
    if not isinstance(value, list | tuple):
        return positive_int(value)
    if not value:
        raise UsageError("hidden is empty: give at least one hidden layer width")
    try:
        return [named(positive_int, width, f"hidden layer {i + 1} width") for i, width in enumerate(value)]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_activation(value: Any) -> str | list[str]:
    if isinstance(value, list | tuple):
        return [ACTIVATIONS.canonical(name) for name in value]
    return ACTIVATIONS.canonical(value)


_DATA, _NET, _TRAIN = "data", "network", "training"
#: The command, and the kind of its run folders (``runs/mlp/<name>``).
COMMAND = "mlp"
#: ``metrics.json``'s ``engine``: what computes the run (as ``dcn --engine numpy``).
ENGINE = "numpy"
FIGURES = ("dataset.png", "decision_boundary.png", "loss.png", "accuracy.png", "confusion_matrix.png")


@dataclass
class MLPConfig:
    """Every setting of one run, each declared once (flag, help, check: :mod:`backproplab.settings`);
    checked and its names normalised when built. ``hidden``: one width (the three-layer network) or a
    list of widths; ``activation``: one name or one per hidden layer. See ``DeepNeuralNetwork.fit_model``."""

    dataset: str = setting("moons", "data set", choices=DATASETS, group=_DATA)
    n_samples: int | None = setting(
        None, "points to generate (2-D sets)", check=positive_int, metavar="N", group=_DATA, default_text="200"
    )
    noise: float | None = setting(
        None, "noise of a 2-D set", check=non_negative_float, metavar="SD", group=_DATA, default_text="the generator's"
    )
    test_size: float = setting(
        0.25, "test fraction", check=fraction(why="is the test fraction"), metavar="F", group=_DATA
    )
    hidden: int | list[int] = setting(
        3,
        "hidden widths: one number for the three-layer network, or a comma list (10,10,10) for a deeper one",
        parse=_widths,
        check=_check_hidden,
        metavar="WIDTHS",
        group=_NET,
    )
    activation: str | list[str] = setting(
        "tanh",
        "hidden activation, or a comma list with one per hidden layer; one of: " + ACTIVATIONS.choices_text(),
        parse=_names,
        check=_check_activation,
        metavar="NAMES",
        group=_NET,
    )
    init: str = setting("scaled_normal", "weight initialisation", choices=INITS, group=_NET)
    reg_lambda: float = setting(
        0.01,
        "L2 strength lambda: loss += lambda/2 * sum of squared weights",
        flag="--reg",
        check=non_negative_float,
        metavar="LAMBDA",
        group=_NET,
    )
    dtype: str = setting("float64", "floating-point type", choices=DTYPES, group=_NET)
    optimizer: str = setting(DEFAULTS.optimizer, "update rule", choices=OPTIMIZERS, group=_TRAIN)
    epsilon: float = setting(
        DEFAULTS.epsilon,
        "learning rate; steps are on the loss summed over the batch",
        flag="--lr",
        aliases=("--epsilon",),
        check=positive_float,
        metavar="RATE",
        group=_TRAIN,
    )
    num_passes: int = setting(
        DEFAULTS.num_passes,
        "passes over the training data",
        flag="--passes",
        aliases=("--epochs",),
        check=positive_int,
        metavar="N",
        group=_TRAIN,
    )
    batch_size: int | None = setting(
        None, "mini-batch size", check=positive_int, metavar="N", group=_TRAIN, default_text="full batch"
    )
    lr_decay: float = setting(
        DEFAULTS.lr_decay, "learning rate factor per pass", check=positive_float, metavar="F", group=_TRAIN
    )
    validation_split: float | None = setting(
        None,
        "validation fraction, held out of the training data",
        flag="--val-split",
        check=fraction(why="is the validation fraction"),
        metavar="F",
        group=_TRAIN,
        default_text="none",
    )
    patience: int | None = setting(
        None,
        "early stopping: passes without improvement (needs --val-split)",
        check=positive_int,
        metavar="N",
        group=_TRAIN,
        default_text="no early stopping",
    )
    seed: int = setting(
        0,
        common_help("--seed", "of the data, weights and shuffling"),
        check=int_range(0, _MAX_SEED - 1),
        metavar="N",
        group=_TRAIN,
    )

    def __post_init__(self) -> None:
        validate(self)
        if isinstance(self.activation, list) and len(self.activation) != len(self.hidden_dims()):
            raise UsageError(
                f"{len(self.activation)} activations for {len(self.hidden_dims())} hidden layers; "
                "give one, or one per hidden layer"
            )
        if self.patience is not None and self.validation_split is None:
            raise UsageError("early stopping (patience) needs a validation split (validation_split / --val-split)")

    def hidden_dims(self) -> list[int]:
        return [self.hidden] if isinstance(self.hidden, int) else list(self.hidden)

    def validate(self) -> MLPConfig:
        """Return self: a config is checked when it is built (kept for callers of the old API)."""
        return self

    def train_settings(self) -> TrainSettings:
        """What the trainer takes of this config (the rest builds the data and the network)."""
        names = ("epsilon", "num_passes", "batch_size", "optimizer", "lr_decay", "validation_split", "patience", "seed")
        return TrainSettings(**{name: getattr(self, name) for name in names})

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


def make_trainer(
    config: MLPConfig,
    data: Dataset,
    *,
    progress: bool = False,
    logdir: str | Path | None = None,
    network: Callable[..., Any] | None = None,
) -> Trainer:
    """The network of ``config`` for ``data`` in its trainer (``network``: a maker with
    DeepNeuralNetwork's arguments to use instead of it, e.g. a learner's)."""
    net = (network or DeepNeuralNetwork)(
        nn_input_dim=data.n_features,
        nn_hidden_dims=config.hidden_dims(),
        nn_output_dim=data.n_classes,
        actFun_type=config.activation,
        reg_lambda=config.reg_lambda,
        seed=config.seed,
        init=config.init,
        dtype=np.dtype(config.dtype),
    )
    return Trainer(net, data.X_train, data.y_train, config.train_settings(), progress=progress, logdir=logdir)


def train_and_measure(config: MLPConfig, data: Dataset, trainer: Trainer) -> TrainedRun:
    """Train ``trainer`` and measure its network on ``data`` (the keys of ``metrics.json``'s ``final``)."""
    start = time.perf_counter()
    history = trainer.train()
    seconds = time.perf_counter() - start
    net = trainer.net
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
        "steps_done": history["passes_run"],
        "stopped_early": history["stopped_early"],
        "best_pass": history["best_pass"],
        "seconds": seconds,
        "seconds_per_1000_passes": 1000 * seconds / max(history["passes_run"], 1),
        "parameter_count": net.n_parameters,
        "network": repr(net),
        "dataset": data.describe(),
        "config": resolved,
    }
    return TrainedRun(net, history, metrics)


def train_config(
    config: MLPConfig,
    data: Dataset,
    *,
    progress: bool = False,
    logdir: str | Path | None = None,
    network: Callable[..., Any] | None = None,
) -> TrainedRun:
    """Build the network of ``config`` for ``data``, train it, and measure it (see :func:`make_trainer`)."""
    trainer = make_trainer(config, data, progress=progress, logdir=logdir, network=network)
    return train_and_measure(config, data, trainer)


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
    out = runs.run_folder(COMMAND, name or run_name(config), out_dir)
    with runs.claimed(out):
        runs.refuse_or_clear(out, COMMAND, overwrite=overwrite, patterns=FIGURES)
        data = load_data(config)
        check_size(config, data.X_train.shape[0], data.n_features, data.n_classes)
        resolved = asdict(config)
        resolved.update(n_samples=data.params.get("n_samples"), noise=data.params.get("noise"))
        runs.write_strict_json(out / "config.json", resolved)
        try:
            trainer = make_trainer(config, data, progress=progress, logdir=out)
        except ValueError:  # settings the engine refuses (e.g. a batch larger than the data): no run
            runs.clear(runs.run_files(out, FIGURES))
            raise
        start = time.perf_counter()
        try:
            run = train_and_measure(config, data, trainer)
        except (TrainingDiverged, KeyboardInterrupt) as exc:
            _write_stopped(out, resolved, trainer, exc, time.perf_counter() - start)
            raise
        _draw(config, data, run, out)
        final = {k: v for k, v in run.metrics.items() if k not in ("config", "seconds")}
        seconds = run.metrics["seconds"]
        record = runs.metrics_record(
            ENGINE, "completed", resolved, final, _curves(run.history), seconds, final["steps_done"] / seconds
        )
        runs.write_strict_json(out / "metrics.json", record)
    return record


def _write_stopped(out: Path, resolved: dict[str, Any], trainer: Trainer, exc: BaseException, seconds: float) -> None:
    """metrics.json of a run that diverged or was interrupted, with the trainer's curves so far."""
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "diverged"
    curves = _curves(trainer.history)
    passes = curves["pass"][-1] if curves.get("pass") else 0
    final: dict[str, Any] = {"steps_done": passes, "parameter_count": trainer.net.n_parameters}
    if status == "diverged":
        final.update(diverged_at_step=trainer.history.get("diverged_at_pass", passes), diverged_reason=str(exc))
    record = runs.metrics_record(ENGINE, status, resolved, final, curves, seconds, passes / seconds)
    runs.write_strict_json(out / "metrics.json", record)


def _curves(history: dict[str, Any]) -> dict[str, list[Any]]:
    """The history's lists, cut to the records whole in all of them (an interrupt can fall in a record)."""
    lists = {k: v for k, v in history.items() if isinstance(v, list)}
    n = min((len(v) for v in lists.values()), default=0)
    return {k: v[:n] for k, v in lists.items()}


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
