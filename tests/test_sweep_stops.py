"""A sweep stopped or starved as real processes are: SIGTERM to the sweep, SIGTERM or SIGHUP to one
worker, a full disk in the workers (an injected ENOSPC); and runs that cannot be resumed."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backproplab.dcn import TrainConfig
from backproplab.sweeps import state
from backproplab.sweeps.worker import execute
from sweep_data import small

TESTS = Path(__file__).parent
#: Runs long enough to be stopped in the middle, with a checkpoint every 4 steps.
LONG = ["--steps", "100000", "--batch-size", "10", "--eval-every", "4", "--monitor-every", "2"]
SHORT = ["--steps", "4", "--batch-size", "10", "--eval-every", "2", "--monitor-every", "2"]


def _sweep(args: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(TESTS / "sweep_child.py"), "--quiet", "--threads-per-job", "1", *args],
        env={**os.environ, "MPLBACKEND": "Agg", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_checkpoint(out: Path, process: subprocess.Popen, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(out.glob("*/checkpoint.pt"))
        if found:
            return found[0].parent
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    raise AssertionError("no run reached its first checkpoint")


def _workers(pid: int) -> list[int]:
    """The sweep's worker processes (its spawned children, not multiprocessing's resource tracker)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in command and b"resource_tracker" not in command:
            found.append(int(child))
    return found


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_sigterm_stops_a_sweep_as_ctrl_c_does(tmp_path) -> None:
    """`sweep` died silently on SIGTERM (rc 143, no table, workers training on; item 13)."""
    out = tmp_path / "sw"
    process = _sweep([*LONG, "--seeds", "0,1", "--jobs", "1", "--out", str(out)])
    try:
        _wait_for_checkpoint(out, process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == (
        f"backproplab sweep: stopped by SIGTERM; run the same command again to resume ({out})"
    )
    rows = json.loads((out / "sweep.json").read_text())["runs"]  # the tables were rebuilt
    assert {r["status"] for r in rows} <= {"interrupted", "new"} and "interrupted" in {r["status"] for r in rows}
    for folder in out.glob("*/metrics.json"):  # each worker stopped its run at a step, keeping its checkpoint
        assert _metrics(folder.parent)["status"] == "interrupted"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_worker_stopped_by_a_signal_records_its_run_as_interrupted(tmp_path, sig) -> None:
    """SIGTERM to a worker: its run was recorded interrupted, then overwritten as `failed, exited
    with code 0` (item 14); SIGHUP (a closed terminal) killed it with no record at all (item 13)."""
    out = tmp_path / "sw"
    process = _sweep([*LONG, "--jobs", "1", "--out", str(out)])
    try:
        folder = _wait_for_checkpoint(out, process)
        (worker,) = _workers(process.pid)
        os.kill(worker, sig)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    metrics = _metrics(folder)
    assert metrics["status"] == "interrupted", metrics["final"]
    assert metrics["final"]["steps_done"] >= 4
    assert "1 runs (1 interrupted)" in stdout
    assert process.returncode == 1 and "run the same command again" in stderr
    assert state.decide(folder, 100_000, retry_failed=False) == state.RESUME


def test_a_sweep_whose_runs_fail_on_a_full_disk_says_so_and_exits_non_zero(tmp_path) -> None:
    """Every run failing on a full disk: the sweep exited 0, printed `2 runs ()` and listed them as
    new (item 6). ENOSPC is injected in the workers' writes; the view line is quoted (item 17)."""
    out = tmp_path / "my sweep"
    process = _sweep([*SHORT, "--seeds", "0,1", "--jobs", "1", "--out", str(out)], SWEEP_TEST_ENOSPC="1")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr[-3000:]
    assert "2 runs (2 failed)" in stdout
    assert stderr.count("No space left on device") == 2
    rows = json.loads((out / "sweep.json").read_text())["runs"]
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all("No space left on device" in r["error"] for r in rows)
    view = stdout.split("(view: ")[1].split(")")[0]
    assert shlex.split(view) == ["backproplab", "tensorboard", "--logdir", str(out)]


def _task(config: TrainConfig, retry_failed: bool = False) -> dict:
    return {"config": config.to_dict(), "retry_failed": retry_failed, "threads": 1}


def _damage_random_state(path) -> None:
    import torch

    state = torch.load(path, weights_only=True)
    torch.save({**state, "random": {"torch": torch.zeros(3, dtype=torch.uint8)}}, path)


@pytest.mark.parametrize(
    "damage",
    [lambda path: path.write_bytes(b"not a checkpoint"), _damage_random_state],
    ids=["not-a-checkpoint", "random-state"],
)
def test_a_damaged_checkpoint_names_retry_failed_which_then_trains_the_run_anew(tmp_path, damage) -> None:
    """The damaged-checkpoint advice named --overwrite, which `sweep` lacks, and --retry-failed resumed
    and failed again on every call (item 12); a damaged random state too."""
    data = small(None, 5000)
    folder = tmp_path / "run"
    config = TrainConfig(steps=4, batch_size=10, eval_every=2, monitor_every=2, out=str(folder), threads=1)
    assert execute(_task(config), data)["status"] == "completed"
    record = _metrics(folder)
    (folder / "metrics.json").write_text(json.dumps({**record, "status": "interrupted"}))
    damage(folder / "checkpoint.pt")
    failed = execute(_task(config), data)
    assert failed["status"] == "failed"
    assert "--retry-failed" in failed["error"] and "--overwrite" not in failed["error"]
    assert execute(_task(config, retry_failed=True), data)["status"] == "completed"
    assert _metrics(folder)["final"]["steps_done"] == 4


def test_a_default_rate_run_resumes_under_the_same_rate_written_out(tmp_path) -> None:
    """A run interrupted under a default-rate sweep could not be continued by a sweep listing that
    rate (`lr None -> 0.0001`, item 12): the rate in effect is what must match."""
    data = small(None, 5000)
    folder = tmp_path / "run"
    default = TrainConfig(steps=2, batch_size=10, eval_every=2, monitor_every=2, out=str(folder), threads=1)
    assert execute(_task(default), data)["status"] == "completed"
    explicit = dataclasses.replace(default, lr=default.learning_rate, steps=4)
    result = execute(_task(explicit), data)
    assert (result["action"], result["status"], result["steps_done"]) == ("resume", "completed", 4), result
