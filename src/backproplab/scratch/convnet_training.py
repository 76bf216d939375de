"""Train the NumPy :class:`ConvNet` on MNIST exactly as the PyTorch DCN is trained: ``train(config) -> metrics``.

The run takes the DCN's :class:`~backproplab.dcn.config.TrainConfig` and writes the DCN's run folder
under the same TensorBoard tag contract (:data:`backproplab.dcn.choices.MONITORED`), so the figures,
the report and the sweep summaries read either engine's runs alike:

- ``train/loss`` every step; every ``monitor_every`` steps (and at the first and last step)
  ``train/accuracy`` on the batch and, for every monitored tensor, its histogram and
  ``<name>/{min,max,mean,std,nonfinite}``; every ``eval_every`` steps (and at the end)
  ``eval/validation_error``, ``eval/test_error``, ``eval/validation_accuracy``, ``eval/test_accuracy``.
- ``config.json`` first (with ``"engine": "numpy"``); ``metrics.json`` at the end, also when the run
  diverges or is interrupted; ``checkpoint.pkl`` after each evaluation, from which ``resume=True``
  continues to the same weights as an uninterrupted run.

What the NumPy engine cannot do is refused with a one-line :class:`UsageError` before any data is
read: ``--device`` other than cpu, ``--precision bf16``, activations outside the NumPy registry
(gelu) and optimizers outside :mod:`backproplab.scratch.optimizers` (adadelta, adamw). ``threads``
limits the BLAS threads. This module never imports torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.dcn.choices import MONITORED
from backproplab.dcn.config import TRAJECTORY_FIELDS, TrainConfig
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.hardware import usable_cores
from backproplab.io import write_bytes, write_json
from backproplab.monitoring import SummaryWriter, tensor_stats
from backproplab.progress import progress_bar
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.convnet import LAYERS, ConvNet
from backproplab.scratch.optimizers import OPTIMIZERS, Optimizer, make_optimizer

ENGINE = "numpy"
CHECKPOINT_NAME = "checkpoint.pkl"
EVAL_BATCH = 250  # im2col of conv2 holds 250 * 196 * 800 floats (157 MB) at a time
EVAL_KEYS = ("validation_error", "test_error", "validation_accuracy", "test_accuracy")
_RUN_FILES = ("config.json", "metrics.json", CHECKPOINT_NAME)


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
    supported = [*ACTIVATIONS, "maxout"]
    if config.activation not in supported:
        raise UsageError(
            f"--activation {config.activation}: not in the numpy engine; choose one of: {', '.join(supported)}"
        )
    if config.optimizer not in OPTIMIZERS:
        raise UsageError(
            f"--optimizer {config.optimizer}: not in the numpy engine; choose one of: {', '.join(OPTIMIZERS)}"
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


def _load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UsageError(f"--resume: no numpy-engine checkpoint {path}; start the run without --resume")
    try:
        checkpoint = pickle.loads(path.read_bytes())
        if checkpoint.get("engine") != ENGINE:
            raise ValueError("not a numpy-engine checkpoint")
    except Exception as exc:  # a damaged file can fail in many ways inside pickle
        raise UsageError(f"--resume: cannot read the checkpoint {path} ({exc}); start again with --overwrite") from None
    return checkpoint


def _prepare_folder(config: TrainConfig, out: Path) -> dict[str, Any] | None:
    """Return the checkpoint to resume from, or check that ``out`` may receive a new run."""
    if config.resume:
        checkpoint = _load_checkpoint(out / CHECKPOINT_NAME)
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


def train(
    config: TrainConfig,
    data: Any = None,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train the NumPy ConvNet as ``config`` says; return the metrics also written to ``metrics.json``.

    ``data``, ``progress`` and ``callback`` as in :func:`backproplab.dcn.training.train` (a preloaded
    MNIST object is left with its batch order as found). Raises :class:`UsageError` for bad or
    unsupported settings (before any data is read) and :class:`TrainingDiverged` on a non-finite loss.
    """
    check_config(config)
    out = config.out_dir()
    checkpoint = _prepare_folder(config, out)
    if data is None:
        data = load_data(config, progress)
    if config.batch_size > len(data.train.labels):
        raise UsageError(
            f"--batch-size: {config.batch_size} is larger than the {len(data.train.labels)} training images"
        )
    # A diverging run overflows on its way to a non-finite loss, which _run reports as TrainingDiverged.
    quiet_overflow = np.errstate(over="ignore", invalid="ignore", divide="ignore")
    with _restored_iterator(data.train), _blas_threads(config.threads), quiet_overflow:
        return _run(config, data, out, checkpoint, progress, callback)


