"""The NumPy engine of the MNIST network (:class:`NumpyEngine`), run by :mod:`backproplab.mnist_net.run`.

It supplies the :class:`~backproplab.numpy_dcn.convnet.ConvNet` (backprop written by hand, float32),
one training step, the evaluation forward pass, an optimizer of :mod:`backproplab.scratch.optimizers`
(its rate set by the loop, so ``--schedule`` holds here too) and ``checkpoint.npz``
(:mod:`.checkpoint`: arrays and JSON, never a pickle), from which a resumed run ends with the same
weights as an uninterrupted one. The run folder, tags and ``metrics.json`` are the loop's, so the
figures, the report and the sweep summaries read either engine's runs alike.

What it cannot do is refused with a one-line :class:`UsageError` before any data is read:
``--device`` other than cpu, ``--precision bf16``, activations outside the NumPy registry (gelu) and
optimizers outside :mod:`backproplab.scratch.optimizers` (adadelta, adamw). ``threads`` limits the
BLAS threads. This module never imports torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import hints, limits, runs
from backproplab.errors import UsageError
from backproplab.hardware import usable_cores
from backproplab.mnist_net.choices import ACTIVATIONS as NET_ACTIVATIONS
from backproplab.mnist_net.choices import OPTIMIZERS as NET_OPTIMIZERS
from backproplab.mnist_net.config import TrainConfig
from backproplab.mnist_net.contract import LAYERS, MONITORED
from backproplab.mnist_net.engine import StepLosses
from backproplab.numpy_dcn import checkpoint
from backproplab.numpy_dcn.convnet import ConvNet
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.optimizers import OPTIMIZERS, make_optimizer

EVAL_BATCH = 250  # im2col of conv2 holds 250 * 196 * 800 floats (157 MB) at a time


def check_config(config: TrainConfig) -> TrainConfig:
    """Raise :class:`UsageError` for a setting the NumPy engine does not have; return ``config``."""
    if config.device != "cpu":
        raise UsageError(f"--device {config.device}: the numpy engine runs on the CPU only; drop --device")
    if config.precision not in ("auto", "fp32"):
        raise UsageError(f"--precision {config.precision}: the numpy engine computes in fp32 only; use --engine torch")
    supported = hints.offered(NET_ACTIVATIONS, [*ACTIVATIONS, "maxout"])  # suggest only what --activation takes
    if config.activation not in supported:
        raise UsageError(
            f"--activation {config.activation}: not in the numpy engine; choose one of: {', '.join(supported)}"
        )
    if config.optimizer not in OPTIMIZERS:
        optimizers = hints.offered(NET_OPTIMIZERS, OPTIMIZERS)
        raise UsageError(
            f"--optimizer {config.optimizer}: not in the numpy engine; choose one of: {', '.join(optimizers)}"
        )
    return config


def accuracy(net: ConvNet, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``images`` (N, 784) classified as ``labels`` (N,), dropout off."""
    return float(np.mean(net.predict(images, EVAL_BATCH) == labels))


@contextlib.contextmanager
def _blas_threads(threads: int | None) -> Iterator[None]:
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


class NumpyEngine:
    """The ConvNet in NumPy: see :class:`backproplab.mnist_net.engine.Engine` for the calls."""

    checkpoint_name = checkpoint.NAME
    #: the format-1 pickle is cleared by --overwrite too
    own_files = (checkpoint.NAME, "checkpoint.pkl")

    def check(self, config: TrainConfig) -> None:
        check_config(config)
        limits.check_threads(config.threads)

    @contextlib.contextmanager
    def session(self, config: TrainConfig) -> Iterator[dict[str, Any]]:
        threads = usable_cores() if config.threads == "auto" else config.threads
        # A diverging run overflows on its way to a non-finite loss, which the loop reports as diverged.
        quiet_overflow = np.errstate(over="ignore", invalid="ignore", divide="ignore")
        with _blas_threads(threads), quiet_overflow:
            yield {"device": "cpu", "precision": "fp32", "threads": threads}

    def build(self, config: TrainConfig) -> None:
        self.net = ConvNet(config.activation, config.init, config.dropout, seed=config.seed, dtype=np.float32)
        self.optimizer = make_optimizer(config.optimizer, self.net.parameters(), config.learning_rate)

    def load_checkpoint(self, path: Path) -> dict[str, Any]:
        return checkpoint.load(path, self.net.params, self.optimizer.params)

    def restore(self, path: Path, saved: dict[str, Any], dataset: Any) -> None:
        self.net.load_state_dict(saved["model"])
        self.optimizer.t = saved["optimizer"]["t"]
        self.optimizer.state = saved["optimizer"]["state"]
        try:
            self.net.rng.bit_generator.state = saved["rng"]
            dataset.load_state_dict(saved["data"])
        except (KeyError, TypeError, ValueError) as exc:
            raise runs.damaged_checkpoint(path, f"does not match this run ({exc})") from None

    def save_checkpoint(self, path: Path, meta: dict[str, Any], data_state: dict[str, Any]) -> None:
        optimizer = {"t": self.optimizer.t, "state": self.optimizer.state}
        checkpoint.save(path, {**meta, "rng": self.net.rng.bit_generator.state}, self.net.params, optimizer, data_state)

    def batches(self, dataset: Any) -> Any:
        return dataset

    def eval_set(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return images, labels

    def accuracy(self, eval_set: tuple[np.ndarray, np.ndarray]) -> float:
        return accuracy(self.net, *eval_set)

    def losses(self) -> StepLosses:
        return StepLosses()

    def forward_backward(
        self, x: np.ndarray, y: np.ndarray, capture: dict[str, np.ndarray] | None
    ) -> tuple[np.ndarray, float]:
        return self.net.loss_and_gradients(x, y, capture=capture)

    def batch_accuracy(self, logits: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(logits.argmax(1) == y))

    def monitored(self, capture: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        tensors: dict[str, np.ndarray] = dict(capture or {})
        for layer in LAYERS:
            tensors[f"{layer}/weights"], tensors[f"{layer}/biases"] = self.net.parameters_of(layer)
        return {name: np.ravel(tensors[name]) for name in MONITORED if name in tensors}

    def learning_rate(self) -> float:
        return self.optimizer.lr

    def set_learning_rate(self, lr: float) -> None:
        self.optimizer.lr = lr

    def update(self) -> None:
        self.optimizer.step(self.net.gradients())

    def parameter_count(self) -> int:
        return self.net.parameter_count()

    def flops_per_step(self, batch_size: int) -> float:
        return self.net.flops_per_step(batch_size)
