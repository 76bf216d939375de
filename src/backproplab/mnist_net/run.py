"""The run loop of the MNIST network, one for both engines: ``train(config) -> metrics``.

One run writes to its own folder (``config.out_dir()``), whichever engine ``config.engine`` names
(:func:`~backproplab.mnist_net.engine.engine_for`):

- TensorBoard event files: ``train/loss`` every step; every ``monitor_every`` steps (and at the
  first and last step) ``train/accuracy`` on the current batch, ``train/learning_rate`` (the rate of
  that step's update, read back from the optimizer) and, for each tensor in
  :data:`~backproplab.mnist_net.contract.MONITORED`, the histogram ``<name>`` and scalars
  ``<name>/{min,max,mean,std,nonfinite}`` on the current batch; every ``eval_every`` steps (and at
  the end) ``eval/<key>`` for :data:`~backproplab.mnist_net.contract.EVAL_KEYS` over the whole sets.
  With ``eval_images`` set, the evaluations before the last score only the first ``eval_images``
  validation images and skip the test set: their ``eval/test_*`` tags are not written and their
  test numbers in the curves are NaN (null in metrics.json); the last evaluation scores both whole
  sets, and training is the same step for step (evaluation draws no random numbers). Each curve
  point records how many validation images it scored (``validation_images``).
  Training tags use the index of the step being taken (0 .. steps-1); evaluation tags use the
  number of steps done (1100 = one epoch of 55,000 images in batches of 50).
- ``config.json`` (every setting), written first; ``metrics.json`` at the end, also when the run
  diverges or is interrupted (``status``: completed, diverged or interrupted), in the layout of
  :mod:`backproplab.runs`.
- the engine's checkpoint after each evaluation, atomically; ``resume=True`` continues from it and
  ends with the same weights as an uninterrupted run. The resumed event file purges the interrupted
  attempt's events from the checkpoint's step on and writes the checkpoint's evaluation again.

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backproplab import runs
from backproplab.divergence import DivergenceWatch, chance_accuracy
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.mnist_net.config import TRAJECTORY_FIELDS, TrainConfig
from backproplab.mnist_net.contract import (
    EVAL_KEYS,
    LEARNING_RATE_TAG,
    MONITORED,
    VALIDATION_IMAGES,
    learning_rate_at,
)
from backproplab.mnist_net.engine import Engine, engine_for
from backproplab.monitoring import SummaryWriter, tensor_stats
from backproplab.progress import progress_bar

#: The command that trains the network (for the commands a message suggests).
COMMAND = "dcn"


def load_data(config: TrainConfig, progress: bool = True):  # -> mnist.Datasets
    """MNIST as the config asks: 55,000/5,000 train/validation split, batch order from ``config.seed``."""
    from backproplab.datasets import mnist

    return mnist.load(
        data_dir=config.data_dir, validation_size=config.validation_size, seed=config.seed, progress=progress
    )


def train(
    config: TrainConfig,
    data: Any = None,
    progress: bool = True,
    callback: Callable[[int, float], None] | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Train the network with the engine ``config.engine`` names; return the metrics also written to
    ``metrics.json``.

    ``engine``: a new engine to run instead (the report's run of a learner's DCN,
    :mod:`backproplab.exercise.learner_dcn`); everything else is this loop's as for any run.

    ``data``: a preloaded MNIST object (``mnist.load(...)``; it must have ``train``, ``validation``
    and ``test`` with ``images``, ``labels``, ``next_batch``, ``state_dict``/``load_state_dict``).
    Its iterator is left as found, so a sweep can share it. None: load it from ``config.data_dir``.
    ``callback(step, loss)`` is called after every step, and after its evaluation and checkpoint
    when it has them (a sweep's own progress; raising KeyboardInterrupt in it stops the run as
    Ctrl-C does, with ``metrics.json`` status "interrupted"); where an engine reads losses once per
    monitoring interval (torch on a GPU), the calls for an interval's steps come together at its end.
    ``config.on_divergence``: "stop" ends a diverged run (status diverged); "warn" only says so for
    the rules beyond a non-finite loss (which always stops).

    Resuming a run that already completed its steps changes nothing and returns its metrics with
    ``already_complete: True`` added (not written).

    Raises :class:`UsageError` for a setting the engine does not have or the machine cannot run
    (before any data is read), a folder in use or holding another run, and :class:`TrainingDiverged`
    (a ``UsageError``) when the run diverges.
    """
    engine = engine_for(config) if engine is None else engine
    engine.check(config)
    out = config.out_dir()
    with runs.claimed(out):
        resuming = _prepare_folder(config, engine, out)
        with engine.session(config) as hardware:
            engine.build(config)
            checkpoint = None
            if resuming:
                checkpoint = engine.load_checkpoint(out / engine.checkpoint_name)
                runs.check_resumable(out, checkpoint["config"], checkpoint["step"], config, TRAJECTORY_FIELDS)
                done = _completed_metrics(config, out, checkpoint)
                if done is not None:
                    return {**done, "already_complete": True}
            if data is None:
                data = load_data(config, progress)
            n_train = len(data.train.labels)
            if config.batch_size > n_train:
                raise UsageError(f"--batch-size: {config.batch_size} is larger than the {n_train} training images")
            with _restored_iterator(data.train):
                return _Run(config, engine, data, out, checkpoint, progress, callback, hardware).loop()


