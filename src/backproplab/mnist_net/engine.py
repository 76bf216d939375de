"""What an engine supplies to the run loop (:class:`Engine`), and the engine a config asks for (:func:`engine_for`).

The loop (:mod:`backproplab.mnist_net.run`) owns everything both engines share: the run folder,
data, resume, evaluation, monitoring, divergence, checkpoints' timing, metrics and signals. An
engine owns the model, one training step, the evaluation forward pass, the optimizer (whose rate
the loop sets from :func:`~backproplab.mnist_net.contract.learning_rate_at`) and its checkpoint file.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from backproplab.mnist_net.choices import ENGINES
from backproplab.mnist_net.config import TrainConfig


class Batches(Protocol):
    """The training batches in the data set's order: ``next_batch(b) -> (images (b, 784), labels (b,))``."""

    def next_batch(self, batch_size: int) -> tuple[Any, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...


class Losses(Protocol):
    """Per-step losses as the engine returns them, read as floats when :meth:`due` (see :class:`StepLosses`)."""

    def add(self, step: int, loss: Any) -> None: ...

    def due(self, interval_end: bool) -> bool: ...

    def read(self) -> list[tuple[int, float]]: ...


class Engine(Protocol):
    """One engine of the MNIST network; built by :func:`engine_for`, used by one run.

    Call order: :meth:`check` (before the folder is claimed), then inside :meth:`session`:
    :meth:`build`, optionally :meth:`load_checkpoint` and :meth:`restore`, then the steps.
    """

    #: The checkpoint's file name; every file of the engine's own that ``--overwrite`` clears
    #: (``runs.run_files`` patterns). ``metrics.json``'s ``engine`` is ``config.engine``.
    checkpoint_name: str
    own_files: Sequence[str]

    def check(self, config: TrainConfig) -> None:
        """Refuse (one-line UsageError) a value this engine does not have, or this machine cannot run."""

    def session(self, config: TrainConfig) -> AbstractContextManager[dict[str, Any]]:
        """The run's hardware settings applied; yields what ran (device, precision, threads...) for ``final``."""

    def build(self, config: TrainConfig) -> None:
        """The model (from ``config.seed``) and its optimizer."""

    def load_checkpoint(self, path: Path) -> dict[str, Any]:
        """The checked checkpoint: at least ``step``, ``config``, ``history``, ``wall_seconds``, ``data``."""

    def restore(self, path: Path, checkpoint: dict[str, Any], dataset: Any) -> None:
        """Put the checkpoint's weights, optimizer, random states and ``dataset``'s batch order in place."""

    def save_checkpoint(self, path: Path, meta: dict[str, Any], data_state: dict[str, Any]) -> None:
        """Write ``meta`` (step, config, history, wall_seconds, watch), the model, optimizer and random states."""

    def batches(self, dataset: Any) -> Batches:
        """Training batches continuing from ``dataset``'s position."""

    def eval_set(self, images: np.ndarray, labels: np.ndarray) -> Any:
        """``images`` (N, 784) and ``labels`` (N,) ready for :meth:`accuracy`."""

    def accuracy(self, eval_set: Any) -> float:
        """The fraction classified right, dropout off."""

    def losses(self) -> Losses:
        """An empty buffer for this engine's per-step losses."""

    def forward_backward(self, x: Any, y: Any, capture: dict[str, Any] | None) -> tuple[Any, Any]:
        """``(logits, loss)`` of one batch with the gradients computed; with ``capture`` a dict, the inner
        monitored tensors are put in it."""

    def batch_accuracy(self, logits: Any, y: Any) -> float: ...

    def monitored(self, capture: dict[str, Any] | None) -> dict[str, np.ndarray]:
        """Every monitored tensor available (the parameters always), by tag, as flat float arrays."""

    def learning_rate(self) -> float:
        """The rate the optimizer will use for its next update."""

    def set_learning_rate(self, lr: float) -> None: ...

    def update(self) -> None:
        """One optimizer update with the gradients of the last :meth:`forward_backward`."""

    def parameter_count(self) -> int: ...

    def flops_per_step(self, batch_size: int) -> float: ...


def engine_for(config: TrainConfig) -> Engine:
    """A new engine of the kind ``config.engine`` names (its module is imported now, not before)."""
    return ENGINES[config.engine]()


class StepLosses:
    """Losses that are Python floats already: due after every step, read as they are."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, float]] = []

    def add(self, step: int, loss: float) -> None:
        self._pending.append((step, loss))

    def due(self, interval_end: bool) -> bool:
        return bool(self._pending)

    def read(self) -> list[tuple[int, float]]:
        read, self._pending = self._pending, []
        return read
