"""TensorBoard summaries of a NumPy network while it trains (glue to :mod:`backproplab.monitoring`).

Tags, the same kind the DCN writes (layers numbered from 1; layer L is the output layer, whose
net input is the softmax's scores and whose activation is the identity, so it is not repeated):

    layer{i}/weights, layer{i}/biases, layer{i}/net_input, layer{i}/activation
        -> scalars <tag>/min, /max, /mean, /std, /nonfinite and the histogram <tag>
    train/loss, validation/loss            the loss per example (L / N, see DeepNeuralNetwork)
    train/accuracy, validation/accuracy

The network names its tensors (``net.monitored_tensors()``); the tag scheme and the writing are
:mod:`backproplab.monitoring`'s, shared with the DCN. ``net_input`` and ``activation`` are those of
the last forward pass (the trainer logs right after its forward pass over all training rows, so
they cover the whole training set).
Importing this module imports tensorboard, never torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from backproplab.errors import UsageError
from backproplab.monitoring import SummaryWriter


class TrainingMonitor:
    """Writes per-layer summaries and scalars of a NumPy network to ``logdir``."""

    def __init__(self, logdir: str | os.PathLike[str], *, flush_secs: float = 10.0) -> None:
        try:
            self.writer = SummaryWriter(logdir, flush_secs=flush_secs)
        except OSError as exc:
            raise UsageError(
                f"cannot write TensorBoard logs to {logdir}: {exc.strerror or exc}; give a folder you can write "
                "to as the logdir (--logdir)"
            ) from exc

    def log_tensors(self, net: Any, step: int) -> None:
        """Summaries of the network's ``<layer>/<quantity>`` tensors (weights, biases, cached z and a)."""
        self.writer.add_layer_summaries(net.monitored_tensors(), step)

    def log_scalars(self, values: Mapping[str, float], step: int) -> None:
        self.writer.add_scalars(dict(values), step)

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
