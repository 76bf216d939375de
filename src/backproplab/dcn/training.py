"""Train the DCN on MNIST with TensorBoard monitoring: ``train(config) -> metrics``.

One run writes to its own folder (``config.out_dir()``):

- TensorBoard event files: ``train/loss`` every step; every ``monitor_every`` steps (and at the
  first and last step) ``train/accuracy`` on the current batch and, for each tensor in
  :data:`MONITORED`, the histogram ``<name>`` and scalars ``<name>/{min,max,mean,std,nonfinite}``
  on the current batch; every ``eval_every`` steps (and at the end) ``eval/validation_error``,
  ``eval/test_error``, ``eval/validation_accuracy``, ``eval/test_accuracy`` over the whole sets.
  Training tags use the index of the step being taken (0 .. steps-1); evaluation tags use the
  number of steps done (1100 = one epoch of 55,000 images in batches of 50).
- ``config.json`` (every setting), written first; ``metrics.json`` at the end, also when the run
  diverges or is interrupted (``status``: completed, diverged or interrupted).
- ``checkpoint.pt`` after each evaluation, atomically; ``resume=True`` continues from it and ends
  with the same weights as an uninterrupted run (same device and thread count).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from backproplab.dcn.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    random_states,
    restore_random_states,
    save_checkpoint,
)
from backproplab.dcn.config import TRAJECTORY_FIELDS, TrainConfig
from backproplab.dcn.model import DCN, LAYERS, count_parameters, flops_per_step
from backproplab.dcn.optim import make_optimizer
from backproplab.errors import UsageError
from backproplab.io import write_json
from backproplab.monitoring import SummaryWriter, tensor_stats
from backproplab.progress import progress_bar

#: The tensors summarised every monitoring interval, by TensorBoard name (a contract: the report
#: and the tests rely on these tags).
MONITORED = (
    "conv1/weights",
    "conv1/biases",
    "conv1/net_input",
    "conv1/activation",
    "conv1/pooled",
    "conv2/weights",
    "conv2/biases",
    "conv2/net_input",
    "conv2/activation",
    "conv2/pooled",
    "fc1/weights",
    "fc1/biases",
    "fc1/net_input",
    "fc1/activation",
    "fc2/weights",
    "fc2/biases",
    "fc2/net_input",
)
EVAL_TAGS = ("eval/validation_error", "eval/test_error", "eval/validation_accuracy", "eval/test_accuracy")
EVAL_BATCH = 1000
_RUN_FILES = ("config.json", "metrics.json", CHECKPOINT_NAME)


class TrainingDiverged(UsageError):
    """The loss became NaN or infinite. Raised after the logs and ``metrics.json`` are safely written;
    ``metrics`` holds what was written (``status == "diverged"``, ``diverged_at_step``)."""

    def __init__(self, message: str, metrics: dict[str, Any]) -> None:
        super().__init__(message)
        self.metrics = metrics


def load_data(config: TrainConfig, progress: bool = True):  # -> mnist.Datasets
    """MNIST as the config asks: 55,000/5,000 train/validation split, batch order from ``config.seed``."""
    from backproplab.datasets import mnist

    return mnist.load(
        data_dir=config.data_dir, validation_size=config.validation_size, seed=config.seed, progress=progress
    )


# ----------------------------------------------------------------------------- helpers


def _flat_numpy(t: torch.Tensor) -> np.ndarray:
    """The values of ``t`` as a 1-D float NumPy array, without a copy when ``t`` is a float32 CPU
    tensor in contiguous or channels-last layout (statistics do not care about order)."""
    t = t.detach()
    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        t = t.to("cpu", torch.float32)
    if not t.is_contiguous() and t.dim() == 4 and t.permute(0, 2, 3, 1).is_contiguous():
        t = t.permute(0, 2, 3, 1)
    return t.contiguous().numpy().reshape(-1)


def write_summaries(writer: SummaryWriter, model: DCN, capture: dict[str, torch.Tensor] | None, step: int) -> None:
    """Histograms and min/max/mean/std/nonfinite of every tensor in :data:`MONITORED` available:
    the parameters always, the inner tensors when ``capture`` holds them."""
    tensors: dict[str, torch.Tensor] = dict(capture or {})
    for layer in LAYERS:
        w, b = model.parameters_of(layer)
        tensors[f"{layer}/weights"], tensors[f"{layer}/biases"] = w, b
    for name in MONITORED:
        if name in tensors:
            writer.add_stats(name, tensor_stats(_flat_numpy(tensors[name])), step)


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
def evaluate(model: DCN, images: torch.Tensor, labels: torch.Tensor, autocast: Callable) -> float:
    """Accuracy of ``model`` on ``images`` (N, 784) with ``labels`` (N,), in batches, dropout off."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(labels), EVAL_BATCH):
        with autocast():
            logits = model(images[start : start + EVAL_BATCH])
        correct += int((logits.argmax(1) == labels[start : start + EVAL_BATCH]).sum())
    model.train(was_training)
    return correct / len(labels)


