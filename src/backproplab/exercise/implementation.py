"""The learner's network in the report: their classes, loaded once their checks pass (``report --implementation``).

The report's studies train networks with the reference :class:`~backproplab.scratch.trainer.Trainer`
(it records the curves the figures need). :class:`LearnerNetwork` gives the learner's
``NeuralNetwork`` the interface the trainer and the studies use, with every number coming from
the learner's own ``feedforward``, ``calculate_loss`` and ``backprop``; only the loop is the
project's (the learner's ``fit_model`` is checked in item 1e).

Unlike the checks, the report runs the learner's code in this process: it is their own report.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from backproplab.errors import UsageError
from backproplab.exercise.sandbox import Limits, check_workspace
from backproplab.exercise.starter import THREE_LAYER, workspace_modules
from backproplab.scratch.trainer import Trainer

#: The report sections built with the learner's network.
IMPLEMENTED_SECTIONS = ("moons",)
#: The checks that must pass before the report uses the learner's three-layer network (1a-1e).
REQUIRED = ("1b", "1c", "1d", "1e")


class LearnerNetwork:
    """The learner's network behind the interface of the reference trainer and the report's studies.

    Attributes not defined here (``W1``, ``predict``, ``backprop``, ``parameters``...) are the learner's own.
    """

    def __init__(self, net: Any) -> None:
        object.__setattr__(self, "net", net)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.net, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.net, name, value)

    def fit_model(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epsilon: float = 0.01,
        num_passes: int = 20000,
        print_loss: bool = False,
        *,
        record_every: int = 100,
        progress: bool = False,
    ) -> dict[str, Any]:
        """Full-batch gradient descent with the learner's gradients; the reference trainer's history."""
        trainer = Trainer(
            self,
            X,
            y,
            epsilon=epsilon,
            num_passes=num_passes,
            record_every=record_every,
            print_every=1000 if print_loss else None,
            exact_prints=True,
            progress=progress,
        )
        return trainer.train()

    # -- what the trainer uses --------------------------------------------------------------------

    def check_training_data(
        self, X: object, y: object | None = None, name: str = "X"
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return np.asarray(X, dtype=np.float64), None if y is None else np.asarray(y)

    def step_arrays(self) -> list[np.ndarray]:
        return list(self.net.parameters())

    def step_gradients(self, X: np.ndarray, y: np.ndarray, reg_scale: float) -> list[np.ndarray]:
        if reg_scale != 1.0:
            raise ValueError("the learner's network trains full-batch only (reg_scale 1)")
        return [np.asarray(g) for g in self.net.backprop(X, y)]

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        return float(self.net.calculate_loss(X, y)), float(np.mean(self.net.predict(X) == y))

    def monitored_tensors(self) -> dict[str, np.ndarray]:
        return {}


@dataclass(frozen=True)
class Implementation:
    """A learner's workspace whose checks passed: where it is, a digest of its code, its network maker."""

    folder: Path
    digest: str
    module: ModuleType

    def network(self, *args: Any, **kwargs: Any) -> LearnerNetwork:
        """A learner's NeuralNetwork (the reference's constructor arguments), ready for the report's studies."""
        return LearnerNetwork(self.module.NeuralNetwork(*args, **kwargs))

    def describe(self) -> dict[str, str]:
        """What goes into a study's settings: a changed file is a new study, never a reused one."""
        return {"folder": str(self.folder), "sha256": self.digest}

    @property
    def label(self) -> str:
        return f"{self.folder / THREE_LAYER.filename} (sha256 {self.digest[:12]})"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in workspace_modules(folder):
        h.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return h.hexdigest()


def _import(folder: Path) -> ModuleType:
    name = f"_backproplab_learner_{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, folder / THREE_LAYER.filename)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {folder / THREE_LAYER.filename}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_implementation(
    folder: str | os.PathLike[str], limits: Limits | None = None, check: Callable[..., Any] = check_workspace
) -> Implementation:
    """The learner's implementation at ``folder`` once checks 1b-1e pass; UsageError naming the first that does not."""
    folder = Path(folder).resolve()
    workspace_modules(folder)
    for r in check(folder, list(REQUIRED), limits):
        if r["status"] != "passed":
            why = "is not started" if r["status"] == "not started" else f"failed: {r['summary']}"
            raise UsageError(
                f"--implementation {folder}: check {r['item']} {why}; the report uses your network once checks "
                f"{', '.join(REQUIRED)} pass (see backproplab exercise check {folder})"
            )
    digest = _digest(folder)
    return Implementation(folder, digest, _import(folder))