def _run(
    config: TrainConfig,
    data: Any,
    out: Path,
    checkpoint: dict[str, Any] | None,
    progress: bool,
    callback: Callable[[int, float], None] | None,
) -> dict[str, Any]:
    net = ConvNet(config.activation, config.init, config.dropout, seed=config.seed, dtype=np.float32)
    optimizer = make_optimizer(config.optimizer, net.parameters(), config.learning_rate)
    start, history, wall_before = 0, [], 0.0
    if checkpoint is not None:
        net.load_state_dict(checkpoint["model"])
        optimizer.t, optimizer.state = checkpoint["optimizer"]["t"], checkpoint["optimizer"]["state"]
        net.rng.bit_generator.state = checkpoint["rng"]
        data.train.load_state_dict(checkpoint["data"])
        start, history, wall_before = checkpoint["step"], checkpoint["history"], checkpoint["wall_seconds"]
    write_json(out / "config.json", {**config.to_dict(), "engine": ENGINE})
    steps_per_epoch = len(data.train.labels) / config.batch_size
    say = (lambda message: None) if not progress else _tqdm_write()

    def finish(status: str, steps_done: int, wall: float, **extra: Any) -> dict[str, Any]:
        metrics = _metrics(config, net, history, status, steps_done, wall_before + wall, steps_done - start, wall)
        metrics.update(extra)
        write_json(out / "metrics.json", metrics)
        return metrics

    bar = progress_bar(config.steps, enabled=progress, initial=start, desc=config.run_name(), unit="step")
    writer = SummaryWriter(out, purge_step=start if checkpoint is not None else None)
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
            if not math.isfinite(loss):
                write_summaries(writer, net, capture, step)
                metrics = finish(
                    "diverged", step, time.perf_counter() - began, diverged_at_step=step, diverged_loss=loss
                )
                raise TrainingDiverged(
                    f"training diverged at step {step}: the loss became {loss} with {config.optimizer} at "
                    f"learning rate {config.learning_rate:g}; try a smaller --lr (logs and metrics are in {out})",
                    metrics,
                )
            if monitor:
                writer.add_scalar("train/accuracy", float(np.mean(logits.argmax(1) == y)), step)
                write_summaries(writer, net, capture, step)
                del capture
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
                _save_checkpoint(
                    out, config, net, optimizer, data, history, done, wall_before + time.perf_counter() - began
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


def _save_checkpoint(
    out: Path,
    config: TrainConfig,
    net: ConvNet,
    optimizer: Optimizer,
    data: Any,
    history: list[dict[str, float]],
    done: int,
    wall: float,
) -> None:
    state = {
        "format": 1,
        "engine": ENGINE,
        "step": done,
        "config": config.to_dict(),
        "model": net.state_dict(),
        "optimizer": {"t": optimizer.t, "state": optimizer.state},
        "rng": net.rng.bit_generator.state,
        "data": data.train.state_dict(),
        "history": history,
        "wall_seconds": wall,
    }
    write_bytes(out / CHECKPOINT_NAME, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))


def _evaluate_all(
    net: ConvNet, data: Any, done: int, steps_per_epoch: float, recent_losses: list[float]
) -> dict[str, float]:
    val_acc = accuracy(net, data.validation.images, data.validation.labels)
    test_acc = accuracy(net, data.test.images, data.test.labels)
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
    net: ConvNet,
    history: list[dict[str, float]],
    status: str,
    steps_done: int,
    wall_total: float,
    session_steps: int,
    session_wall: float,
) -> dict[str, Any]:
    last = history[-1] if history else {}
    flops = net.flops_per_step(config.batch_size)
    rate = session_steps / session_wall if session_wall > 0 and session_steps > 0 else math.nan
    return {
        "status": status,
        "steps_done": steps_done,
        **{key: last.get(key, math.nan) for key in EVAL_KEYS},
        "curves": {key: [record[key] for record in history] for key in ("step", "epoch", "train_loss", *EVAL_KEYS)},
        "wall_seconds": wall_total,
        "steps_per_second": rate,
        "parameter_count": net.parameter_count(),
        "gflop_per_step": flops / 1e9,
        "gflops_per_second": flops * rate / 1e9,
        "device": "cpu",
        "threads": usable_cores() if config.threads == "auto" else config.threads,
        "engine": ENGINE,
        "config": {**config.to_dict(), "engine": ENGINE},
    }


def _tqdm_write() -> Callable[[str], None]:
    from tqdm.auto import tqdm

    return tqdm.write
