"""What runs.py writes and refuses about a run's record, checked against hand-built expectations: the
failure record, the lock holder's name, the resume limits."""

from __future__ import annotations

import json
import math
import os
import warnings
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
    # a failure before any step (no steps_done given) records 0 steps done
    assert runs.record_failure(tmp_path / "early", "dcn", {}, "out of memory") is True
    assert json.loads((tmp_path / "early" / "metrics.json").read_text(encoding="utf-8"))["final"]["steps_done"] == 0


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


def test_a_checkpoint_entry_of_the_wrong_type_is_damaged_and_a_bool_is_no_number(tmp_path) -> None:
    kinds = {"step": int, "lr": (int, float)}
    runs.check_entries(tmp_path, {"step": 5, "lr": 0.1, "other": "kept"}, kinds)
    for record in ({"step": "5", "lr": 0.1}, {"step": True, "lr": 0.1}, {"step": 5, "lr": None}):
        with pytest.raises(runs.DamagedCheckpoint, match="has a damaged"):
            runs.check_entries(tmp_path, record, kinds)
    with pytest.raises(runs.DamagedCheckpoint, match="lacks its 'lr' entry"):
        runs.check_entries(tmp_path, {"step": 5}, kinds)


def test_a_history_entry_needs_numbers_and_a_whole_step_from_zero(tmp_path) -> None:
    good = runs.evaluation_record(4, 2.0, [0.5, 0.3], 0.9, 0.8)
    assert good == {
        "step": 4,
        "epoch": 2.0,
        "train_loss": 0.4,
        "validation_error": pytest.approx(0.1),
        "test_error": pytest.approx(0.2),
        "validation_accuracy": 0.9,
        "test_accuracy": 0.8,
    }
    runs.check_run_state(tmp_path, {"history": [good, {**good, "step": 0}]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mean of nothing: NaN when no loss was read since the last evaluation
        assert math.isnan(runs.evaluation_record(0, 2.0, [], 0.1, 0.1)["train_loss"])
    for bad in ({**good, "step": 2.5}, {**good, "step": -1}, {**good, "test_error": "0.2"}, [good]):
        with pytest.raises(runs.DamagedCheckpoint, match="damaged 'history' entry"):
            runs.check_run_state(tmp_path, {"history": [bad]})


def test_a_bad_name_is_refused_naming_the_flag_it_came_from(tmp_path) -> None:
    assert runs.confined(tmp_path, "relu-adam-seed0", "--study") == tmp_path / "relu-adam-seed0"
    for name in ("a/b", "..", ".hidden", ""):
        with pytest.raises(UsageError, match=r"^--study: "):
            runs.confined(tmp_path, name, "--study")


def test_resume_compares_the_learning_rate_in_effect_not_how_it_was_given(tmp_path) -> None:
    """lr None (the optimizer's default) and that default written out are one run; another rate is not."""
    saved = {"lr": None, "learning_rate": 0.01}
    runs.check_unchanged(tmp_path, saved, SimpleNamespace(lr=0.01, learning_rate=0.01), ["lr"])
    runs.check_unchanged(tmp_path, saved, SimpleNamespace(lr=None, learning_rate=0.01), ["lr"])
    with pytest.raises(UsageError, match=r"different settings \(lr 0.01 -> 0.02\)"):
        runs.check_unchanged(tmp_path, saved, SimpleNamespace(lr=0.02, learning_rate=0.02), ["lr"])
    # a record without the value in effect (an older run) is compared as given
    with pytest.raises(UsageError, match=r"\(lr None -> 0.01\)"):
        runs.check_unchanged(tmp_path, {"lr": None}, SimpleNamespace(lr=0.01, learning_rate=0.01), ["lr"])


def test_two_changed_settings_are_both_named_in_the_refusal(tmp_path) -> None:
    saved = {"steps": 10, "seed": 0}
    with pytest.raises(UsageError) as refused:
        runs.check_unchanged(tmp_path, saved, SimpleNamespace(steps=20, seed=1), ["steps", "seed"])
    assert "(steps 10 -> 20, seed 0 -> 1)" in str(refused.value)


@pytest.mark.parametrize(
    ("resumable", "flag", "lead"),
    [(True, "--resume", "continue it with: "), (False, "--overwrite", "start it again with: ")],
)
def test_a_held_folder_is_refused_with_the_whole_command_that_goes_on(tmp_path, resumable, flag, lead) -> None:
    folder = tmp_path / "my run"
    folder.mkdir()
    (folder / "metrics.json").write_text("{}")
    with pytest.raises(UsageError) as refused:
        runs.refuse_or_clear(folder, "dcn", overwrite=False, resumable=resumable)
    message = str(refused.value)
    advice = message[message.index(lead) + len(lead) :].split(";")[0]
    assert advice.startswith("backproplab dcn ") and advice.endswith(f" {flag}"), advice
    assert f"'{folder}'" in advice or str(folder) in advice, advice  # the folder, quoted as a shell needs


def test_a_claim_removes_a_killed_writers_temporaries_and_nothing_else(tmp_path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    stale = folder / ".checkpoint.1a2b.tmp.pt"
    stale.write_bytes(b"half a checkpoint")
    outside = tmp_path / "precious.txt"
    outside.write_text("not the run's")
    link = folder / ".link.tmp"
    link.symlink_to(outside)
    not_a_file = folder / ".folder.tmp"
    not_a_file.mkdir()
    with runs.claimed(folder):
        pass
    assert not stale.exists()
    assert link.is_symlink() and outside.read_text() == "not the run's"  # a link is never followed or removed
    assert not_a_file.is_dir()


def test_a_damaged_divergence_watch_in_a_checkpoint_is_refused_and_a_sound_one_passes(tmp_path) -> None:
    sound = {"history": [], "watch": {"first_loss": 2.3, "steps_above": 0}}
    runs.check_run_state(tmp_path, sound)
    runs.check_run_state(tmp_path, {"history": []})  # no watch: a run from before it was saved
    for bad in ({"first_loss": "2.3", "steps_above": 0}, {"first_loss": 2.3, "steps_above": -1}, [2.3]):
        with pytest.raises(runs.DamagedCheckpoint, match="damaged 'watch' entry"):
            runs.check_run_state(tmp_path, {"history": [], "watch": bad})
