"""Training the NumPy ConvNet: the DCN's run folder and TensorBoard tags, resume, errors, the CLI."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from backproplab import cli, runs
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.mnist_net import run as run_module
from backproplab.mnist_net.config import TrainConfig
from backproplab.mnist_net.contract import MONITORED
from backproplab.mnist_net.run import train
from backproplab.monitoring import read_histogram_tags, read_scalars

STATS = ("min", "max", "mean", "std", "nonfinite")
EVAL_TAGS = ("eval/validation_error", "eval/test_error", "eval/validation_accuracy", "eval/test_accuracy")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def synthetic_mnist(n_train: int = 60, n_eval: int = 20, seed: int = 0):
    from test_dcn_train import synthetic_mnist as make

    return make(n_train, n_eval, seed)


def small_config(tmp_path, **overrides) -> TrainConfig:
    settings = {
        "engine": "numpy",
        "steps": 5,
        "batch_size": 8,
        "eval_every": 3,
        "monitor_every": 2,
        "out": str(tmp_path / "run"),
    }
    settings.update(overrides)
    return TrainConfig(**settings)


def test_a_run_writes_the_dcns_tags_and_files(tmp_path) -> None:
    metrics = train(small_config(tmp_path), synthetic_mnist(), progress=False)
    out = tmp_path / "run"
    scalars, histograms = read_scalars(out), read_histogram_tags(out)
    monitored_steps = [0, 2, 4]
    assert [s for s, _ in scalars["train/loss"]] == [0, 1, 2, 3, 4]
    assert [s for s, _ in scalars["train/accuracy"]] == monitored_steps
    assert set(histograms) == set(MONITORED)
    for name in MONITORED:
        assert histograms[name] == monitored_steps, name
        for stat in STATS:
            assert [s for s, _ in scalars[f"{name}/{stat}"]] == monitored_steps, f"{name}/{stat}"
    for tag in EVAL_TAGS:
        assert [s for s, _ in scalars[tag]] == [3, 5]
    assert scalars["conv1/biases/mean"][0][1] == pytest.approx(0.1)
    assert scalars["fc1/activation/min"][0][1] == 0.0 and scalars["conv1/net_input/min"][0][1] < 0
    assert scalars["fc1/weights/max"][0][1] <= 0.2
    saved = json.loads((out / "metrics.json").read_text())
    assert tuple(saved) == runs.METRICS_KEYS and saved == json.loads(json.dumps(metrics))
    final = saved["final"]
    assert saved["status"] == "completed" and saved["engine"] == "numpy" and final["steps_done"] == 5
    assert final["test_error"] == pytest.approx(1 - final["test_accuracy"]) == scalars["eval/test_error"][-1][1]
    assert final["parameter_count"] == 3_274_634 and metrics["curves"]["step"] == [3, 5]
    assert saved["steps_per_second"] > 0 and final["precision"] == "fp32"
    assert json.loads((out / "config.json").read_text())["engine"] == "numpy"
    assert (out / "checkpoint.npz").is_file() and (out / ".lock").is_file()


def test_it_learns_the_synthetic_digits(tmp_path) -> None:
    config = small_config(tmp_path, steps=30, batch_size=10, eval_every=30, monitor_every=100, lr=1e-3)
    metrics = train(config, synthetic_mnist(120, 40), progress=False)
    assert metrics["final"]["test_accuracy"] >= 0.8


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, monkeypatch) -> None:
    data = synthetic_mnist()
    full = train(small_config(tmp_path, out=str(tmp_path / "full"), optimizer="momentum"), data, progress=False)
    first = small_config(tmp_path, out=str(tmp_path / "parts"), optimizer="momentum", steps=3)
    train(first, data, progress=False)
    resumed = train(small_config(tmp_path, out=str(tmp_path / "parts"), optimizer="momentum", resume=True), data, False)
    assert resumed["final"]["steps_done"] == 5
    assert resumed["curves"]["test_error"] == full["curves"]["test_error"]
    a = read_scalars(tmp_path / "full")["train/loss"]
    b = read_scalars(tmp_path / "parts")["train/loss"]
    assert a == b
    with np.load(tmp_path / "full" / "checkpoint.npz") as x, np.load(tmp_path / "parts" / "checkpoint.npz") as y:
        weights = [name for name in x.files if name.startswith(("model/", "optimizer/"))]
        assert len(weights) == 16 and set(weights) <= set(y.files)  # 8 parameters, 8 momentum buffers
        assert all(np.array_equal(x[name], y[name]) for name in weights)
    with pytest.raises(UsageError, match="different settings"):
        train(small_config(tmp_path, out=str(tmp_path / "parts"), optimizer="adam", resume=True), data, False)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"precision": "bf16"}, "--precision bf16: the numpy engine computes in fp32 only"),
        ({"activation": "gelu"}, "--activation gelu: not in the numpy engine"),
        ({"optimizer": "adamw"}, "--optimizer adamw: not in the numpy engine"),
        ({"device": "cuda"}, "--device cuda: the numpy engine runs on the CPU only"),
        ({"steps": 0}, "--steps: must be a positive whole number"),
        ({"resume": True}, "no numpy-engine run in"),
    ],
)
def test_what_the_numpy_engine_cannot_do_is_one_clear_error(tmp_path, overrides, message) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        train(small_config(tmp_path, **overrides), synthetic_mnist(), progress=False)
    assert not (tmp_path / "run" / "config.json").exists()


def test_divergence_stops_with_metrics_written(tmp_path) -> None:
    with pytest.raises(TrainingDiverged, match="diverged at step"):
        train(small_config(tmp_path, steps=40, optimizer="sgd", lr=1e6), synthetic_mnist(), progress=False)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text(), parse_constant=_no_constants)
    assert saved["status"] == "diverged" and saved["final"]["diverged_at_step"] < 40


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} in a run's JSON: not strict JSON")


def test_loss_far_above_its_start_is_divergence_and_warn_carries_on(tmp_path, capsys) -> None:
    config = small_config(tmp_path, optimizer="sgd", lr=30.0, steps=8, eval_every=8, monitor_every=2)
    with pytest.raises(TrainingDiverged, match=r"stayed above 10 times its first value .* for 2 steps"):
        train(config, synthetic_mnist(), progress=False)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text(), parse_constant=_no_constants)
    assert saved["status"] == "diverged" and math.isfinite(saved["final"]["diverged_loss"])
    losses = [v for _, v in read_scalars(tmp_path / "run")["train/loss"]]
    assert all(math.isfinite(v) for v in losses) and max(losses[-2:]) > 10 * losses[0]
    warn = small_config(tmp_path, optimizer="sgd", lr=30.0, steps=8, eval_every=8, monitor_every=2)
    warn.overwrite, warn.on_divergence = True, "warn"
    metrics = train(warn, synthetic_mnist(), progress=True)
    assert metrics["status"] == "completed"
    assert capsys.readouterr().err.count("warning: training diverged at step") == 1


def test_a_claimed_folder_and_an_existing_run_are_refused(tmp_path) -> None:
    out = tmp_path / "run"
    with runs.claimed(out), pytest.raises(UsageError, match="is in use by process"):
        train(small_config(tmp_path), synthetic_mnist(), progress=False)
    train(small_config(tmp_path, steps=3), synthetic_mnist(), progress=False)
    with pytest.raises(UsageError, match=r"already holds a run; continue it with: backproplab dcn --out .* --resume"):
        train(small_config(tmp_path), synthetic_mnist(), progress=False)
    (out / ".metrics.json.tmp123").write_text("{")  # a killed writer's temporary
    train(small_config(tmp_path, overwrite=True), synthetic_mnist(), progress=False)
    assert not (out / ".metrics.json.tmp123").exists()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 2-step run of the numpy engine with a checkpoint (momentum: it has optimizer buffers)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    config = TrainConfig(engine="numpy", steps=2, eval_every=2, batch_size=8, optimizer="momentum", out=str(out))
    with threadpool_limits(limits=1, user_api="blas"):
        train(config, synthetic_mnist(), progress=False)
    return out


class _Exploit:
    """Unpickling this runs ``open(marker, "w")``: the proof that a loader executes code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("pickle", "holds pickled data, which is never loaded"),
        ("npy-pickle", "holds pickled data, which is never loaded"),
        ("garbage", "is damaged"),
        ("npy", "one array, not an .npz archive"),
        ("shape", "does not match this network (fc2_b"),
        ("missing", "lacks the weights conv2_w"),
        ("meta", "damaged 'meta' entry (not JSON)"),
        ("format", "has format 1; this version reads format 2"),
        ("extra", "has an unknown entry 'optimizer/99/m'"),
    ],
)
def test_a_crafted_or_damaged_checkpoint_is_refused_in_one_line_and_runs_no_code(
    tmp_path, capsys, fake_mnist, finished_run, damage, message
) -> None:
    import pickle
    import shutil

    shutil.copytree(finished_run, tmp_path / "run")
    common = ["dcn", "--engine", "numpy", "--quiet", "--out", str(tmp_path / "run"), "--batch-size", "8"]
    path = tmp_path / "run" / "checkpoint.npz"
    marker = tmp_path / "pwned"
    with np.load(path) as saved:
        arrays = {name: saved[name] for name in saved.files}
    meta = json.loads(arrays["meta"].tobytes())
    if damage == "pickle":
        path.write_bytes(pickle.dumps({"engine": "numpy", "x": _Exploit(str(marker))}))
    elif damage == "npy-pickle":  # a zip of .npy files, one an object array: the pickle is inside
        arrays["meta"] = np.array([_Exploit(str(marker))], dtype=object)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)
    elif damage == "npy":
        with path.open("wb") as handle:
            np.save(handle, np.zeros(3))
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    else:
        if damage == "shape":
            arrays["model/fc2_b"] = np.zeros(11, np.float32)
        elif damage == "missing":
            del arrays["model/conv2_w"]
        elif damage == "meta":
            arrays["meta"] = np.frombuffer(b"{not json", np.uint8)
        elif damage == "format":
            arrays["meta"] = np.frombuffer(json.dumps({**meta, "format": 1}).encode(), np.uint8)
        elif damage == "extra":
            arrays["optimizer/99/m"] = np.zeros(3, np.float32)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)
    assert cli.main([*common, "--resume", "--steps", "3", "--optimizer", "momentum"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert message in err and "start the run again with --overwrite" in err, err
    assert not marker.exists()


def test_sigterm_stops_the_run_as_ctrl_c_and_it_resumes(tmp_path, monkeypatch, capsys, fake_mnist) -> None:
    import os
    import signal

    real_train = run_module.train

    def terminate(step: int, loss: float) -> None:
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(run_module, "train", lambda *a, **k: real_train(*a, **{**k, "callback": terminate}))
    common = ["dcn", "--engine", "numpy", "--quiet", "--out", str(tmp_path / "run"), "--batch-size", "8"]
    assert cli.main([*common, "--steps", "6", "--eval-every", "2"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stopped by SIGTERM" in err and "--resume" in err
    stopped = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert stopped["status"] == "interrupted" and stopped["final"]["steps_done"] == 4
    monkeypatch.setattr(run_module, "train", real_train)
    assert cli.main([*common, "--resume"]) == 0
    finished = (tmp_path / "run" / "metrics.json").read_bytes()
    assert json.loads(finished)["final"]["steps_done"] == 6
    capsys.readouterr()
    assert cli.main([*common, "--resume"]) == 0  # nothing left to do: nothing is touched
    assert "already completed its 6 steps; nothing to do" in capsys.readouterr().out
    assert (tmp_path / "run" / "metrics.json").read_bytes() == finished


def test_the_numpy_engine_never_imports_torch_nor_the_torch_engine(tmp_path) -> None:
    """A whole numpy-engine run, through the CLI's loop, in a fresh process: neither torch nor
    ``backproplab.dcn`` (the torch engine's package) is ever imported."""
    import subprocess
    from pathlib import Path

    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from backproplab.commands import dcn
from backproplab.mnist_net.config import TrainConfig
from backproplab.mnist_net.run import train
from dcn_child import synthetic_mnist
config = TrainConfig(engine="numpy", steps=2, batch_size=8, eval_every=2, schedule="cosine", threads=1,
                     out={str(tmp_path / "run")!r})
assert train(config, synthetic_mnist(), progress=False)["status"] == "completed"
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith(("torch.", "backproplab.dcn")))
assert not loaded, loaded
assert "backproplab.numpy_dcn.engine" in sys.modules
"""
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def fake_mnist(monkeypatch):
    data = synthetic_mnist()
    monkeypatch.setattr(run_module, "load_data", lambda config, progress=True: data)
    return data


def test_cli_engine_numpy_trains_and_refuses_bf16_in_one_line(tmp_path, capsys, fake_mnist) -> None:
    common = ["dcn", "--engine", "numpy", "--quiet", "--out", str(tmp_path / "run"), "--batch-size", "8"]
    assert cli.main([*common, "--steps", "2", "--eval-every", "2"]) == 0
    out = capsys.readouterr().out
    assert "final test accuracy" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["engine"] == "numpy" and math.isfinite(metrics["final"]["test_accuracy"])
    assert cli.main([*common, "--resume", "--steps", "3"]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["final"]["steps_done"] == 3
    assert cli.main([*common, "--overwrite", "--precision", "bf16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "numpy engine computes in fp32" in err


def test_cli_rejects_an_unknown_engine(capsys) -> None:
    assert cli.main(["dcn", "--engine", "jax"]) == 2
    assert "--engine: unknown engine 'jax'; choose one of: torch, numpy" in capsys.readouterr().err


def test_numpy_predictions_shape_and_empty() -> None:
    from backproplab.numpy_dcn.convnet import ConvNet

    net = ConvNet()
    assert net.predict(np.zeros((3, 784), np.float32)).shape == (3,)
    assert net.predict(np.zeros((0, 784), np.float32)).shape == (0,)
