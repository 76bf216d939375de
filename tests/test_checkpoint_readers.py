"""The checkpoint readers of both engines: every entry checked before it costs memory, and runs of
one engine never mistaken for a missing run by the other."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from backproplab import cli
from backproplab.mnist_net import run as training
from backproplab.mnist_net.config import TrainConfig
from dcn_child import synthetic_mnist

NUMPY_RUN = ["dcn", "--engine", "numpy", "--quiet", "--batch-size", "8", "--optimizer", "momentum"]


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    """A finished 2-step numpy-engine run (momentum: it has optimizer buffers)."""
    out = tmp_path_factory.mktemp("numpy") / "run"
    config = TrainConfig(engine="numpy", steps=2, eval_every=2, batch_size=8, optimizer="momentum", out=str(out))
    with threadpool_limits(limits=1, user_api="blas"):
        training.train(config, synthetic_mnist(), progress=False)
    return out


@pytest.fixture
def fake_mnist(monkeypatch):
    data = synthetic_mnist()
    monkeypatch.setattr(training, "load_data", lambda config, progress=True: data)
    return data


def _decompressed_bytes(monkeypatch) -> list[int]:
    """A running total of the bytes read out of every zip member from now on."""
    total = [0]
    read = zipfile.ZipExtFile.read

    def counting(self, n=-1):
        data = read(self, n)
        total[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return total


@pytest.mark.parametrize("where", ["model/fc2_b", "model/junk", "optimizer/0/velocity"])
def test_an_oversized_entry_is_refused_from_the_directory_before_it_is_decompressed(
    tmp_path, monkeypatch, capsys, fake_mnist, numpy_run, where
) -> None:
    """A crafted numpy checkpoint could demand unbounded memory: every entry was decompressed before
    its name and shape were checked (item 8). Here one entry declares 64 MiB (it deflates to 64 KiB);
    the reader must refuse it having decompressed less than that entry."""
    run = tmp_path / "run"
    shutil.copytree(numpy_run, run)
    path = run / "checkpoint.npz"
    with np.load(path) as saved:
        arrays = {name: saved[name] for name in saved.files}
    arrays[where] = np.zeros(2**24, np.float32)
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    total = _decompressed_bytes(monkeypatch)
    assert cli.main([*NUMPY_RUN, "--out", str(run), "--resume", "--steps", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "start the run again with --overwrite" in err, err
    assert where in err
    assert total[0] < 2**20, f"{total[0]:,} bytes decompressed before the refusal"


def test_a_header_claiming_a_huge_shape_is_refused_before_any_allocation(
    tmp_path, monkeypatch, capsys, fake_mnist, numpy_run
) -> None:
    """An .npy header may claim any shape: the reader checks it against the network first."""
    run = tmp_path / "run"
    shutil.copytree(numpy_run, run)
    path = run / "checkpoint.npz"
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    header = {"descr": "<u1", "fortran_order": False, "shape": (2**40,)}
    fake = io_bytes(header)
    members["meta.npy"] = fake
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert cli.main([*NUMPY_RUN, "--out", str(run), "--resume", "--steps", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'meta'" in err and "--overwrite" in err, err


def io_bytes(header: dict) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + b"\0" * 64


def test_the_reader_still_reads_what_the_engine_writes(numpy_run) -> None:
    from backproplab.numpy_dcn import checkpoint as numpy_checkpoint

    with np.load(numpy_run / "checkpoint.npz") as saved:
        expected = {name: saved[name] for name in saved.files}
    from backproplab.numpy_dcn.convnet import ConvNet
    from backproplab.scratch.optimizers import make_optimizer

    config = TrainConfig.from_dict(json.loads((numpy_run / "config.json").read_text()))
    net = ConvNet(config.activation, config.init, config.dropout, seed=config.seed, dtype=np.float32)
    optimizer = make_optimizer(config.optimizer, net.parameters(), config.learning_rate)
    meta = numpy_checkpoint.load(numpy_run / "checkpoint.npz", net.params, optimizer.params)
    for name, value in meta["model"].items():
        np.testing.assert_array_equal(value, expected[f"model/{name}"])
        assert value.flags.writeable
    assert np.array_equal(meta["data"]["permutation"], expected["data/permutation"])
    assert meta["step"] == 2 and meta["optimizer"]["state"][0]


@pytest.fixture
def fake_torch_mnist(monkeypatch):
    data = synthetic_mnist()
    monkeypatch.setattr(training, "load_data", lambda config, progress=True: data)
    return data


TORCH_RUN = ["dcn", "--quiet", "--threads", "1", "--batch-size", "10", "--eval-every", "2", "--monitor-every", "2"]


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    """A finished 4-step torch-engine run, checkpoint at step 4."""
    out = tmp_path_factory.mktemp("torch") / "run"
    config = TrainConfig(steps=4, eval_every=2, monitor_every=2, batch_size=10, out=str(out), threads=1)
    training.train(config, synthetic_mnist(), progress=False)
    return out


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".lock"}


def test_resuming_a_finished_torch_run_with_the_numpy_engine_is_refused_without_advising_overwrite(
    tmp_path, capsys, fake_mnist, torch_run
) -> None:
    """`dcn --out A --resume --engine numpy` on a finished torch run said it "stopped before its first
    checkpoint" and advised --overwrite, which deletes the finished run (item 3)."""
    run = tmp_path / "A"
    shutil.copytree(torch_run, run)
    before = _files(run)
    assert cli.main(["dcn", "--quiet", "--out", str(run), "--resume", "--engine", "numpy"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "engine 'torch' -> 'numpy'" in err, err
    assert "--overwrite" not in err
    assert _files(run) == before


def test_a_resumed_torch_run_keeps_watching_for_divergence(tmp_path, fake_torch_mnist) -> None:
    """After a resume the torch engine forgot the divergence watch: an exploding run completed
    (item 5). Stopped after its first checkpoint and resumed, it diverges where and why the
    uninterrupted run does."""
    from backproplab.errors import TrainingDiverged

    settings = {"steps": 40, "batch_size": 10, "eval_every": 5, "monitor_every": 10, "optimizer": "sgd", "lr": 1e3}
    whole = TrainConfig(**settings, out=str(tmp_path / "whole"), threads=1)
    with pytest.raises(TrainingDiverged) as uninterrupted:
        training.train(whole, fake_torch_mnist, progress=False)

    def stop(step: int, loss: float) -> None:
        if step == 6:  # after the checkpoint at 5 steps done
            raise KeyboardInterrupt

    parts = TrainConfig(**settings, out=str(tmp_path / "parts"), threads=1)
    with pytest.raises(KeyboardInterrupt):
        training.train(parts, fake_torch_mnist, progress=False, callback=stop)
    with pytest.raises(TrainingDiverged) as resumed:
        training.train(TrainConfig(**settings, out=parts.out, threads=1, resume=True), fake_torch_mnist, progress=False)
    want, got = uninterrupted.value.metrics["final"], resumed.value.metrics["final"]
    assert want["diverged_at_step"] == 10 and "10 times its first value" in want["diverged_reason"]
    assert (got["diverged_at_step"], got["diverged_reason"]) == (want["diverged_at_step"], want["diverged_reason"])


def _edit_torch_checkpoint(path, edit) -> None:
    import torch

    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)


def _edit_numpy_checkpoint(path, edit) -> None:
    with np.load(path) as saved:
        arrays = {name: saved[name] for name in saved.files}
    meta = json.loads(arrays["meta"].tobytes())
    edit(meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def _bad_history(state) -> None:
    state["history"][-1] = "not an evaluation"


def _bad_history_value(state) -> None:
    state["history"][0]["validation_accuracy"] = "high"


def _bad_watch(state) -> None:
    state["watch"] = {"first_loss": "abc", "steps_above": 0}


@pytest.mark.parametrize("engine", ["torch", "numpy"])
@pytest.mark.parametrize(
    ("damage", "message"),
    [(_bad_history, "'history'"), (_bad_history_value, "'history'"), (_bad_watch, "'watch'")],
)
def test_damaged_entries_below_the_top_level_are_one_line_and_leave_no_event_file(
    tmp_path, capsys, fake_mnist, fake_torch_mnist, torch_run, numpy_run, engine, damage, message
) -> None:
    """History entries that are not evaluation records, or a non-numeric watch.first_loss, crashed
    both engines with TypeError/KeyError, each attempt leaving an event file (item 10)."""
    run = tmp_path / "run"
    if engine == "torch":
        shutil.copytree(torch_run, run)
        _edit_torch_checkpoint(run / "checkpoint.pt", damage)
        argv = [*TORCH_RUN, "--out", str(run), "--resume", "--steps", "6"]
    else:
        shutil.copytree(numpy_run, run)
        _edit_numpy_checkpoint(run / "checkpoint.npz", damage)
        argv = [*NUMPY_RUN, "--out", str(run), "--resume", "--steps", "3"]
    before = sorted(run.glob("events.out.tfevents.*"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"has a damaged {message} entry" in err and "--overwrite" in err, err
    assert sorted(run.glob("events.out.tfevents.*")) == before


#: A `backproplab dcn` process whose files may not grow beyond 1 MiB (RLIMIT_FSIZE): config.json and
#: the events fit, the 39 MB checkpoint does not. The kernel refuses the write, as on a full disk.
def _small_file_limit() -> None:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))


def test_the_torch_engine_on_a_full_disk_says_what_happened_in_one_line(tmp_path) -> None:
    """The torch engine on a full disk: `RuntimeError: basic_ios::clear: iostream error` traceback,
    rc 1, no metrics.json (item 9). A real process whose checkpoint write the kernel refuses."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "run"
    child = Path(__file__).parent / "dcn_child.py"
    done = subprocess.run(
        [sys.executable, str(child), "--", *TORCH_RUN[1:], "--steps", "4", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
        preexec_fn=_small_file_limit,
    )
    err = done.stderr.strip()
    assert done.returncode == 2, err[-3000:]
    assert err.count("\n") == 0 and "Traceback" not in err
    assert f"cannot write the run in {out}: File too large" in err and "--overwrite" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "File too large" in metrics["final"]["error"]
    assert not list(out.glob(".*.tmp*"))  # the half-written checkpoint is gone
