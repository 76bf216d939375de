"""The run convention (backproplab.runs): claiming a folder, refusing and clearing runs, strict
metrics, stop signals; the size checks (backproplab.limits) and divergence rules."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from backproplab import limits, runs, signals
from backproplab.divergence import DivergenceWatch, chance_accuracy
from backproplab.errors import UsageError

HOLDER = """
import sys, time
from backproplab import runs
with runs.claimed(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_folder_held_by_another_process_is_refused_naming_it_until_that_process_dies(tmp_path) -> None:
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError, match=rf"{folder} is in use by process {holder.pid}, which is running"):
            with runs.claimed(folder):
                pass
    finally:
        holder.kill()  # like kill -9: no clean-up code runs
        holder.wait()
    with runs.claimed(folder) as claimed:  # the kernel dropped the dead process's lock
        assert claimed == folder
        assert (folder / runs.LOCK_NAME).read_text().strip() == str(os.getpid())


def test_a_claim_in_this_process_is_exclusive_too(tmp_path) -> None:
    with runs.claimed(tmp_path / "run"):
        with pytest.raises(UsageError, match="is in use by process"):
            with runs.claimed(tmp_path / "run"):
                pass


def test_a_failed_start_leaves_no_folder_but_a_written_run_stays(tmp_path) -> None:
    with pytest.raises(ValueError), runs.claimed(tmp_path / "new"):
        raise ValueError("bad data")
    assert not (tmp_path / "new").exists()
    with pytest.raises(ValueError), runs.claimed(tmp_path / "kept") as folder:
        (folder / "config.json").write_text("{}")
        raise ValueError("later failure")
    assert (tmp_path / "kept" / "config.json").exists()


