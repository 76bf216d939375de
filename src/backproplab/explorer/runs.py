"""Real NumPy training runs recorded pass by pass for the explorer page.

A run trains one network of :mod:`backproplab.scratch` by full-batch gradient descent (the
handout's update, ``p -= epsilon * dL/dp`` on the summed loss) and keeps, at a few dozen passes
spaced geometrically (so that the fast early changes are visible), a *snapshot*: every weight and
bias, and the loss and accuracy on the training and test points. Full-batch gradient descent keeps
no optimizer state, so training in pieces between snapshots is exactly the uninterrupted run.

Record layout (JSON-ready; arrays as nested lists, rows are examples):

    {"id", "label", "dataset", "activation", "hidden", "epsilon", "reg_lambda", "passes", "seed",
     "snapshots": [{"pass": int, "params": [[W1 (D, H1) rows...], b1, ..., WL, bL],
                    "train_loss", "train_accuracy", "test_loss", "test_accuracy"}, ...]}

``train_loss``/``test_loss`` are per example (L / N, the L2 term included as in
``calculate_loss``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from backproplab.datasets import load
from backproplab.datasets.registry import Dataset, is_two_dimensional
from backproplab.scratch import DeepNeuralNetwork, NeuralNetwork
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.trainer import DEFAULTS, Trainer

#: The report's hidden sizes for the handout's moons network (the notebook's sweep).
REPORT_HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)
#: The handout's activations.
HANDOUT_ACTIVATIONS = ("tanh", "sigmoid", "relu")


@dataclass(frozen=True)
class RunSpec:
    """One network to train: data set, hidden widths, activation and the gradient-descent settings."""

    dataset: str
    hidden: tuple[int, ...]
    activation: str
    passes: int = DEFAULTS.num_passes
    epsilon: float = DEFAULTS.epsilon
    reg_lambda: float = 0.01
    seed: int = 0

    @property
    def run_id(self) -> str:
        widths = "x".join(str(h) for h in self.hidden)
        return f"{self.dataset}-{self.activation}-{widths}"

    @property
    def label(self) -> str:
        widths = ", ".join(str(h) for h in self.hidden)
        return f"{self.dataset}: {self.activation}, hidden [{widths}]"


def default_specs() -> list[RunSpec]:
    """The handout's moons network for each activation and each report hidden size, plus deeper
    networks on spirals and circles."""
    specs = [RunSpec("moons", (3,), act) for act in HANDOUT_ACTIVATIONS]
    specs += [RunSpec("moons", (h,), "tanh") for h in REPORT_HIDDEN_SIZES if h != 3]
    for act in ("tanh", "relu"):
        specs.append(RunSpec("spirals", (16, 16, 16), act, passes=6000, epsilon=0.002))
        specs.append(RunSpec("circles", (8, 8), act, passes=4000, epsilon=0.01))
    return specs


def grid_specs(
    datasets: Sequence[str], hidden: Sequence[tuple[int, ...]], activations: Sequence[str], passes: int, epsilon: float
) -> list[RunSpec]:
    """Every combination of the given data sets, hidden-width lists and activations."""
    specs = []
    for name in datasets:
        if not is_two_dimensional(name):
            raise ValueError(f"--dataset {name}: the explorer draws the plane, so it needs a 2-D data set")
        for widths in hidden:
            for act in activations:
                specs.append(RunSpec(name, tuple(widths), ACTIVATIONS[act].name, passes, epsilon))
    return specs


def snapshot_passes(passes: int, count: int = 40) -> list[int]:
    """About ``count`` passes from 0 to ``passes``, spaced geometrically (dense early), always
    including 0 and ``passes``; strictly increasing."""
    if passes < 1 or count < 2:
        raise ValueError("need at least one pass and two snapshots")
    marks = {int(m) for m in np.round(np.geomspace(1, passes, count - 1))}
    # rounding merges the first geometric marks of a short run: split the widest gaps until there are
    # ``count`` snapshots (so a page's size depends on the number of runs, not on their length)
    while len(marks) < min(count - 1, passes):
        edges = sorted({0} | marks)
        _, lo, hi = max((b - a, a, b) for a, b in itertools.pairwise(edges))
        marks.add((lo + hi) // 2)
    return [0, *sorted(marks)]


def _network(spec: RunSpec, data: Dataset) -> NeuralNetwork:
    if len(spec.hidden) == 1:
        return NeuralNetwork(
            data.n_features, spec.hidden[0], data.n_classes, spec.activation, spec.reg_lambda, spec.seed
        )
    return DeepNeuralNetwork(
        data.n_features,
        list(spec.hidden),
        data.n_classes,
        actFun_type=spec.activation,
        reg_lambda=spec.reg_lambda,
        seed=spec.seed,
    )


def _snapshot(net: NeuralNetwork, done: int, data: Dataset) -> dict:
    n_train, n_test = data.y_train.shape[0], data.y_test.shape[0]
    return {
        "pass": done,
        "params": [np.asarray(p, dtype=np.float64).tolist() for p in net.parameters()],
        "train_loss": net.calculate_loss(data.X_train, data.y_train) / n_train,
        "train_accuracy": float(np.mean(net.predict(data.X_train) == data.y_train)),
        "test_loss": net.calculate_loss(data.X_test, data.y_test) / n_test,
        "test_accuracy": float(np.mean(net.predict(data.X_test) == data.y_test)),
    }


def load_points(name: str, seed: int = 0) -> Dataset:
    """The explorer's data: the generator's own training points (moons: the handout's 200) and a
    fresh test draw, standardised on the training points."""
    return load(name, seed=seed, fresh_test=True)


def train_run(spec: RunSpec, data: Dataset, snapshots: int = 40, on_pass: Callable[[int], None] | None = None) -> dict:
    """Train ``spec`` on ``data`` and return its record (see the module docstring)."""
    net = _network(spec, data)
    record = {
        "id": spec.run_id,
        "label": spec.label,
        "dataset": spec.dataset,
        "activation": spec.activation,
        "hidden": list(spec.hidden),
        "epsilon": spec.epsilon,
        "reg_lambda": spec.reg_lambda,
        "passes": spec.passes,
        "seed": spec.seed,
        "snapshots": [],
    }
    done = 0
    for mark in snapshot_passes(spec.passes, snapshots):
        if mark > done:
            # Each piece is a Trainer of its own, whose "starting loss" is the piece's start: the rule
            # "10x above the starting loss" means nothing there, so only a non-finite loss stops a piece.
            piece = mark - done
            Trainer(
                net, data.X_train, data.y_train, epsilon=spec.epsilon, num_passes=piece, record_every=piece,
                diverge_factor=None,
            ).train()  # fmt: skip
            done = mark
            if on_pass is not None:
                on_pass(done)
        record["snapshots"].append(_snapshot(net, done, data))
    return record
