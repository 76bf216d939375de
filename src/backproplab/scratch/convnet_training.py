"""Train the NumPy :class:`ConvNet` on MNIST exactly as the PyTorch DCN is trained: ``train(config) -> metrics``.

The run takes the DCN's :class:`~backproplab.dcn.config.TrainConfig` and writes the DCN's run folder
under the same TensorBoard tag contract (:data:`backproplab.dcn.choices.MONITORED`), so the figures,
the report and the sweep summaries read either engine's runs alike:

- ``train/loss`` every step; every ``monitor_every`` steps (and at the first and last step)
  ``train/accuracy`` on the batch and, for every monitored tensor, its histogram and
  ``<name>/{min,max,mean,std,nonfinite}``; every ``eval_every`` steps (and at the end)
  ``eval/validation_error``, ``eval/test_error``, ``eval/validation_accuracy``, ``eval/test_accuracy``.
- ``config.json`` first (with ``"engine": "numpy"``); ``metrics.json`` at the end, also when the run
  diverges or is interrupted, in the layout of :mod:`backproplab.runs` (the torch engine's keys, with
  ``"engine": "numpy"``); ``checkpoint.npz`` after each evaluation (:mod:`.convnet_checkpoint`: arrays
  and JSON, never a pickle), from which ``resume=True`` continues to the same weights as an
  uninterrupted run.

What the NumPy engine cannot do is refused with a one-line :class:`UsageError` before any data is
read: ``--device`` other than cpu, ``--precision bf16``, activations outside the NumPy registry
(gelu) and optimizers outside :mod:`backproplab.scratch.optimizers` (adadelta, adamw). ``threads``
limits the BLAS threads. This module never imports torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import hints, limits, runs
from backproplab.dcn.choices import ACTIVATIONS as DCN_ACTIVATIONS
from backproplab.dcn.choices import MONITORED
from backproplab.dcn.choices import OPTIMIZERS as DCN_OPTIMIZERS
from backproplab.dcn.config import TRAJECTORY_FIELDS, TrainConfig
from backproplab.divergence import DivergenceWatch, chance_accuracy
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.hardware import usable_cores
from backproplab.monitoring import SummaryWriter, tensor_stats
from backproplab.progress import progress_bar
from backproplab.scratch import convnet_checkpoint
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.convnet import LAYERS, ConvNet
from backproplab.scratch.optimizers import OPTIMIZERS, Optimizer, make_optimizer

ENGINE = "numpy"
#: The command that trains it (for the commands a message suggests).
COMMAND = "dcn"
CHECKPOINT_NAME = convnet_checkpoint.NAME
EVAL_BATCH = 250  # im2col of conv2 holds 250 * 196 * 800 floats (157 MB) at a time
EVAL_KEYS = ("validation_error", "test_error", "validation_accuracy", "test_accuracy")
#: Files of this engine's runs beyond runs.COMMON_FILES (the format-1 pickle is cleared by --overwrite).
_OWN_FILES = (CHECKPOINT_NAME, "checkpoint.pkl")


class _CpuConfig(TrainConfig):
    def _validate_device(self) -> None:  # the generic check imports torch; this engine is CPU-only anyway
        pass


def check_config(config: TrainConfig) -> TrainConfig:
    """Raise :class:`UsageError` for a bad setting or one the NumPy engine does not have; return ``config``."""
    _CpuConfig(**dataclasses.asdict(config)).validate()
    if config.device != "cpu":
        raise UsageError(f"--device {config.device}: the numpy engine runs on the CPU only; drop --device")
    if config.precision not in ("auto", "fp32"):
        raise UsageError(f"--precision {config.precision}: the numpy engine computes in fp32 only; use --engine torch")
    supported = hints.offered(DCN_ACTIVATIONS, [*ACTIVATIONS, "maxout"])  # suggest only what --activation takes
    if config.activation not in supported:
        raise UsageError(
            f"--activation {config.activation}: not in the numpy engine; choose one of: {', '.join(supported)}"
        )
    if config.optimizer not in OPTIMIZERS:
        optimizers = hints.offered(DCN_OPTIMIZERS, OPTIMIZERS)
        raise UsageError(
            f"--optimizer {config.optimizer}: not in the numpy engine; choose one of: {', '.join(optimizers)}"
        )
    return config


def load_data(config: TrainConfig, progress: bool = True):  # -> mnist.Datasets
    """MNIST as the config asks: the DCN's split and batch order (from ``config.seed``)."""
    from backproplab.datasets import mnist

    return mnist.load(
        data_dir=config.data_dir, validation_size=config.validation_size, seed=config.seed, progress=progress
    )


