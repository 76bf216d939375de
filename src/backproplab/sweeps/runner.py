"""Send a sweep's tasks to worker processes on this machine, or to a Dask cluster, with progress.

Local workers are ``spawn``-ed processes (not threads), each with its own thread count and its own
MNIST copy loaded once, fed one task at a time over a pipe. A worker that dies fails only its run
(recorded with the reason) and is replaced. Ctrl-C (or SIGTERM) asks every worker to stop at its
next step: each unfinished run is marked interrupted with its checkpoint, and the next call resumes
it; then :class:`KeyboardInterrupt` reaches the caller.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from backproplab.errors import UsageError
from backproplab.sweeps import state
from backproplab.sweeps.worker import dask_execute, worker_main

STOP_GRACE_SECONDS = 120.0


class SweepProgress:
    """One bar for the sweep (runs done of total, aggregate steps/s, ETA from the steps left) and
    one line per finished run."""

    def __init__(self, runs: int, steps: int, enabled: bool = True, say: Callable[[str], None] | None = None) -> None:
        self.steps_left = steps
        self.steps_done = 0
        self.began = time.monotonic()
        self.bar = None
        self.say = say or print
        if enabled:
            from backproplab.progress import progress_bar

            self.bar = progress_bar(runs, desc="sweep", unit="run")
            self.say = self.bar.write

    def steps(self, n: int) -> None:
        self.steps_done += n
        self.steps_left -= n
        if self.bar is not None:
            rate = self.steps_done / max(time.monotonic() - self.began, 1e-9)
            eta = self.steps_left / rate if rate > 0 else math.inf
            self.bar.set_postfix_str(f"{rate:.1f} steps/s, ETA {_duration(eta)}", refresh=False)
            self.bar.refresh()

    def done(self, result: dict[str, Any]) -> None:
        self.say(describe(result))
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def describe(result: dict[str, Any]) -> str:
    """One line for a finished run: its folder name, status, validation and test error."""
    name = Path(result["folder"]).name
    status = result.get("status")
    if status == "completed":
        return (
            f"{name}: validation error {result['validation_error']:.2%}, test error {result['test_error']:.2%} "
            f"({result.get('steps_done')} steps, {result.get('wall_seconds') or 0:.0f} s)"
        )
    if status == "diverged":
        return f"{name}: diverged at step {result.get('diverged_at_step')}"
    return f"{name}: {status}" + (f" ({result['error']})" if result.get("error") else "")


@dataclass
class _Slot:
    process: Any
    conn: Any
    index: int = 0
    task: dict[str, Any] | None = None
    ready: bool = False
    interrupted: bool = False
    messages: list = field(default_factory=list)


def _died(slot: _Slot) -> str:
    code = slot.process.exitcode
    if code is not None and code < 0:
        return f"worker process {slot.process.pid} was killed by signal {signal.Signals(-code).name}"
    return f"worker process {slot.process.pid} exited with code {code}"


def run_local(
    tasks: list[dict[str, Any]],
    jobs: int,
    threads: int,
    data: tuple[str, str | None, int],
    progress: SweepProgress,
    devices: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Run ``tasks`` on ``jobs`` local worker processes of ``threads`` threads each; ``data`` is
    (source, data_dir, validation_size); ``devices``: one per worker (GPUs), or none.
    Returns one result per task, in finishing order."""
    context = mp.get_context("spawn")
    queue = deque(tasks)
    results: list[dict[str, Any]] = []
    early_deaths = 0

    def spawn(index: int) -> _Slot:
        parent, child = context.Pipe()
        process = context.Process(target=worker_main, args=(child, *data, threads), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent, index=index)

    def fail(slot: _Slot, reason: str) -> None:
        task, slot.task = slot.task, None
        folder = Path(task["config"]["out"])
        try:
            state.record_failure(folder, task["config"], reason)
        except OSError:
            pass
        result = {"folder": str(folder), "action": "failed", "status": "failed", "error": reason}
        results.append(result)
        progress.done(result)

    def handle(slot: _Slot, kind: str, value: Any) -> None:
        nonlocal early_deaths
        if kind == "ready":
            slot.ready = True
        elif kind == "steps":
            progress.steps(value)
        elif kind == "done":
            slot.task = None
            results.append(value)
            progress.done(value)
        elif kind == "interrupted":  # its run stopped at a step, checkpoint kept: not a failure of the worker
            slot.interrupted = True
            folder, slot.task = value, None
            result = {"folder": str(folder), "action": "interrupted", "status": "interrupted"}
            results.append(result)
            progress.done(result)
        elif kind == "fatal":
            raise UsageError(f"a sweep worker could not load its data: {value}")

    slots = [spawn(i) for i in range(min(jobs, len(tasks)))]
    try:
        while queue or any(s.task is not None for s in slots):
            for slot in slots:
                if slot.ready and slot.task is None and queue:
                    slot.task = queue.popleft()
                    if devices:
                        slot.task = {**slot.task, "device": devices[slot.index % len(devices)]}
                    slot.conn.send(slot.task)
            wait([s.conn for s in slots] + [s.process.sentinel for s in slots], timeout=1.0)
            for slot in list(slots):
                alive = _drain(slot, handle)
                if alive and slot.process.is_alive():
                    continue
                slot.process.join(timeout=5)
                if slot.task is not None:
                    fail(slot, _died(slot))
                elif not slot.ready:
                    early_deaths += 1
                    if early_deaths > jobs:
                        raise UsageError(f"sweep workers keep dying before they start ({_died(slot)})")
                slots.remove(slot)
                if queue:
                    slots.append(spawn(slot.index))
        _stop(slots, handle)
    except KeyboardInterrupt:
        _interrupt(slots, handle)
        raise
    except BaseException:
        _interrupt(slots, handle)
        raise
    return results