def _prepare_folder(config: TrainConfig, out: Path) -> dict[str, Any] | None:
    """Return the checkpoint to resume from, or check that ``out`` may receive a new run."""
    if config.resume:
        checkpoint = load_checkpoint(out / CHECKPOINT_NAME)
        saved = checkpoint["config"]
        changed = [f for f in TRAJECTORY_FIELDS if saved.get(f) != getattr(config, f)]
        if changed:
            diffs = ", ".join(f"{f} {saved.get(f)!r} -> {getattr(config, f)!r}" for f in changed)
            raise UsageError(f"cannot resume {out} with different settings ({diffs}); keep them as they were")
        if checkpoint["step"] > config.steps:
            raise UsageError(f"{out} is already at step {checkpoint['step']}, beyond --steps {config.steps}")
        return checkpoint
    existing = [p for p in (*(out / n for n in _RUN_FILES), *out.glob("events.out.tfevents.*")) if p.exists()]
    if existing and not config.overwrite:
        raise UsageError(
            f"{out} already holds a run; pass --resume to continue it, --overwrite to start it again, "
            "or choose another --out or --name"
        )
    for path in existing:
        path.unlink()
    return None


@contextlib.contextmanager
def _restored_iterator(dataset) -> Iterator[None]:
    # A preloaded data object is shared by the runs of a sweep: leave its batch order as found, so
    # that every run starting from it sees the same batches.
    state = dataset.state_dict()
    try:
        yield
    finally:
        dataset.load_state_dict(state)