def write_summaries(writer: SummaryWriter, net: ConvNet, capture: dict[str, np.ndarray] | None, step: int) -> None:
    """Histograms and statistics of every monitored tensor available (parameters always, inner
    tensors when ``capture`` holds them), under the DCN's tags."""
    tensors: dict[str, np.ndarray] = dict(capture or {})
    for layer in LAYERS:
        tensors[f"{layer}/weights"], tensors[f"{layer}/biases"] = net.parameters_of(layer)
    for name in MONITORED:
        if name in tensors:
            writer.add_stats(name, tensor_stats(np.ravel(tensors[name])), step)


def accuracy(net: ConvNet, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``images`` (N, 784) classified as ``labels`` (N,), dropout off."""
    return float(np.mean(net.predict(images, EVAL_BATCH) == labels))


@contextlib.contextmanager
def _blas_threads(threads: int | str | None) -> Iterator[None]:
    if threads == "auto":
        threads = usable_cores()
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


@contextlib.contextmanager
def _restored_iterator(dataset: Any) -> Iterator[None]:
    # A preloaded data object may be shared by several runs: leave its batch order as found.
    state = dataset.state_dict()
    try:
        yield
    finally:
        dataset.load_state_dict(state)


def _prepare_folder(config: TrainConfig, out: Path) -> bool:
    """Whether there is a checkpoint to resume from; else make ``out`` ready for a new run (refusing a
    run already there unless --overwrite). ``out`` must be claimed."""
    has_checkpoint = (out / CHECKPOINT_NAME).is_file()
    if not config.resume:
        runs.refuse_or_clear(out, COMMAND, overwrite=config.overwrite, patterns=_OWN_FILES, resumable=has_checkpoint)
        return False
    if not has_checkpoint:
        if runs.run_files(out, _OWN_FILES):
            raise UsageError(
                f"{out} holds a run that stopped before its first checkpoint, so there is nothing to resume; "
                f"start it again with: {runs.command_hint(COMMAND, out, '--overwrite')}"
            )
        raise UsageError(f"no numpy-engine run in {out} to resume; start one without --resume")
    return True


def _completed_metrics(config: TrainConfig, out: Path, checkpoint: dict[str, Any]) -> dict[str, Any] | None:
    """On --resume of a run that already completed its steps: its metrics (nothing is touched)."""
    if checkpoint["step"] != config.steps:
        return None
    try:
        saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the final metrics were not written: finish the run again from its checkpoint
    return saved if isinstance(saved, dict) and saved.get("status") == "completed" else None


def train(
    config: TrainConfig,
    data: Any = None,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train the NumPy ConvNet as ``config`` says; return the metrics also written to ``metrics.json``.

    ``data``, ``progress`` and ``callback`` as in :func:`backproplab.dcn.training.train` (a preloaded
    MNIST object is left with its batch order as found); the folder is claimed as there
    (:func:`backproplab.runs.claimed`) and divergence judged by the same rules and
    ``config.on_divergence``. Raises :class:`UsageError` for bad or unsupported settings (before any
    data is read) and :class:`TrainingDiverged` when the run diverges. Resuming a run that already
    completed its steps changes nothing and returns its metrics with ``already_complete: True``.
    """
    config = dataclasses.replace(check_config(config), engine=ENGINE)  # what ran, in config.json too
    if config.name is not None and config.out is None:
        runs.check_name(config.name)
    limits.check_threads(config.threads)
    out = config.out_dir()
    with runs.claimed(out):
        net = ConvNet(config.activation, config.init, config.dropout, seed=config.seed, dtype=np.float32)
        optimizer = make_optimizer(config.optimizer, net.parameters(), config.learning_rate)
        checkpoint = None
        if _prepare_folder(config, out):
            checkpoint = convnet_checkpoint.load(out / CHECKPOINT_NAME, net.params, optimizer.params)
            runs.check_resumable(out, checkpoint["config"], checkpoint["step"], config, TRAJECTORY_FIELDS)
            done = _completed_metrics(config, out, checkpoint)
            if done is not None:
                return {**done, "already_complete": True}
        if data is None:
            data = load_data(config, progress)
        if config.batch_size > len(data.train.labels):
            raise UsageError(
                f"--batch-size: {config.batch_size} is larger than the {len(data.train.labels)} training images"
            )
        # A diverging run overflows on its way to a non-finite loss, which _run reports as TrainingDiverged.
        quiet_overflow = np.errstate(over="ignore", invalid="ignore", divide="ignore")
        with _restored_iterator(data.train), _blas_threads(config.threads), quiet_overflow:
            return _run(config, data, out, net, optimizer, checkpoint, progress, callback)


def _restore(path: Path, checkpoint: dict[str, Any], net: ConvNet, optimizer: Optimizer, data: Any) -> None:
    """Put a checked checkpoint into the network, optimizer, dropout generator and batch order."""
    net.load_state_dict(checkpoint["model"])
    optimizer.t = checkpoint["optimizer"]["t"]
    optimizer.state = checkpoint["optimizer"]["state"]
    try:
        net.rng.bit_generator.state = checkpoint["rng"]
        data.train.load_state_dict(checkpoint["data"])
    except (KeyError, TypeError, ValueError) as exc:
        raise runs.damaged_checkpoint(path, f"does not match this run ({exc})") from None


def _run(
    config: TrainConfig,
    data: Any,
    out: Path,
    net: ConvNet,
    optimizer: Optimizer,
    checkpoint: dict[str, Any] | None,
    progress: bool,
    callback: Callable[[int, float], None] | None,
) -> dict[str, Any]:
    watch = DivergenceWatch(window=config.monitor_every)
    start, history, wall_before = 0, [], 0.0
    resuming = checkpoint is not None
    if checkpoint is not None:
        _restore(out / CHECKPOINT_NAME, checkpoint, net, optimizer, data)
        start, history, wall_before = checkpoint["step"], checkpoint["history"], checkpoint["wall_seconds"]
        watch.first_loss = checkpoint["watch"].get("first_loss")
        watch.steps_above = int(checkpoint["watch"].get("steps_above", 0))
    runs.write_strict_json(out / "config.json", config.to_dict())
    steps_per_epoch = len(data.train.labels) / config.batch_size
    chance = chance_accuracy(data.validation.labels)
    warned: list[str] = []
    say = (lambda message: None) if not progress else _tqdm_write()
    threads = usable_cores() if config.threads == "auto" else config.threads

    def finish(status: str, steps_done: int, wall: float, **extra: Any) -> dict[str, Any]:
        metrics = _metrics(
            config, net, history, status, steps_done, wall_before + wall, steps_done - start, wall,
            threads=threads, **extra,
        )  # fmt: skip
        runs.write_strict_json(out / "metrics.json", metrics)
        return metrics

    def diverged(reason: str, step: int, loss_value: float, fatal: bool) -> None:
        message = (
            f"training diverged at step {step}: {reason} with {config.optimizer} at learning rate "
            f"{config.learning_rate:g}; try a smaller --lr"
        )
        if config.on_divergence == "warn" and not fatal:
            if not warned:
                warned.append(reason)
                _warn(f"warning: {message} (carrying on: --on-divergence warn)")
            return
        metrics = finish(
            "diverged", step, time.perf_counter() - began,
            diverged_at_step=step, diverged_loss=loss_value, diverged_reason=reason,
        )  # fmt: skip
        raise TrainingDiverged(f"{message} (logs and metrics are in {out})", metrics)

    bar = progress_bar(config.steps, enabled=progress, initial=start, desc=config.run_name(), unit="step")
    writer = SummaryWriter(out, purge_step=start if resuming else None)
    if resuming and history and history[-1]["step"] == start:  # the purge removed the checkpoint's evaluation
        writer.add_scalars({f"eval/{k}": history[-1][k] for k in EVAL_KEYS}, start)
    began = time.perf_counter()
    completed = start
    recent_losses: list[float] = []
    try:
        for step in range(start, config.steps):
            x, y = data.train.next_batch(config.batch_size)
            monitor = step % config.monitor_every == 0 or step == config.steps - 1
            capture: dict[str, np.ndarray] | None = {} if monitor else None
            logits, loss = net.loss_and_gradients(x, y, capture=capture)
            writer.add_scalar("train/loss", loss, step)
            reason = watch.loss(loss)
            if reason is not None and not math.isfinite(loss):
                write_summaries(writer, net, capture, step)
                diverged(reason, step, loss, fatal=True)
            if monitor:
                writer.add_scalar("train/accuracy", float(np.mean(logits.argmax(1) == y)), step)
                write_summaries(writer, net, capture, step)
                del capture
            if reason is not None:
                diverged(reason, step, loss, fatal=False)
            optimizer.step(net.gradients())
            completed = done = step + 1
            recent_losses.append(loss)
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            if done % config.eval_every == 0 or done == config.steps:
                record = _evaluate_all(net, data, done, steps_per_epoch, recent_losses)
                recent_losses = []
                history.append(record)
                writer.add_scalars({f"eval/{k}": record[k] for k in EVAL_KEYS}, done)
                writer.flush()
                say(
                    f"step {done}/{config.steps} (epoch {record['epoch']:.2f}): validation error "
                    f"{record['validation_error']:.2%}, test error {record['test_error']:.2%}"
                )
                reason = watch.accuracy(record["validation_accuracy"], chance, record["epoch"])
                if reason is not None:
                    diverged(reason, done, loss, fatal=False)
                convnet_checkpoint.save(
                    out / CHECKPOINT_NAME,
                    {
                        "step": done,
                        "config": config.to_dict(),
                        "rng": net.rng.bit_generator.state,
                        "history": history,
                        "wall_seconds": wall_before + time.perf_counter() - began,
                        "watch": {"first_loss": watch.first_loss, "steps_above": watch.steps_above},
                    },
                    net.params,
                    {"t": optimizer.t, "state": optimizer.state},
                    data.train.state_dict(),
                )
            if callback is not None:
                callback(step, loss)
        return finish("completed", config.steps, time.perf_counter() - began)
    except KeyboardInterrupt:
        finish("interrupted", completed, time.perf_counter() - began)
        raise
    finally:
        writer.close()
        if bar is not None:
            bar.close()


def _evaluate_all(
    net: ConvNet, data: Any, done: int, steps_per_epoch: float, recent_losses: list[float]
) -> dict[str, float]:
    val_acc = accuracy(net, data.validation.images, data.validation.labels)
    test_acc = accuracy(net, data.test.images, data.test.labels)
    return runs.evaluation_record(done, steps_per_epoch, recent_losses, val_acc, test_acc)


def _metrics(
    config: TrainConfig,
    net: ConvNet,
    history: list[dict[str, float]],
    status: str,
    steps_done: int,
    wall_total: float,
    session_steps: int,
    session_wall: float,
    **extra: Any,
) -> dict[str, Any]:
    """The run's ``metrics.json`` (:func:`backproplab.runs.metrics_record`, the torch engine's keys).
    The speed is this session's; a session that took no step reports the run's."""
    last = history[-1] if history else {}
    flops = net.flops_per_step(config.batch_size)
    if session_steps > 0 and session_wall > 0:
        rate: float | None = session_steps / session_wall
    else:
        rate = steps_done / wall_total if steps_done > 0 and wall_total > 0 else None
    final = {
        "steps_done": steps_done,
        **{key: last.get(key) for key in EVAL_KEYS},
        "parameter_count": net.parameter_count(),
        "gflop_per_step": flops / 1e9,
        "gflops_per_second": None if rate is None else flops * rate / 1e9,
        "device": "cpu",
        "precision": "fp32",
        **extra,
    }
    curves = {key: [record[key] for record in history] for key in ("step", "epoch", "train_loss", *EVAL_KEYS)}
    return runs.metrics_record(ENGINE, status, config.to_dict(), final, curves, wall_total, rate)


def _warn(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def _tqdm_write() -> Callable[[str], None]:
    from tqdm.auto import tqdm

    return tqdm.write
