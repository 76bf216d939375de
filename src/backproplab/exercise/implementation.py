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
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from backproplab.errors import UsageError
from backproplab.exercise.handout import N_LAYER, THREE_LAYER
from backproplab.exercise.sandbox import Limits, check_workspace
from backproplab.exercise.workspace import workspace_modules
from backproplab.scratch.trainer import DEFAULTS, Trainer

#: The report sections built with the learner's network, and the checks each needs passed first.
REQUIRED: dict[str, tuple[str, ...]] = {"moons": ("1b", "1c", "1d", "1e"), "deep": ("1b", "1f")}


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

    def __repr__(self) -> str:
        return f"the learner's {type(self.net).__name__}"

    @property
    def n_parameters(self) -> int:
        return int(sum(np.size(p) for p in self.net.parameters()))

    def fit_model(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epsilon: float = DEFAULTS.epsilon,
        num_passes: int = DEFAULTS.num_passes,
        print_loss: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """Train with the learner's gradients in the reference trainer (``options``: its settings:
        record_every, batch_size, optimizer...); returns the trainer's history."""
        print_every = 1000 if print_loss else None
        trainer = Trainer(self, X, y, epsilon=epsilon, num_passes=num_passes, print_every=print_every, **options)
        return trainer.train()

    # -- what the trainer uses --------------------------------------------------------------------

    def check_training_data(
        self, X: object, y: object | None = None, name: str = "X"
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return np.asarray(X, dtype=np.float64), None if y is None else np.asarray(y)

    def step_arrays(self) -> list[np.ndarray]:
        return list(self.net.parameters())

    def step_gradients(self, X: np.ndarray, y: np.ndarray, reg_scale: float) -> list[np.ndarray]:
        """The learner's gradients, their L2 term scaled by ``reg_scale`` (a mini-batch's share, B / N).

        The learner's backprop includes the whole L2 term ``reg_lambda * W``; parameters() alternates
        weights and biases (W1, b1, W2, ...), so the weights are the even entries."""
        grads = [np.array(g, dtype=np.float64) for g in self.net.backprop(X, y)]
        if reg_scale != 1.0 and self.net.reg_lambda:
            for g, W in zip(grads[::2], self.net.parameters()[::2], strict=True):
                g -= (1.0 - reg_scale) * self.net.reg_lambda * W
        return grads

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        return float(self.net.calculate_loss(X, y)), float(np.mean(self.net.predict(X) == y))

    def monitored_tensors(self) -> dict[str, np.ndarray]:
        return {}


@dataclass(frozen=True)
class Implementation:
    """A learner's workspace whose checks passed: where it is, a digest of its code, its network maker."""

    folder: Path
    digest: str
    modules: dict[str, ModuleType]

    def network(self, *args: Any, **kwargs: Any) -> LearnerNetwork:
        """A learner's NeuralNetwork (the reference's constructor arguments), ready for the report's studies."""
        return LearnerNetwork(self.modules[THREE_LAYER.module].NeuralNetwork(*args, **kwargs))

    def deep_network(self, *args: Any, **kwargs: Any) -> LearnerNetwork:
        """A learner's DeepNeuralNetwork (the reference's constructor arguments), for the deep study."""
        return LearnerNetwork(self.modules[N_LAYER.module].DeepNeuralNetwork(*args, **kwargs))

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


def _import(folder: Path, names: list[str]) -> dict[str, ModuleType]:
    """The learner's modules, imported from ``folder`` under their own names, then taken out of
    ``sys.modules`` again (another workspace's modules of the same names must not be reused)."""
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, str(folder))
    try:
        return {name: importlib.import_module(name) for name in names}
    finally:
        sys.path.remove(str(folder))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def load_implementation(
    folder: str | os.PathLike[str], sections: list[str], limits: Limits | None = None
) -> Implementation:
    """The learner's implementation at ``folder`` once the checks ``sections`` need pass (see
    :data:`REQUIRED`); UsageError naming the first that does not."""
    folder = Path(folder).resolve()
    modules = [name.removesuffix(".py") for name in workspace_modules(folder)]
    required = [item for section in sections for item in REQUIRED[section]]
    for r in check_workspace(folder, list(dict.fromkeys(required)), limits):
        if r["status"] != "passed":
            section = next(s for s in sections if r["item"] in REQUIRED[s])
            why = "is not started" if r["status"] == "not started" else f"failed: {r['summary']}"
            raise UsageError(
                f"--implementation {folder}: check {r['item']} {why}; the {section} section uses your network once "
                f"checks {', '.join(REQUIRED[section])} pass (see backproplab exercise check {folder})"
            )
    return Implementation(folder, _digest(folder), _import(folder, modules))