def _as_tensor(images: np.ndarray, labels: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(images, device=device), torch.as_tensor(labels, device=device)


# ----------------------------------------------------------------------------- the run


def train(
    config: TrainConfig,
    data: Any = None,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train the DCN as ``config`` says and return the metrics also written to ``metrics.json``.

    ``data``: a preloaded MNIST object (``mnist.load(...)``; it must have ``train``, ``validation``
    and ``test`` with ``images``, ``labels``, ``next_batch``, ``state_dict``/``load_state_dict``).
    Its iterator is left as found, so a sweep can share it. None: load it from ``config.data_dir``.
    ``callback(step, loss)`` is called after every step, and after its evaluation and checkpoint
    when it has them (a sweep's own progress; raising KeyboardInterrupt in it stops the run as
    Ctrl-C does, with ``metrics.json`` status "interrupted").
    ``threads``, when set, changes PyTorch's global thread count.

    Raises :class:`UsageError` for bad settings (before any data is read) and
    :class:`TrainingDiverged` (a ``UsageError``) when the loss stops being finite.
    """
    config.validate()
    out = config.out_dir()
    checkpoint = _prepare_folder(config, out)
    if data is None:
        data = load_data(config, progress)
    n_train = len(data.train.labels)
    if config.batch_size > n_train:
        raise UsageError(f"--batch-size: {config.batch_size} is larger than the {n_train} training images")
    if config.threads:
        torch.set_num_threads(config.threads)
    with _restored_iterator(data.train):
        return _run(config, data, out, checkpoint, progress, callback)


def _run(
    config: TrainConfig,
    data: Any,
    out: Path,
    checkpoint: dict[str, Any] | None,
    progress: bool,
    callback: Callable[[int, float], None] | None,
) -> dict[str, Any]:
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    # channels_last: oneDNN's convolutions run in NHWC; keeping the weights there avoids reorders.
    model = DCN(config.activation, config.init, config.dropout).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    start, history, wall_before = 0, [], 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        data.train.load_state_dict(checkpoint["data"])
        restore_random_states(checkpoint["random"], device)
        start, history, wall_before = checkpoint["step"], checkpoint["history"], checkpoint["wall_seconds"]
    write_json(out / "config.json", config.to_dict())

    autocast = make_autocast(device, config.precision)
    validation = _as_tensor(data.validation.images, data.validation.labels, device)
    test = _as_tensor(data.test.images, data.test.labels, device)
    steps_per_epoch = len(data.train.labels) / config.batch_size
    say = _printer(progress)

    def finish(status: str, steps_done: int, wall: float, **extra: Any) -> dict[str, Any]:
        metrics = _metrics(config, model, history, status, steps_done, wall_before + wall, steps_done - start, wall)
        metrics.update(extra)
        write_json(out / "metrics.json", metrics)
        return metrics

    bar = progress_bar(config.steps, enabled=progress, initial=start, desc=config.run_name(), unit="step")
    writer = SummaryWriter(out, purge_step=start if checkpoint is not None else None)
    began = time.perf_counter()
    completed = start  # steps whose update has been applied
    recent_losses: list[float] = []
    try:
        model.train()
        for step in range(start, config.steps):
            xs, ys = data.train.next_batch(config.batch_size)
            x = torch.as_tensor(xs, device=device).view(-1, 1, 28, 28)
            y = torch.as_tensor(ys, device=device)
            monitor = step % config.monitor_every == 0 or step == config.steps - 1
            capture: dict[str, torch.Tensor] | None = {} if monitor else None
            logits, loss = forward_backward(model, optimizer, x, y, autocast, capture)
            loss_value = loss.item()
            writer.add_scalar("train/loss", loss_value, step)
            if not math.isfinite(loss_value):
                write_summaries(writer, model, capture, step)
                metrics = finish(
                    "diverged", step, time.perf_counter() - began, diverged_at_step=step, diverged_loss=loss_value
                )
                raise TrainingDiverged(
                    f"training diverged at step {step}: the loss became {loss_value} with {config.optimizer} at "
                    f"learning rate {config.learning_rate:g}; try a smaller --lr (logs and metrics are in {out})",
                    metrics,
                )
            if monitor:
                accuracy = (logits.argmax(1) == y).float().mean().item()
                writer.add_scalar("train/accuracy", accuracy, step)
                write_summaries(writer, model, capture, step)
                del capture
            _apply_schedule(optimizer, config, step)
            optimizer.step()
            completed = done = step + 1
            recent_losses.append(loss_value)
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            if done % config.eval_every == 0 or done == config.steps:
                record = _evaluate_all(model, validation, test, autocast, done, steps_per_epoch, recent_losses)
                recent_losses = []
                history.append(record)
                writer.add_scalars({f"eval/{k}": record[k] for k in _EVAL_KEYS}, done)
                writer.flush()
                say(
                    f"step {done}/{config.steps} (epoch {record['epoch']:.2f}): validation error "
                    f"{record['validation_error']:.2%}, test error {record['test_error']:.2%}"
                )
                save_checkpoint(
                    out / CHECKPOINT_NAME,
                    {
                        "format": 1,
                        "step": done,
                        "config": config.to_dict(),
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "random": random_states(device),
                        "data": data.train.state_dict(),
                        "history": history,
                        "wall_seconds": wall_before + time.perf_counter() - began,
                    },
                )
            if callback is not None:
                callback(step, loss_value)
        return finish("completed", config.steps, time.perf_counter() - began)
    except KeyboardInterrupt:
        finish("interrupted", completed, time.perf_counter() - began)
        raise
    finally:
        writer.close()
        if bar is not None:
            bar.close()


def schedule_factor(schedule: str, step: int, steps: int) -> float:
    """The multiplier of the learning rate at ``step`` (0-based) of ``steps``: a function of the step
    alone, so a resumed run needs no scheduler state."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * step / steps))
    if schedule == "step":
        return 0.1 ** ((step >= steps // 2) + (step >= 3 * steps // 4))
    return 1.0


def _apply_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, step: int) -> None:
    if config.schedule != "constant":
        lr = config.learning_rate * schedule_factor(config.schedule, step, config.steps)
        for group in optimizer.param_groups:
            group["lr"] = lr


_EVAL_KEYS = ("validation_error", "test_error", "validation_accuracy", "test_accuracy")


def _evaluate_all(
    model: DCN,
    validation: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    autocast: Callable,
    done: int,
    steps_per_epoch: float,
    recent_losses: list[float],
) -> dict[str, float]:
    val_acc = evaluate(model, *validation, autocast)
    test_acc = evaluate(model, *test, autocast)
    return {
        "step": done,
        "epoch": done / steps_per_epoch,
        "train_loss": float(np.mean(recent_losses)) if recent_losses else math.nan,
        "validation_error": 1.0 - val_acc,
        "test_error": 1.0 - test_acc,
        "validation_accuracy": val_acc,
        "test_accuracy": test_acc,
    }


def _metrics(
    config: TrainConfig,
    model: DCN,
    history: list[dict[str, float]],
    status: str,
    steps_done: int,
    wall_total: float,
    session_steps: int,
    session_wall: float,
) -> dict[str, Any]:
    last = history[-1] if history else {}
    flops = flops_per_step(config.batch_size, model.act.pieces)
    rate = session_steps / session_wall if session_wall > 0 and session_steps > 0 else math.nan
    return {
        "status": status,
        "steps_done": steps_done,
        **{key: last.get(key, math.nan) for key in _EVAL_KEYS},
        "curves": {key: [record[key] for record in history] for key in ("step", "epoch", "train_loss", *_EVAL_KEYS)},
        "wall_seconds": wall_total,
        "steps_per_second": rate,
        "parameter_count": count_parameters(model),
        "gflop_per_step": flops / 1e9,
        "gflops_per_second": flops * rate / 1e9,
        "device": config.device,
        "threads": torch.get_num_threads(),
        "config": config.to_dict(),
    }


def _printer(progress: bool) -> Callable[[str], None]:
    if not progress:
        return lambda message: None
    from tqdm.auto import tqdm

    return tqdm.write
