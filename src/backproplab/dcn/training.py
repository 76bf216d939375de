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
  diverges or is interrupted (``status``: completed, diverged or interrupted), in the layout of
  :mod:`backproplab.runs` (the same top-level keys as the NumPy engine's runs).
- ``checkpoint.pt`` after each evaluation, atomically; ``resume=True`` continues from it and ends
  with the same weights as an uninterrupted run (same device and thread count; on a GPU with
  ``deterministic``). The resumed event file purges the interrupted attempt's events from the
  checkpoint's step on and writes the checkpoint's evaluation again, so every evaluation is read back once.

Hardware (:mod:`backproplab.hardware`): ``precision``/``threads`` "auto" are resolved once per run;
``metrics.json`` records what ran. The batches are drawn on the device (:mod:`.device_batches`);
on a GPU the per-step losses stay there until the end of each monitoring interval
(:mod:`.loss_buffer`), so that steps that do not log never make the host wait for the GPU.

The folder is claimed (:func:`backproplab.runs.claimed`) before any data is read: a second run on
it is refused while the first runs. Divergence (:mod:`backproplab.divergence`): a non-finite loss
always ends the run; a loss stuck far above its start, or chance accuracy after an epoch, ends it
too unless ``config.on_divergence == "warn"``.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
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
from backproplab.dcn.choices import MONITORED
from backproplab.dcn.config import TRAJECTORY_FIELDS, TrainConfig
from backproplab.dcn.device_batches import DeviceBatches
from backproplab.dcn.loss_buffer import LossBuffer
from backproplab.dcn.model import DCN, LAYERS, count_parameters, flops_per_step
from backproplab.dcn.optim import make_optimizer
from backproplab.divergence import DivergenceWatch, chance_accuracy
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.monitoring import SummaryWriter, tensor_stats
from backproplab.progress import progress_bar

#: CPU evaluation batch: 250 images keep conv1's output (25 MB) near the caches; measured 1.3-1.5x faster per
#: image than batches of 1,000 on a 2-core AVX2 EPYC, at 1 and at 2 threads.
EVAL_BATCH = 250
#: On a GPU evaluation takes larger batches: fewer launches, activations still well under 1 GB.
EVAL_BATCH_GPU = 5000
ENGINE = "dcn"
#: Floats one image keeps alive in a training step (activations, their gradients, the pooling
#: indices; measured ~90,000 for ReLU), for the memory check before a run starts.
_FLOATS_PER_IMAGE = 90_000
_MNIST_BYTES = 70_000 * 785 * 4


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


def check_resources(config: TrainConfig) -> None:
    """Refuse (one line) a thread count above the cores, or a batch too large for the memory,
    before anything is allocated."""
    limits.check_threads(config.threads)
    model = DCN(config.activation, config.init, config.dropout)  # 13 MB: cheap beside what it checks
    images = max(config.batch_size, EVAL_BATCH)
    # weights, gradients and up to two optimizer slots; per image, activations and their gradients
    needed = 4 * (4 * count_parameters(model) + 3 * _FLOATS_PER_IMAGE * model.act.pieces * images) + _MNIST_BYTES
    limits.check_memory(needed, f"--batch-size {config.batch_size}", "choose a smaller --batch-size")


def _prepare_folder(config: TrainConfig, out: Path) -> dict[str, Any] | None:
    """Return the checkpoint to resume from, or make ``out`` ready for a new run (refusing a run
    already there unless --overwrite). ``out`` must be claimed."""
    has_checkpoint = (out / CHECKPOINT_NAME).is_file()
    if not config.resume:
        runs.refuse_or_clear(
            out, ENGINE, overwrite=config.overwrite, patterns=(CHECKPOINT_NAME,), resumable=has_checkpoint
        )
        return None
    if not has_checkpoint:
        if runs.run_files(out, (CHECKPOINT_NAME,)):
            raise UsageError(
                f"{out} holds a run that stopped before its first checkpoint, so there is nothing to resume; "
                f"start it again with: {runs.command_hint(ENGINE, out, '--overwrite')}"
            )
        raise UsageError(f"no run in {out} to resume; start one without --resume")
    checkpoint = load_checkpoint(out / CHECKPOINT_NAME)
    runs.check_resumable(out, checkpoint["config"], checkpoint["step"], config, TRAJECTORY_FIELDS)
    return checkpoint


def _completed_metrics(config: TrainConfig, out: Path, checkpoint: dict[str, Any] | None) -> dict[str, Any] | None:
    """On --resume of a run that already completed its steps: its metrics (nothing is touched)."""
    if checkpoint is None or checkpoint["step"] != config.steps:
        return None
    try:
        saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the final metrics were not written: finish the run again from its checkpoint
    return saved if isinstance(saved, dict) and saved.get("status") == "completed" else None


def _restore(checkpoint: dict[str, Any], model: DCN, optimizer: torch.optim.Optimizer, data: Any, out: Path) -> None:
    """Load a checkpoint's weights, optimizer, batch order and random states, every one checked."""
    path = out / CHECKPOINT_NAME
    check_model_state(path, checkpoint["model"], model.state_dict())
    model.load_state_dict(checkpoint["model"])
    try:
        optimizer.load_state_dict(checkpoint["optimizer"])
        data.train.load_state_dict(checkpoint["data"])
    except Exception as exc:  # torch and the iterator raise several types for a mismatched state
        raise runs.damaged_checkpoint(
            path, f"does not match this run ({type(exc).__name__} in its optimizer or data state)"
        ) from exc
    restore_random_states(checkpoint["random"], next(model.parameters()).device)


def _open_writer(out: Path, start: int, history: list[dict[str, float]], resumed: bool) -> SummaryWriter:
    """The run's event writer. On resume, TensorBoard purges every event from ``start`` on, the
    checkpoint's own evaluation included: write that evaluation again after the purge."""
    writer = SummaryWriter(out, purge_step=start if resumed else None)
    if resumed and history and history[-1]["step"] == start:
        writer.add_scalars({f"eval/{k}": history[-1][k] for k in _EVAL_KEYS}, start)
    return writer


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
    Ctrl-C does, with ``metrics.json`` status "interrupted"); on a GPU, where losses are read once
    per monitoring interval, the calls for an interval's steps come together at its end.
    PyTorch's thread count and determinism flags are set for the run and restored after it.
    An explicit ``precision="bf16"`` without native bf16 warns (:class:`hardware.SlowPrecisionWarning`).
    ``config.on_divergence``: "stop" ends a diverged run (status diverged); "warn" only says so for
    the rules beyond a non-finite loss (which always stops).

    Resuming a run that already completed its steps changes nothing and returns its metrics with
    ``already_complete: True`` added (not written).

    Raises :class:`UsageError` for bad settings (before any data is read) or a folder in use or
    holding another run, and :class:`TrainingDiverged` (a ``UsageError``) when the run diverges.
    """
    config.validate()
    if config.name is not None and config.out is None:
        runs.check_name(config.name)
    check_resources(config)
    out = config.out_dir()
    with runs.claimed(out):
        checkpoint = _prepare_folder(config, out)
        done = _completed_metrics(config, out, checkpoint)
        if done is not None:
            return {**done, "already_complete": True}
        if data is None:
            data = load_data(config, progress)
        n_train = len(data.train.labels)
        if config.batch_size > n_train:
            raise UsageError(f"--batch-size: {config.batch_size} is larger than the {n_train} training images")
        used = _resolve_hardware(config)
        with hardware.applied(used), _restored_iterator(data.train):
            return _run(config, data, out, checkpoint, progress, callback, used)


# ----------------------------------------------------------------------------- hardware


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


def _run(
    config: TrainConfig,
    data: Any,
    out: Path,
    checkpoint: dict[str, Any] | None,
    progress: bool,
    callback: Callable[[int, float], None] | None,
    used: hardware.Hardware,
) -> dict[str, Any]:
    device = torch.device(used.device)
    torch.manual_seed(config.seed)
    # channels_last: oneDNN's convolutions run in NHWC; keeping the weights there avoids reorders.
    model = DCN(config.activation, config.init, config.dropout).to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    start, history, wall_before = 0, [], 0.0
    if checkpoint is not None:
        _restore(checkpoint, model, optimizer, data, out)
        start, history, wall_before = checkpoint["step"], checkpoint["history"], checkpoint["wall_seconds"]
    runs.write_strict_json(out / "config.json", config.to_dict())

    autocast = make_autocast(device, used.precision)
    batches = DeviceBatches(data.train, device)
    validation = _as_tensor(data.validation.images, data.validation.labels, device)
    test = _as_tensor(data.test.images, data.test.labels, device)
    eval_batch = _eval_batch(device)
    steps_per_epoch = len(data.train.labels) / config.batch_size
    chance = chance_accuracy(data.validation.labels)
    watch = DivergenceWatch(window=config.monitor_every)
    if checkpoint is not None and "watch" in checkpoint:  # checkpoints before the watch was kept lack it
        watch.load_state_dict(checkpoint["watch"])
    warned: list[str] = []
    say = _printer(progress)
    losses = LossBuffer(every_step=_reads_loss_every_step(device))

    def finish(status: str, steps_done: int, wall: float, **extra: Any) -> dict[str, Any]:
        metrics = _metrics(
            config, model, history, status, steps_done, wall_before + wall, steps_done - start, wall,
            **used.as_dict(), **extra,
        )  # fmt: skip
        runs.write_strict_json(out / "metrics.json", metrics)
        return metrics

    def diverged(reason: str, step: int, loss_value: float, fatal: bool) -> None:
        """Stop the run as diverged (or, in warn mode and while the loss is finite, say so once)."""
        message = (
            f"training diverged at step {step}: {reason} with {config.optimizer} at learning rate "
            f"{config.learning_rate:g}; try a smaller --lr"
        )
        if config.on_divergence == "warn" and not fatal:
            if not warned:  # once: the rules keep firing while the run stays diverged
                warned.append(reason)
                _warn(f"warning: {message} (carrying on: --on-divergence warn)")
            return
        metrics = finish(
            "diverged",
            step,
            time.perf_counter() - began,
            diverged_at_step=step,
            diverged_loss=loss_value,
            diverged_reason=reason,
        )
        raise TrainingDiverged(f"{message} (logs and metrics are in {out})", metrics)

    def read_losses(step: int, capture: dict[str, torch.Tensor] | None) -> list[tuple[int, float]]:
        """Write the pending steps' ``train/loss`` and watch them: stop the run at the first non-finite
        one (the weights are summarised as they are at ``step``, the step being taken); keep the first
        other divergence reason in ``pending`` for after this step's summaries."""
        read = losses.read()
        for at, value in read:
            writer.add_scalar("train/loss", value, at)
            reason = watch.loss(value)
            if reason is not None and not math.isfinite(value):
                write_summaries(writer, model, capture, step)
                diverged(reason, at, value, fatal=True)
            if reason is not None and not pending:
                pending.append((reason, at, value))
            recent_losses.append(value)
            latest[0] = value
        return read

    bar = progress_bar(config.steps, enabled=progress, initial=start, desc=config.run_name(), unit="step")
    writer = _open_writer(out, start, history, resumed=checkpoint is not None)
    began = time.perf_counter()
    completed = start  # steps whose update has been applied
    recent_losses: list[float] = []
    latest = [math.nan]  # the last loss read
    try:
        model.train()
        for step in range(start, config.steps):
            x, y = batches.next_batch(config.batch_size)
            monitor = step % config.monitor_every == 0 or step == config.steps - 1
            capture: dict[str, torch.Tensor] | None = {} if monitor else None
            logits, loss = forward_backward(model, optimizer, x.view(-1, 1, 28, 28), y, autocast, capture)
            losses.add(step, loss)
            pending: list[tuple[str, int, float]] = []
            read = read_losses(step, capture) if losses.due(monitor) else []
            if monitor:
                accuracy = (logits.argmax(1) == y).float().mean().item()
                writer.add_scalar("train/accuracy", accuracy, step)
                write_summaries(writer, model, capture, step)
                del capture
            if pending:
                diverged(*pending[0], fatal=False)
            _apply_schedule(optimizer, config, step)
            optimizer.step()
            completed = done = step + 1
            evaluating = done % config.eval_every == 0 or done == config.steps
            if losses.due(evaluating):
                read += read_losses(step, None)
                if pending:
                    diverged(*pending[0], fatal=False)
            if bar is not None:
                bar.update(1)
                if read and (step % 10 == 0 or len(read) > 1):
                    bar.set_postfix(loss=f"{read[-1][1]:.4f}", refresh=False)
            if evaluating:
                record = _evaluate_all(
                    model, validation, test, autocast, eval_batch, done, steps_per_epoch, recent_losses
                )
                recent_losses = []
                history.append(record)
                writer.add_scalars({f"eval/{k}": record[k] for k in _EVAL_KEYS}, done)
                writer.flush()
                say(
                    f"step {done}/{config.steps} (epoch {record['epoch']:.2f}): validation error "
                    f"{record['validation_error']:.2%}, test error {record['test_error']:.2%}"
                )
                reason = watch.accuracy(record["validation_accuracy"], chance, record["epoch"])
                if reason is not None:
                    diverged(reason, done, latest[0], fatal=False)
                save_checkpoint(
                    out / CHECKPOINT_NAME,
                    {
                        "format": CHECKPOINT_FORMAT,
                        "step": done,
                        "config": config.to_dict(),
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "random": random_states(device),
                        "data": batches.state_dict(),
                        "history": history,
                        "wall_seconds": wall_before + time.perf_counter() - began,
                        "watch": watch.state_dict(),
                    },
                )
            if callback is not None:
                for at, value in read:
                    callback(at, value)
        return finish("completed", config.steps, time.perf_counter() - began)
    except KeyboardInterrupt:
        for at, value in losses.read():  # steps taken but not yet logged (a GPU's buffered losses)
            writer.add_scalar("train/loss", value, at)
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
    batch_size: int,
    done: int,
    steps_per_epoch: float,
    recent_losses: list[float],
) -> dict[str, float]:
    val_acc = evaluate(model, *validation, autocast, batch_size)
    test_acc = evaluate(model, *test, autocast, batch_size)
    return runs.evaluation_record(done, steps_per_epoch, recent_losses, val_acc, test_acc)


