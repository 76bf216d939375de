"""The PyTorch engine of the MNIST network (:class:`TorchEngine`), run by :mod:`backproplab.mnist_net.run`.

It supplies the DCN (:mod:`.model`), one training step (bfloat16 autocast where the precision says so),
the evaluation forward pass, the optimizer (:mod:`.optim`) and the checkpoint (:mod:`.checkpoint`,
``checkpoint.pt``: weights, optimizer, every random state). Resuming ends with the same weights as an
uninterrupted run (same device and thread count; on a GPU with ``deterministic``).

Hardware (:mod:`backproplab.hardware`): ``precision``/``threads`` "auto" are resolved once per run and
applied for its length; ``metrics.json`` records what ran. The batches are drawn on the device
(:mod:`.device_batches`); on a GPU the per-step losses stay there until the end of each monitoring
interval (:mod:`.loss_buffer`), so that steps that do not log never make the host wait for the GPU.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from backproplab import hardware, limits, runs
from backproplab.dcn.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_NAME,
    check_model_state,
    load_checkpoint,
    random_states,
    restore_random_states,
    save_checkpoint,
)
from backproplab.dcn.device_batches import DeviceBatches
from backproplab.dcn.loss_buffer import LossBuffer
from backproplab.dcn.model import DCN, count_parameters, flops_per_step
from backproplab.dcn.optim import make_optimizer
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.mnist_net.config import TrainConfig
from backproplab.mnist_net.contract import LAYERS, MONITORED

__all__ = ["MONITORED", "TorchEngine", "TrainingDiverged", "evaluate", "forward_backward", "make_autocast"]

#: CPU evaluation batch: 250 images keep conv1's output (25 MB) near the caches; measured 1.3-1.5x faster per
#: image than batches of 1,000 on a 2-core AVX2 EPYC, at 1 and at 2 threads.
EVAL_BATCH = 250
#: On a GPU evaluation takes larger batches: fewer launches, activations still well under 1 GB.
EVAL_BATCH_GPU = 5000
#: Floats one image keeps alive in a training step (activations, their gradients, the pooling
#: indices; measured ~90,000 for ReLU), for the memory check before a run starts.
_FLOATS_PER_IMAGE = 90_000
_MNIST_BYTES = 70_000 * 785 * 4


def _flat_numpy(t: torch.Tensor) -> np.ndarray:
    """The values of ``t`` as a 1-D float NumPy array, without a copy when ``t`` is a float32 CPU
    tensor in contiguous or channels-last layout (statistics do not care about order)."""
    t = t.detach()
    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        t = t.to("cpu", torch.float32)
    if not t.is_contiguous() and t.dim() == 4 and t.permute(0, 2, 3, 1).is_contiguous():
        t = t.permute(0, 2, 3, 1)
    return t.contiguous().numpy().reshape(-1)


def forward_backward(
    model: DCN,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    autocast: Callable[[], contextlib.AbstractContextManager],
    capture: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward for one batch, x (N, 1, 28, 28), y (N,): returns (logits, loss) with the
    gradients in ``.grad``; the caller decides whether to ``optimizer.step()`` (not on a NaN)."""
    with autocast():
        logits = model(x, capture)
    loss = F.cross_entropy(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    return logits, loss


def make_autocast(device: torch.device, precision: str) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of autocast contexts: bfloat16 autocast for ``precision == "bf16"``, else a no-op."""
    enabled = precision == "bf16"

    def autocast() -> contextlib.AbstractContextManager:
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)

    return autocast


@torch.inference_mode()
def evaluate(
    model: DCN, images: torch.Tensor, labels: torch.Tensor, autocast: Callable, batch_size: int = EVAL_BATCH
) -> float:
    """Accuracy of ``model`` on ``images`` (N, 784) with ``labels`` (N,), in batches, dropout off.
    The count stays on the device until the end: one host transfer per call."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=labels.device)
    for start in range(0, len(labels), batch_size):
        with autocast():
            logits = model(images[start : start + batch_size])
        correct += (logits.argmax(1) == labels[start : start + batch_size]).sum()
    model.train(was_training)
    return int(correct) / len(labels)


def check_device(device: str) -> None:
    """Refuse (one line) a GPU this machine does not have."""
    if device == "cpu":
        return
    if not torch.cuda.is_available():
        raise UsageError(f"--device: {device!r} asked for but no CUDA GPU is available; use --device cpu")
    index = device.partition(":")[2]
    if index and int(index) >= torch.cuda.device_count():
        raise UsageError(f"--device: no GPU {device!r}; {torch.cuda.device_count()} available")


def check_resources(config: TrainConfig) -> None:
    """Refuse (one line) a thread count above the cores, or a batch too large for the memory,
    before anything is allocated."""
    limits.check_threads(config.threads)
    with torch.device("meta"):  # shapes only: no memory, no time
        model = DCN(config.activation, config.init, config.dropout)
    images = max(config.batch_size, EVAL_BATCH)
    # weights, gradients and up to two optimizer slots; per image, activations and their gradients
    needed = 4 * (4 * count_parameters(model) + 3 * _FLOATS_PER_IMAGE * model.act.pieces * images) + _MNIST_BYTES
    limits.check_memory(needed, f"--batch-size {config.batch_size}", "choose a smaller --batch-size")


def _resolve_hardware(config: TrainConfig) -> hardware.Hardware:
    used, warning = hardware.resolve(config.device, config.precision, config.threads, config.deterministic)
    if warning:
        warnings.warn(warning, hardware.SlowPrecisionWarning, stacklevel=3)
    return used


def _reads_loss_every_step(device: torch.device) -> bool:
    """Read each step's loss at once on a CPU (free there; progress shows it), buffer it on a GPU.
    Tests patch this to run the buffered path on a CPU."""
    return device.type == "cpu"


def _eval_batch(device: torch.device) -> int:
    return EVAL_BATCH_GPU if device.type == "cuda" else EVAL_BATCH


class TorchEngine:
    """The DCN in PyTorch: see :class:`backproplab.mnist_net.engine.Engine` for the calls."""

    checkpoint_name = CHECKPOINT_NAME
    own_files = (CHECKPOINT_NAME,)
    #: one training step, (model, optimizer, x, y, autocast, capture) -> (logits, loss)
    step = staticmethod(forward_backward)

    def check(self, config: TrainConfig) -> None:
        check_device(config.device)
        check_resources(config)

    @contextlib.contextmanager
    def session(self, config: TrainConfig) -> Iterator[dict[str, Any]]:
        used = _resolve_hardware(config)
        self.device = torch.device(used.device)
        self.autocast = make_autocast(self.device, used.precision)
        with hardware.applied(used):
            yield used.as_dict()

    def build(self, config: TrainConfig) -> None:
        torch.manual_seed(config.seed)
        # channels_last: oneDNN's convolutions run in NHWC; keeping the weights there avoids reorders.
        model = self.new_model(config)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.optimizer = make_optimizer(config.optimizer, self.model.parameters(), config.lr)
        self.model.train()

    def new_model(self, config: TrainConfig) -> torch.nn.Module:
        """The network to train, drawn from the global torch seed (a learner's engine makes theirs)."""
        return DCN(config.activation, config.init, config.dropout)

    def load_checkpoint(self, path: Path) -> dict[str, Any]:
        return load_checkpoint(path)

    def restore(self, path: Path, checkpoint: dict[str, Any], dataset: Any) -> None:
        check_model_state(path, checkpoint["model"], self.model.state_dict())
        self.model.load_state_dict(checkpoint["model"])
        try:
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            dataset.load_state_dict(checkpoint["data"])
        except Exception as exc:  # torch and the iterator raise several types for a mismatched state
            raise runs.damaged_checkpoint(
                path, f"does not match this run ({type(exc).__name__} in its optimizer or data state)"
            ) from exc
        restore_random_states(path, checkpoint["random"], self.device)

    def save_checkpoint(self, path: Path, meta: dict[str, Any], data_state: dict[str, Any]) -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "random": random_states(self.device),
            "data": data_state,
        }
        save_checkpoint(path, {**meta, **state})

    def batches(self, dataset: Any) -> DeviceBatches:
        return DeviceBatches(dataset, self.device)

    def eval_set(self, images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.as_tensor(images, device=self.device), torch.as_tensor(labels, device=self.device)

    def accuracy(self, eval_set: tuple[torch.Tensor, torch.Tensor]) -> float:
        return evaluate(self.model, *eval_set, self.autocast, _eval_batch(self.device))

    def losses(self) -> LossBuffer:
        return LossBuffer(every_step=_reads_loss_every_step(self.device))

    def forward_backward(
        self, x: torch.Tensor, y: torch.Tensor, capture: dict[str, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.step(self.model, self.optimizer, x.view(-1, 1, 28, 28), y, self.autocast, capture)

    def batch_accuracy(self, logits: torch.Tensor, y: torch.Tensor) -> float:
        return (logits.argmax(1) == y).float().mean().item()

    def monitored(self, capture: dict[str, torch.Tensor] | None) -> dict[str, np.ndarray]:
        tensors: dict[str, torch.Tensor] = dict(capture or {})
        for layer in LAYERS:
            tensors[f"{layer}/weights"], tensors[f"{layer}/biases"] = self.model.parameters_of(layer)
        return {name: _flat_numpy(tensors[name]) for name in MONITORED if name in tensors}

    def learning_rate(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def update(self) -> None:
        self.optimizer.step()

    def parameter_count(self) -> int:
        return count_parameters(self.model)

    def flops_per_step(self, batch_size: int) -> float:
        return flops_per_step(batch_size, self.model.act.pieces)
