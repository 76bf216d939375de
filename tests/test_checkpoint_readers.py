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
from backproplab.dcn.config import TrainConfig
from backproplab.scratch import convnet_training
from dcn_child import synthetic_mnist

NUMPY_RUN = ["dcn", "--engine", "numpy", "--quiet", "--batch-size", "8", "--optimizer", "momentum"]


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    """A finished 2-step numpy-engine run (momentum: it has optimizer buffers)."""
    out = tmp_path_factory.mktemp("numpy") / "run"
    config = TrainConfig(steps=2, eval_every=2, batch_size=8, optimizer="momentum", out=str(out))
    with threadpool_limits(limits=1, user_api="blas"):
        convnet_training.train(config, synthetic_mnist(), progress=False)
    return out


@pytest.fixture
def fake_mnist(monkeypatch):
    data = synthetic_mnist()
    monkeypatch.setattr(convnet_training, "load_data", lambda config, progress=True: data)
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
    from backproplab.scratch import convnet_checkpoint

    with np.load(numpy_run / "checkpoint.npz") as saved:
        expected = {name: saved[name] for name in saved.files}
    from backproplab.scratch.convnet import ConvNet
    from backproplab.scratch.optimizers import make_optimizer

    config = TrainConfig.from_dict(json.loads((numpy_run / "config.json").read_text()))
    net = ConvNet(config.activation, config.init, config.dropout, seed=config.seed, dtype=np.float32)
    optimizer = make_optimizer(config.optimizer, net.parameters(), config.learning_rate)
    meta = convnet_checkpoint.load(numpy_run / "checkpoint.npz", net.params, optimizer.params)
    for name, value in meta["model"].items():
        np.testing.assert_array_equal(value, expected[f"model/{name}"])
        assert value.flags.writeable
    assert np.array_equal(meta["data"]["permutation"], expected["data/permutation"])
    assert meta["step"] == 2 and meta["optimizer"]["state"][0]