def _metrics(
    config: TrainConfig,
    model: DCN,
    history: list[dict[str, float]],
    status: str,
    steps_done: int,
    wall_total: float,
    session_steps: int,
    session_wall: float,
    **extra: Any,
) -> dict[str, Any]:
    """The run's ``metrics.json`` (:func:`backproplab.runs.metrics_record`). The speed is this
    session's; a session that took no step (a resume at the last checkpoint) reports the run's."""
    last = history[-1] if history else {}
    flops = flops_per_step(config.batch_size, model.act.pieces)
    if session_steps > 0 and session_wall > 0:
        rate: float | None = session_steps / session_wall
    else:
        rate = steps_done / wall_total if steps_done > 0 and wall_total > 0 else None
    final = {
        "steps_done": steps_done,
        **{key: last.get(key) for key in _EVAL_KEYS},
        "parameter_count": count_parameters(model),
        "gflop_per_step": flops / 1e9,
        "gflops_per_second": None if rate is None else flops * rate / 1e9,
        **extra,
    }
    curves = {key: [record[key] for record in history] for key in ("step", "epoch", "train_loss", *_EVAL_KEYS)}
    return runs.metrics_record(ENGINE, status, config.to_dict(), final, curves, wall_total, rate)


def _warn(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def _printer(progress: bool) -> Callable[[str], None]:
    if not progress:
        return lambda message: None
    from tqdm.auto import tqdm

    return tqdm.write
