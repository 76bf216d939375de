"""What runs inside a sweep's worker process: its own MNIST copy (loaded once), then one run after
another, each decided from its folder's state at the moment it starts (:mod:`.state`).

A task is a plain dict (it crosses process and machine boundaries): ``config`` (a
``TrainConfig.to_dict()`` with ``out`` set), ``data``, ``data_dir``, ``validation_size``,
``retry_failed``, ``threads`` and ``device``.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import runs, signals
from backproplab.sweeps import state, stats
from backproplab.sweeps.spec import MNIST

_LOADED: dict[tuple, Any] = {}


def load_source(source: str, data_dir: str | None, validation_size: int) -> Any:
    """The data set a worker trains on (``mnist.Datasets``), loaded once per process."""
    key = (source, data_dir, validation_size)
    if key not in _LOADED:
        if source == MNIST:
            from backproplab.datasets import mnist

            data = mnist.load(data_dir=data_dir, validation_size=validation_size, progress=False)
        else:
            module, _, name = source.partition(":")
            data = getattr(importlib.import_module(module), name)(data_dir, validation_size)
        _LOADED[key] = data
    return _LOADED[key]


def for_seed(data: Any, seed: int) -> Any:
    """``data``'s arrays (not copied) with the batch order ``mnist.load(seed=seed)`` would give, so a
    run in a sweep sees exactly the batches of the same run trained alone."""
    from backproplab.datasets import mnist

    seeds = np.random.SeedSequence(seed).spawn(3)
    return mnist.Datasets(
        **{
            split: type(part)(part.images, part.labels, child)
            for (split, part), child in zip(
                (("train", data.train), ("validation", data.validation), ("test", data.test)), seeds, strict=True
            )
        }
    )


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def execute(task: dict[str, Any], data: Any, callback: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train (or skip, or resume) the task's run; return a short result. KeyboardInterrupt passes
    through (the run is then marked interrupted with its checkpoint).

    :func:`~backproplab.mnist_net.run.train` claims the run folder itself: a folder another process
    is training in (a second sweep sharing the runs folder) fails here with that reason, and its
    files are left alone."""
    from backproplab.errors import TrainingDiverged
    from backproplab.mnist_net.config import TrainConfig
    from backproplab.mnist_net.run import train

    config = TrainConfig.from_dict(task["config"])
    folder = Path(config.out)
    action = state.decide(folder, config.steps, task.get("retry_failed", False))
    result: dict[str, Any] = {"folder": str(folder), "action": action}
    if action == state.SKIP:
        return {**result, **_summary(state.numbers(state.read_metrics(folder)))}
    config = dataclasses.replace(
        config,
        resume=action == state.RESUME,
        overwrite=action == state.RESTART,
        threads=task.get("threads") or config.threads,
        device=task.get("device") or config.device,
    )
    (folder / stats.STATS_FILE).unlink(missing_ok=True)  # rewritten from the events when the run ends
    try:
        metrics = train(config, data=for_seed(data, config.seed), progress=False, callback=callback)
    except TrainingDiverged as exc:
        metrics = exc.metrics
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # this run fails, with its reason; the sweep goes on
        error = _one_line(exc)
        if isinstance(exc, runs.DamagedCheckpoint):  # `sweep` has no --overwrite: its way out is --retry-failed
            error = (
                f"checkpoint {exc.path} {exc.why}; run the sweep again with --retry-failed to train this run "
                "from scratch"
            )
        try:
            state.record_failure(folder, config.to_dict(), error)  # not when another process holds the folder
        except OSError:
            pass
        return {**result, "status": "failed", "error": error}
    try:
        stats.extract(folder, config.activation)
    except Exception:
        pass
    return {**result, **_summary(state.numbers(metrics))}


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "validation_error", "test_error", "steps_done", "wall_seconds", "error", "diverged_at_step")
    return {key: metrics.get(key) for key in keys}


def worker_main(conn: Any, source: str, data_dir: str | None, validation_size: int, threads: int) -> None:
    """A local worker: load the data, then run the tasks ``conn`` sends until it sends None.

    Messages back: ``("ready", pid)``, ``("steps", n)``, ``("done", result)``,
    ``("interrupted", folder)``, ``("fatal", message)``. SIGINT, SIGTERM and SIGHUP
    (:func:`backproplab.signals.requested`) stop the current run at its next step (marked
    interrupted, with its checkpoint), then the worker exits; so does a closed pipe (the sweep
    process is gone: killed, or its terminal closed).
    """
    with signals.requested() as received:
        _serve(conn, source, data_dir, validation_size, threads, received)


def _serve(conn: Any, source: str, data_dir: str | None, validation_size: int, threads: int, stop: list) -> None:
    """:func:`worker_main`'s loop; ``stop`` is non-empty once the worker must stop."""

    def send(message: tuple) -> None:
        try:
            conn.send(message)
        except OSError:  # nobody is listening any more: stop as on Ctrl-C, keeping the run's checkpoint
            stop.append(0)

    import torch

    torch.set_num_threads(threads)
    try:
        data = load_source(source, data_dir, validation_size)
    except Exception as exc:
        send(("fatal", _one_line(exc)))
        return
    send(("ready", os.getpid()))
    while not stop:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        unsent, last = [0], [time.monotonic()]

        def callback(step: int, loss: float, unsent: list[int] = unsent, last: list[float] = last) -> None:
            unsent[0] += 1
            now = time.monotonic()
            if now - last[0] > 0.5:
                send(("steps", unsent[0]))
                unsent[0], last[0] = 0, now
            if stop:
                raise KeyboardInterrupt

        try:
            result = execute(task, data, callback)
        except KeyboardInterrupt:
            send(("interrupted", task["config"]["out"]))
            return
        if unsent[0]:
            send(("steps", unsent[0]))
        send(("done", result))


def dask_execute(task: dict[str, Any]) -> dict[str, Any]:
    """The same, as one Dask task (the data stays loaded in the Dask worker between tasks)."""
    import torch

    if task.get("threads"):
        torch.set_num_threads(task["threads"])
    data = load_source(task["data"], task.get("data_dir"), task["validation_size"])
    return execute(task, data)
