"""Run each check in a child process with a time limit and a memory limit, and say in one line how it ended.

The child (:mod:`backproplab.exercise.child`) checks the items in order, writing each result as it
finishes, in a session of its own with ``setrlimit`` limits:
address space (``RLIMIT_AS``: an allocation over the limit raises MemoryError), CPU seconds, the size
of any file it writes, no core files; one BLAS thread. The parent kills the whole session when the
wall-clock limit passes. A child that dies without writing its result (``os.abort()``, a segfault,
``os._exit``) is reported from its exit status, and the remaining items run in a fresh child.

This guards against mistakes and careless code, not against a determined attacker: the learner's code
runs as the same user, can read and write what that user can, can reach the network, and runs in
the same process as the check it is graded by.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backproplab.exercise.child import MEMORY_LIMIT_ENV
from backproplab.exercise.items import ITEMS
from backproplab.settings import positive_float, positive_int, setting, validate

SIGNALS = {
    signal.SIGABRT: "aborted the process (SIGABRT: os.abort(), or a failed assertion in C code)",
    signal.SIGSEGV: "crashed the process (SIGSEGV: a segmentation fault)",
    signal.SIGBUS: "crashed the process (SIGBUS)",
    signal.SIGFPE: "crashed the process (SIGFPE)",
    signal.SIGXFSZ: "wrote more output than the limit allows",
    signal.SIGKILL: "was killed (out of memory?)",
}


@dataclass
class Limits:
    """Per check: wall-clock and CPU seconds, address space in MiB, output in MiB."""

    seconds: float = setting(
        60.0, "seconds each item's check may run", flag="--time-limit", check=positive_float, group="limits"
    )
    memory_mb: int = setting(
        2048, "address space of each check's process, MiB", flag="--memory-limit", check=positive_int, group="limits"
    )
    output_mb: int = setting(
        16, "what each check's process may write, MiB", flag="--output-limit", check=positive_int, group="limits"
    )

    def __post_init__(self) -> None:
        validate(self)


def _apply_limits(limits: Limits) -> None:  # runs in the child, between fork and exec
    memory = limits.memory_mb * 2**20
    cpu = math.ceil(limits.seconds) + 1  # the wall-clock limit, per item, is the parent's
    for which, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, limits.output_mb * 2**20),
        (resource.RLIMIT_CORE, 0),
    ):
        _soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, hard))


def _tail(path: Path, lines: int = 15, limit: int = 4000) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _run_group(folder: Path, items: list[str], limits: Limits) -> list[dict[str, Any]]:
    """Results for a prefix of ``items`` (at least the first) from one child process, which checks them in
    order and writes each result as it finishes; the item it was on when it died, timed out or was
    stopped gets the line that says so, and the caller runs the rest in a fresh child."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.update(PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    env[MEMORY_LIMIT_ENV] = str(limits.memory_mb)
    cpu_limited = dataclasses.replace(limits, seconds=limits.seconds * len(items))
    with tempfile.TemporaryDirectory(prefix="backproplab-check-") as tmp:
        out_path, results_dir = Path(tmp, "output.txt"), Path(tmp, "results")
        results_dir.mkdir()
        with out_path.open("wb") as out:
            command = [sys.executable, "-P", "-m", "backproplab.exercise.child", str(folder), ",".join(items)]
            proc = subprocess.Popen(
                [*command, str(results_dir)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=env,
                start_new_session=True,  # one process group: a timeout ends whatever the code started
                preexec_fn=lambda: _apply_limits(cpu_limited),
            )
            timed_out, done = False, 0
            deadline = time.monotonic() + limits.seconds
            try:
                while proc.poll() is None:
                    finished = len(list(results_dir.glob("*.json")))
                    if finished > done:  # each item gets the whole time limit
                        done, deadline = finished, time.monotonic() + limits.seconds
                    if time.monotonic() > deadline:
                        timed_out = True
                        break
                    time.sleep(0.05)
            finally:
                try:  # also whatever the code started and left behind in the child's session
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):  # the session is already gone
                    pass
                proc.wait()
        results = []
        for i in range(len(items)):
            path = results_dir / f"{i}.json"
            if not path.is_file():
                break
            results.append(json.loads(path.read_text()))
        if len(results) == len(items):
            return results
        item = items[len(results)]
        result: dict[str, Any] = {"item": item, "status": "failed", "details": [], "diagnosis": None, "traceback": None}
        if timed_out:
            result["summary"] = (
                f"did not finish within {limits.seconds:g} s and was stopped: an endless loop, or far too slow"
            )
        elif proc.returncode < 0:
            sig = signal.Signals(-proc.returncode)
            what = SIGNALS.get(sig, f"ended the process with signal {sig.name}")
            if sig == signal.SIGXCPU:
                what = "used more CPU time than the limit allows and was stopped"
            result["summary"] = f"your code {what}"
        else:
            result["summary"] = (
                f"the check's process ended with exit status {proc.returncode} before it finished "
                "(os._exit in your code?)"
            )
        output = _tail(out_path)
        if output:
            result["output"] = output
        return [*results, result]


def _scored(result: dict[str, Any]) -> dict[str, Any]:
    item = ITEMS[result["item"]]
    result.update(title=item.title, points=item.points, score=item.points if result["status"] == "passed" else 0.0)
    return result


def run_item(folder: str | os.PathLike[str], item: str, limits: Limits | None = None) -> dict[str, Any]:
    """The result of one item's check on the workspace at ``folder``, run in a limited child process."""
    return check_workspace(folder, [item], limits)[0]


def check_workspace(
    folder: str | os.PathLike[str], items: list[str], limits: Limits | None = None, progress: Any = None
) -> list[dict[str, Any]]:
    """The results of ``items`` in order: checked in one child process, and after a crash or a timeout
    the remaining items in a fresh one."""
    folder = Path(folder).resolve()
    limits = limits or Limits()
    results: list[dict[str, Any]] = []
    while len(results) < len(items):
        got = _run_group(folder, items[len(results) :], limits)
        results += [_scored(r) for r in got]
        if progress is not None:
            progress.update(len(got))
    return results


def format_item(r: dict[str, Any], verbose: bool = False) -> list[str]:
    """One item's lines: its status, and for a failed one what is wrong (``verbose``: the errors of any)."""
    status = r["status"].upper() if r["status"] == "failed" else r["status"]
    lines = [f"{r['item']:<7} {r['title']:<58} {status}"]
    if r["status"] == "not started" and r.get("summary", "").startswith("needs"):
        lines[0] += f" ({r['summary']})"
    if r["status"] == "not started" or (r["status"] == "passed" and not verbose):
        return lines
    if r["status"] == "failed":
        lines.append(f"    {r['summary']}")
    lines += [f"    {line}" for line in r.get("details") or []]
    if r.get("diagnosis"):
        lines.append(f"    diagnosis: {r['diagnosis']}")
    if r.get("traceback"):
        lines.append("    your traceback:")
        lines += [f"      {line}" for line in r["traceback"].splitlines()]
    if r.get("output"):
        lines.append("    output (last lines):")
        lines += [f"      {line}" for line in r["output"].splitlines()]
    return lines


def counts_line(results: list[dict[str, Any]]) -> str:
    counts = {s: sum(r["status"] == s for r in results) for s in ("passed", "failed", "not started")}
    return (
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['not started']} not started "
        f"(of {len(results)} items)"
    )


def format_results(results: list[dict[str, Any]], verbose: bool = False) -> str:
    """The results as people read them: one line per item, then for a failed item what is wrong."""
    lines = [line for r in results for line in format_item(r, verbose)]
    return "\n".join([*lines, counts_line(results)])