def test_a_failed_start_keeps_the_users_own_empty_folder(tmp_path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()  # the user's --out, empty: the claim did not create it, so it must not remove it
    with pytest.raises(ValueError), runs.claimed(mine):
        raise ValueError("bad data")
    assert mine.is_dir()


@pytest.mark.parametrize("name", ["", ".", "..", "../../x", "a/b", "/abs", ".lock", "a\0b"])
def test_bad_run_names(name) -> None:
    with pytest.raises(UsageError, match="is not a name"):
        runs.run_folder("dcn", name)


def test_good_run_name_and_out() -> None:
    assert runs.run_folder("mlp", "moons-tanh-3") == runs.RUNS_DIR / "mlp" / "moons-tanh-3"
    assert str(runs.run_folder("mlp", "ignored", "elsewhere/x")) == "elsewhere/x"


def test_refuse_or_clear(tmp_path) -> None:
    folder = tmp_path / "a folder"
    folder.mkdir()
    runs.refuse_or_clear(folder, "mlp", overwrite=False)  # empty: fine
    (folder / "notes.txt").write_text("mine")  # not a run file: never touched
    (folder / "loss.png").write_bytes(b"png")
    (folder / ".metrics.abc123.tmp.json").write_text("{")  # a killed writer's leftover
    with pytest.raises(UsageError) as info:
        runs.refuse_or_clear(folder, "mlp", overwrite=False, patterns=("*.png",))
    assert f"start it again with: backproplab mlp --out '{folder}' --overwrite" in str(info.value)
    with pytest.raises(UsageError, match=r"continue it with: .* --resume"):
        runs.refuse_or_clear(folder, "dcn", overwrite=False, patterns=("*.png",), resumable=True)
    runs.refuse_or_clear(folder, "mlp", overwrite=True, patterns=("*.png",))
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_strict_json_has_no_nan() -> None:
    record = runs.metrics_record(
        "mlp",
        "diverged",
        {"lr": 1e6},
        {"loss": math.nan, "n": np.int64(3), "top": np.float32(np.inf)},
        {"loss": [1.0, float("inf"), -math.inf], "acc": np.array([0.5, np.nan])},
        1.5,
        None,
    )
    text = json.dumps(runs.strict(record), allow_nan=False)
    back = json.loads(text)
    assert tuple(back) == runs.METRICS_KEYS
    assert back["final"] == {"loss": None, "n": 3, "top": None}
    assert back["curves"] == {"loss": [1.0, None, None], "acc": [0.5, None]}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signals_raise_an_interrupt_and_handlers_come_back(sig) -> None:
    before = signal.getsignal(sig)
    with pytest.raises(KeyboardInterrupt) as info, signals.as_interrupt():
        os.kill(os.getpid(), sig)
        time.sleep(5)
    assert isinstance(info.value, signals.RunInterrupted) and info.value.signum == sig
    assert signals.exit_code(info.value) == 128 + sig
    assert signals.exit_code(KeyboardInterrupt()) == 130
    assert signals.reason(info.value) == f"stopped by {signal.Signals(sig).name}"
    assert signals.reason(KeyboardInterrupt()) == "interrupted"
    assert signal.getsignal(sig) == before


def test_a_worker_records_every_stop_signal_and_its_handlers_come_back() -> None:
    """Workers finish their step before stopping: SIGINT, SIGTERM and SIGHUP only set the flag."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, *signals.STOP_SIGNALS)}
    with signals.requested() as received:
        for sig in before:
            os.kill(os.getpid(), sig)
        deadline = time.monotonic() + 5
        while len(received) < len(before) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert sorted(received) == sorted(before)
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_sizes_against_the_machine(monkeypatch) -> None:
    available = limits.available_memory()
    assert available is not None and available > 0
    monkeypatch.setattr(limits, "available_memory", lambda: 2**30)
    limits.check_memory(2**29, "half", "nothing")
    with pytest.raises(UsageError, match=r"^--x 5 needs about 2\.0 GiB of memory but 1\.0 GiB is available; less$"):
        limits.check_memory(2**31, "--x 5", "less")
    limits.check_threads(None)
    limits.check_threads(limits.cpu_cores())
    with pytest.raises(UsageError, match="--threads: 100000 threads but this machine has"):
        limits.check_threads(100_000)


def test_divergence_rules() -> None:
    watch = DivergenceWatch(window=3)
    assert [watch.loss(v) for v in (2.0, 25.0, 30.0, 2.0, 21.0, 22.0)] == [None] * 6  # never 3 in a row
    assert watch.loss(23.0) is not None and "above 10 times its first value (2)" in watch.loss(24.0)
    assert "the loss became nan" in DivergenceWatch(window=100).loss(math.nan)
    labels = np.array([0, 0, 0, 1, 2])
    assert chance_accuracy(labels) == 0.6
    assert DivergenceWatch(window=1).accuracy(0.6, 0.6, epoch=0.5) is None  # too early to judge
    assert "no better than always guessing" in DivergenceWatch(window=1).accuracy(0.605, 0.6, epoch=1.0)
    assert DivergenceWatch(window=1).accuracy(0.7, 0.6, epoch=3.0) is None


def test_tensorboard_shows_mlp_and_dcn_runs_side_by_side(tmp_path, monkeypatch) -> None:
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    from backproplab.cli import main
    from backproplab.mnist_net import run as training
    from dcn_child import synthetic_mnist

    monkeypatch.chdir(tmp_path)
    data = synthetic_mnist()
    monkeypatch.setattr(training, "load_data", lambda config, progress=True: data)
    assert main(["mlp", "--hidden", "3", "--passes", "20", "--no-progress"]) == 0
    assert main(["dcn", "--quiet", "--steps", "2", "--batch-size", "10", "--threads", "1", "--name", "tiny"]) == 0
    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(tmp_path / "runs"))
    multiplexer.Reload()
    assert set(multiplexer.Runs()) == {"mlp/moons-tanh-3", "dcn/tiny"}
    mlp = json.loads((tmp_path / "runs" / "mlp" / "moons-tanh-3" / "metrics.json").read_text())
    dcn = json.loads((tmp_path / "runs" / "dcn" / "tiny" / "metrics.json").read_text())
    assert tuple(mlp) == tuple(dcn) == runs.METRICS_KEYS
    assert (mlp["engine"], dcn["engine"]) == ("numpy", "torch")  # what computed it; the folder says the command
