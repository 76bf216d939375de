"""The learner's network in the report: their classes, loaded once their checks pass (``report --implementation``).

Part 1: the report's studies train networks with the reference :class:`~backproplab.scratch.trainer.Trainer`
(it records the curves the figures need). :class:`LearnerNetwork` gives the learner's
``NeuralNetwork`` the interface the trainer and the studies use, with every number coming from
the learner's own ``feedforward``, ``calculate_loss`` and ``backprop``; only the loop is the
project's (the learner's ``fit_model`` is checked in item 1e).

Part 2: the DCN study trains the learner's ``DCN`` with their ``forward_backward`` through the
project's MNIST run loop (:mod:`backproplab.exercise.learner_dcn`); its TensorBoard run is what the
report's dcn and tensorboard sections show.

Unlike the checks, the report runs the learner's code in this process: it is their own report, run
on their machine, the checks (in a limited child process) have already run every function it calls,
and a long training run keeps the loop's progress, Ctrl-C handling and run folder as any run does.
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
from backproplab.exercise.child import DEFAULT_MODULES, MODULES
from backproplab.exercise.handout import N_LAYER, THREE_LAYER
from backproplab.exercise.sandbox import Limits, check_workspace
from backproplab.exercise.workspace import workspace_modules
from backproplab.scratch.trainer import DEFAULTS, Trainer

#: The report sections built with the learner's network, and the checks each needs passed first
#: (tensorboard shows the learner's dcn run, so it needs what dcn needs).
REQUIRED: dict[str, tuple[str, ...]] = {
    "moons": ("1b", "1c", "1d", "1e"),
    "deep": ("1b", "1f"),
    "dcn": ("2a", "2a-step", "2b"),
    "tensorboard": ("2a", "2a-step", "2b"),
}


def section_modules(section: str) -> list[str]:
    """The learner's modules a section runs: those its checks import."""
    modules = (m for item in REQUIRED[section] for m in MODULES.get(item, DEFAULT_MODULES))
    return list(dict.fromkeys(modules))


def sections_of(folder: str | os.PathLike[str]) -> list[str]:
    """The sections a workspace can build: those whose modules are all in it."""
    present = {name.removesuffix(".py") for name in workspace_modules(folder)}
    return [s for s in REQUIRED if set(section_modules(s)) <= present]


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
    """A learner's workspace whose checks passed: where it is, the SHA-256 of each of its modules' code,
    the modules (imported), and what builds their networks."""

    folder: Path
    digests: dict[str, str]
    modules: dict[str, ModuleType]

    def network(self, *args: Any, **kwargs: Any) -> LearnerNetwork:
        """A learner's NeuralNetwork (the reference's constructor arguments), ready for the report's studies."""
        return LearnerNetwork(self.modules[THREE_LAYER.module].NeuralNetwork(*args, **kwargs))

    def deep_network(self, *args: Any, **kwargs: Any) -> LearnerNetwork:
        """A learner's DeepNeuralNetwork (the reference's constructor arguments), for the deep study."""
        return LearnerNetwork(self.modules[N_LAYER.module].DeepNeuralNetwork(*args, **kwargs))

    def dcn_engine(self) -> Any:
        """A new torch engine running the learner's DCN and training step, for the MNIST run loop."""
        from backproplab.exercise.learner_dcn import LearnerTorchEngine

        return LearnerTorchEngine(self.modules[section_modules("dcn")[0]])

    def digest(self, section: str | None = None) -> str:
        """The SHA-256 of the code ``section`` runs (its modules, by name and content); None: of every
        module loaded."""
        h = hashlib.sha256()
        for name in self.modules if section is None else section_modules(section):
            h.update(name.encode() + b"\0" + self.digests[name].encode() + b"\0")
        return h.hexdigest()

    def describe(self, section: str) -> dict[str, str]:
        """What goes into ``section``'s study settings: a change to the code it runs is a new study, never a
        reused one (a change to another part's file is not)."""
        return {"folder": str(self.folder), "sha256": self.digest(section)}

    @property
    def label(self) -> str:
        files = ", ".join(f"{m}.py" for m in self.modules)
        return f"{self.folder} ({files}; sha256 {self.digest()[:12]})"


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
    workspace_modules(folder)  # UsageError when it is not a workspace
    modules = list(dict.fromkeys(m for section in sections for m in section_modules(section)))
    missing = [f"{m}.py" for m in modules if not (folder / f"{m}.py").is_file()]
    if missing:
        raise UsageError(
            f"--implementation {folder}: no {', '.join(missing)} there, which --sections {','.join(sections)} "
            f"needs (a workspace of the other part? start one with --part all, or leave those sections out)"
        )
    required = [item for section in sections for item in REQUIRED[section]]
    for r in check_workspace(folder, list(dict.fromkeys(required)), limits):
        if r["status"] != "passed":
            section = next(s for s in sections if r["item"] in REQUIRED[s])
            why = "is not started" if r["status"] == "not started" else f"failed: {r['summary']}"
            raise UsageError(
                f"--implementation {folder}: check {r['item']} {why}; the {section} section uses your network once "
                f"checks {', '.join(REQUIRED[section])} pass (see backproplab exercise check {folder})"
            )
    digests = {m: hashlib.sha256((folder / f"{m}.py").read_bytes()).hexdigest() for m in modules}
    return Implementation(folder, digests, _import(folder, modules))