def _prepare_folder(config: TrainConfig, engine: Engine, out: Path) -> bool:
    """Whether there is a checkpoint to resume from; else make ``out`` ready for a new run (refusing
    a run already there unless --overwrite). ``out`` must be claimed."""
    has_checkpoint = (out / engine.checkpoint_name).is_file()
    if not config.resume:
        runs.refuse_or_clear(
            out, COMMAND, overwrite=config.overwrite, patterns=engine.own_files, resumable=has_checkpoint
        )
        return False
    if not has_checkpoint:
        if runs.run_files(out, engine.own_files):
            raise UsageError(
                f"{out} holds a run that stopped before its first checkpoint, so there is nothing to resume; "
                f"start it again with: {runs.command_hint(COMMAND, out, '--overwrite')}"
            )
        raise UsageError(f"no {config.engine}-engine run in {out} to resume; start one without --resume")
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


@contextlib.contextmanager
def _restored_iterator(dataset: Any) -> Iterator[None]:
    # A preloaded data object is shared by the runs of a sweep: leave its batch order as found, so
    # that every run starting from it sees the same batches.
    state = dataset.state_dict()
    try:
        yield
    finally:
        dataset.load_state_dict(state)


def write_summaries(writer: SummaryWriter, tensors: dict[str, Any], step: int) -> None:
    """Histograms and min/max/mean/std/nonfinite of every tensor of :data:`MONITORED` in ``tensors``
    (flat float arrays by tag)."""
    for name in MONITORED:
        if name in tensors:
            writer.add_stats(name, tensor_stats(tensors[name]), step)


def write_evaluation(writer: SummaryWriter, record: dict[str, Any], done: int) -> None:
    """``eval/<key>`` of the numbers the evaluation measured (an evaluation on a validation subset has no test
    numbers: no point rather than a NaN or a stale one)."""
    writer.add_scalars({f"eval/{k}": record[k] for k in EVAL_KEYS if math.isfinite(record[k])}, done)