def _drain(slot: _Slot, handle: Callable[[_Slot, str, Any], None]) -> bool:
    """Handle every message waiting on ``slot``'s pipe; False when the pipe is closed."""
    try:
        while slot.conn.poll():
            handle(slot, *slot.conn.recv())
    except (EOFError, OSError):
        return False
    return True


def _stop(slots: list[_Slot], handle: Callable) -> None:
    for slot in slots:
        try:
            slot.conn.send(None)
        except OSError:
            pass
    for slot in slots:
        slot.process.join(timeout=30)
        if slot.process.is_alive():
            slot.process.terminate()


def _interrupt(slots: list[_Slot], handle: Callable) -> None:
    """Ask every worker to stop (its run is marked interrupted with a checkpoint) and wait."""
    for slot in slots:
        if slot.process.is_alive():
            os.kill(slot.process.pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for slot in slots:
        while slot.process.is_alive() and time.monotonic() < deadline:
            try:
                _drain(slot, lambda s, kind, value: None)
                slot.process.join(timeout=0.2)
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                deadline = 0
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()


def run_dask(address: str, tasks: list[dict[str, Any]], progress: SweepProgress) -> list[dict[str, Any]]:
    """Run ``tasks`` on the Dask distributed cluster at ``address`` (tcp://HOST:PORT); the run
    folders must be on a filesystem its workers share."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError(
            "--scheduler needs Dask distributed; install it with: pip install 'backproplab[cluster]'"
        ) from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"--scheduler: cannot reach a Dask scheduler at {address} ({exc}); start one with `dask scheduler`"
        ) from None
    results: list[dict[str, Any]] = []
    try:
        futures = {client.submit(dask_execute, task, pure=False): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a lost or crashed worker fails only this run
                reason = f"Dask task failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
                try:
                    state.record_failure(Path(task["config"]["out"]), task["config"], reason)
                except OSError:
                    pass
                result = {"folder": task["config"]["out"], "status": "failed", "error": reason}
            progress.steps(int(result.get("steps_done") or 0))
            results.append(result)
            progress.done(result)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    finally:
        client.close()
    return results
