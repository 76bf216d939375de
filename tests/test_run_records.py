"""What runs.py writes and refuses about a run's record, checked against hand-built expectations: the
failure record, the lock holder's name, the resume limits."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from backproplab import runs
from backproplab.errors import UsageError


def test_a_failure_is_recorded_in_the_runs_layout_and_not_over_a_held_folder(tmp_path) -> None:
    folder = tmp_path / "run"
    assert runs.record_failure(folder, "dcn", {"lr": 0.1}, "No space left on device", steps_done=7) is True
    record = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert record == {
        "engine": "dcn",
        "status": "failed",
        "config": {"lr": 0.1},
        "final": {"steps_done": 7, "error": "No space left on device"},
        "curves": {},
        "wall_seconds": 0.0,
        "steps_per_second": None,
    }
    (folder / "metrics.json").unlink()
    with runs.claimed(folder):  # another claim holds it: nothing is written, and the caller is told
        assert runs.record_failure(folder, "dcn", {}, "late") is False
    assert not (folder / "metrics.json").exists()


def test_the_lock_holder_is_named_by_its_pid_or_else_as_another_process(tmp_path) -> None:
    lock = tmp_path / ".lock"
    lock.write_text(f"{os.getpid()}\n", encoding="ascii")
    assert runs._holder(lock) == f"process {os.getpid()}"
    lock.write_text("not a pid", encoding="ascii")
    assert runs._holder(lock) == "another process"
    assert runs._holder(tmp_path / "gone") == "another process"  # unreadable: no traceback


def test_a_run_resumes_up_to_its_last_step_and_not_beyond(tmp_path) -> None:
    saved = {"lr": 0.1, "seed": 0}
    config = SimpleNamespace(lr=0.1, seed=0, steps=5)
    runs.check_resumable(tmp_path, saved, 5, config, ["lr", "seed"])  # a completed run: resuming is allowed
    with pytest.raises(UsageError, match=f"{tmp_path} is already at step 6, beyond --steps 5"):
        runs.check_resumable(tmp_path, saved, 6, config, ["lr", "seed"])
    with pytest.raises(UsageError, match=rf"cannot resume {tmp_path} with different settings \(seed 0 -> 1\)"):
        runs.check_resumable(tmp_path, saved, 3, SimpleNamespace(lr=0.1, seed=1, steps=5), ["lr", "seed"])