def _warn(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def _printer(progress: bool) -> Callable[[str], None]:
    if not progress:
        return lambda message: None
    from tqdm.auto import tqdm

    return tqdm.write


class _Run:
    """One session of a run: the loop over the steps and what it writes."""

    def __init__(
        self,
        config: TrainConfig,
        engine: Engine,
        data: Any,
        out: Path,
        checkpoint: dict[str, Any] | None,
        progress: bool,
        callback: Callable[[int, float], None] | None,
        hardware: dict[str, Any],
    ) -> None:
        self.config, self.engine, self.out = config, engine, out
        self.progress, self.callback, self.hardware = progress, callback, hardware
        self.watch = DivergenceWatch(window=config.monitor_every)
        self.start, self.history, self.wall_before = 0, [], 0.0
        self.resumed = checkpoint is not None
        if checkpoint is not None:
            engine.restore(out / engine.checkpoint_name, checkpoint, data.train)
            self.start, self.history = checkpoint["step"], checkpoint["history"]
            self.wall_before = checkpoint["wall_seconds"]
            if "watch" in checkpoint:  # checkpoints written before the watch was kept lack it
                self.watch.load_state_dict(checkpoint["watch"])
        runs.write_strict_json(out / "config.json", config.to_dict())
        self.batches = engine.batches(data.train)
        self.validation = engine.eval_set(data.validation.images, data.validation.labels)
        self.test = engine.eval_set(data.test.images, data.test.labels)
        self.subset = None  # the first eval_images validation images, for the evaluations before the last
        if config.eval_images is not None:
            n = config.eval_images
            self.subset = engine.eval_set(data.validation.images[:n], data.validation.labels[:n])
        self.validation_count = len(data.validation.labels)
        self.subset_count = min(config.eval_images or 0, self.validation_count)
        self.steps_per_epoch = len(data.train.labels) / config.batch_size
        self.chance = chance_accuracy(data.validation.labels)
        self.say = _printer(progress)
        self.losses = engine.losses()
        self.recent_losses: list[float] = []  # read since the last evaluation
        self.latest = math.nan  # the last loss read
        self.pending: list[tuple[str, int, float]] = []  # this step's first divergence reason, for after its summaries
        self.warned = False
        self.completed = self.start  # steps whose update has been applied
        self.began = time.perf_counter()
        self.writer = SummaryWriter(out, purge_step=self.start if self.resumed else None)

    # ------------------------------------------------------------------ endings

    def finish(self, status: str, steps_done: int, **extra: Any) -> dict[str, Any]:
        """Write and return ``metrics.json``. The speed is this session's; a session that took no step
        (a resume at the last checkpoint) reports the run's."""
        session_wall = time.perf_counter() - self.began
        wall_total = self.wall_before + session_wall
        session_steps = steps_done - self.start
        if session_steps > 0 and session_wall > 0:
            rate: float | None = session_steps / session_wall
        else:
            rate = steps_done / wall_total if steps_done > 0 and wall_total > 0 else None
        last = self.history[-1] if self.history else {}
        flops = self.engine.flops_per_step(self.config.batch_size)
        final = {
            "steps_done": steps_done,
            **{key: last.get(key) for key in EVAL_KEYS},
            "parameter_count": self.engine.parameter_count(),
            "gflop_per_step": flops / 1e9,
            "gflops_per_second": None if rate is None else flops * rate / 1e9,
            **self.hardware,
            **extra,
        }
        keys = ("step", "epoch", "train_loss", *EVAL_KEYS, VALIDATION_IMAGES)
        # .get: a checkpoint written before evaluations recorded their validation images lacks the count
        curves = {key: [record.get(key) for record in self.history] for key in keys}
        metrics = runs.metrics_record(
            self.config.engine, status, self.config.to_dict(), final, curves, wall_total, rate
        )
        runs.write_strict_json(self.out / "metrics.json", metrics)
        return metrics

    def diverged(self, reason: str, step: int, loss_value: float, fatal: bool) -> None:
        """Stop the run as diverged (or, in warn mode and while the loss is finite, say so once)."""
        config = self.config
        message = (
            f"training diverged at step {step}: {reason} with {config.optimizer} at learning rate "
            f"{config.learning_rate:g}; try a smaller --lr"
        )
        if config.on_divergence == "warn" and not fatal:
            if not self.warned:  # once: the rules keep firing while the run stays diverged
                self.warned = True
                _warn(f"warning: {message} (carrying on: --on-divergence warn)")
            return
        metrics = self.finish("diverged", step, diverged_at_step=step, diverged_loss=loss_value, diverged_reason=reason)
        raise TrainingDiverged(f"{message} (logs and metrics are in {self.out})", metrics)

    # ------------------------------------------------------------------ the loop

    def read_losses(self, step: int, capture: dict[str, Any] | None) -> list[tuple[int, float]]:
        """Write the pending steps' ``train/loss`` and watch them: stop the run at the first non-finite
        one (the weights are summarised as they are at ``step``, the step being taken); keep the first
        other divergence reason in ``self.pending`` for after this step's summaries."""
        read = self.losses.read()
        for at, value in read:
            self.writer.add_scalar("train/loss", value, at)
            reason = self.watch.loss(value)
            if reason is not None and not math.isfinite(value):
                write_summaries(self.writer, self.engine.monitored(capture), step)
                self.diverged(reason, at, value, fatal=True)
            if reason is not None and not self.pending:
                self.pending.append((reason, at, value))
            self.recent_losses.append(value)
            self.latest = value
        return read

    def evaluate(self, done: int) -> None:
        """Evaluate, log, judge and checkpoint after ``done`` steps."""
        config, engine, writer = self.config, self.engine, self.writer
        whole = self.subset is None or done == config.steps
        record = runs.evaluation_record(
            done,
            self.steps_per_epoch,
            self.recent_losses,
            engine.accuracy(self.validation if whole else self.subset),
            engine.accuracy(self.test) if whole else math.nan,
        )
        record[VALIDATION_IMAGES] = self.validation_count if whole else self.subset_count
        self.recent_losses = []
        self.history.append(record)
        write_evaluation(writer, record, done)
        writer.flush()
        scored = (
            f", test error {record['test_error']:.2%}"
            if whole
            else f" (first {self.subset_count} images; the test set at the end)"
        )
        self.say(
            f"step {done}/{config.steps} (epoch {record['epoch']:.2f}): validation error "
            f"{record['validation_error']:.2%}{scored}"
        )
        reason = self.watch.accuracy(record["validation_accuracy"], self.chance, record["epoch"])
        if reason is not None:
            self.diverged(reason, done, self.latest, fatal=False)
        meta = {
            "step": done,
            "config": config.to_dict(),
            "history": self.history,
            "wall_seconds": self.wall_before + time.perf_counter() - self.began,
            "watch": self.watch.state_dict(),
        }
        engine.save_checkpoint(self.out / engine.checkpoint_name, meta, self.batches.state_dict())

    def loop(self) -> dict[str, Any]:
        """Take the remaining steps; return the metrics written (raise on divergence or interrupt)."""
        config, engine, writer = self.config, self.engine, self.writer
        bar = progress_bar(config.steps, enabled=self.progress, initial=self.start, desc=config.run_name(), unit="step")
        if self.resumed and self.history and self.history[-1]["step"] == self.start:
            # the purge removed the checkpoint's own evaluation: write it again
            write_evaluation(writer, self.history[-1], self.start)
        self.began = time.perf_counter()
        try:
            for step in range(self.start, config.steps):
                x, y = self.batches.next_batch(config.batch_size)
                monitor = step % config.monitor_every == 0 or step == config.steps - 1
                capture: dict[str, Any] | None = {} if monitor else None
                logits, loss = engine.forward_backward(x, y, capture)
                self.losses.add(step, loss)
                self.pending = []
                read = self.read_losses(step, capture) if self.losses.due(monitor) else []
                if config.schedule != "constant":
                    engine.set_learning_rate(learning_rate_at(config, step))
                if monitor:
                    writer.add_scalar("train/accuracy", engine.batch_accuracy(logits, y), step)
                    writer.add_scalar(LEARNING_RATE_TAG, engine.learning_rate(), step)
                    write_summaries(writer, engine.monitored(capture), step)
                    capture = None
                if self.pending:
                    self.diverged(*self.pending[0], fatal=False)
                engine.update()
                self.completed = done = step + 1
                evaluating = done % config.eval_every == 0 or done == config.steps
                if self.losses.due(evaluating):
                    read += self.read_losses(step, None)
                    if self.pending:
                        self.diverged(*self.pending[0], fatal=False)
                if bar is not None:
                    bar.update(1)
                    if read and (step % 10 == 0 or len(read) > 1):
                        bar.set_postfix(loss=f"{read[-1][1]:.4f}", refresh=False)
                if evaluating:
                    self.evaluate(done)
                if self.callback is not None:
                    for at, value in read:
                        self.callback(at, value)
            return self.finish("completed", config.steps)
        except KeyboardInterrupt:
            for at, value in self.losses.read():  # steps taken but not yet logged (a GPU's buffered losses)
                writer.add_scalar("train/loss", value, at)
            self.finish("interrupted", self.completed)
            raise
        finally:
            writer.close()
            if bar is not None:
                bar.close()
