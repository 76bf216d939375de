"""Training the NumPy ConvNet: the DCN's run folder and TensorBoard tags, resume, errors, the CLI."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from backproplab import cli
from backproplab.dcn.choices import MONITORED
from backproplab.dcn.config import TrainConfig
from backproplab.errors import UsageError
from backproplab.monitoring import read_histogram_tags, read_scalars
from backproplab.scratch import convnet_training
from backproplab.scratch.convnet_training import TrainingDiverged, train

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
    settings = {"steps": 5, "batch_size": 8, "eval_every": 3, "monitor_every": 2, "out": str(tmp_path / "run")}
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
    assert saved["status"] == "completed" and saved["engine"] == "numpy" and saved["steps_done"] == 5
    assert saved["test_error"] == pytest.approx(1 - saved["test_accuracy"]) == scalars["eval/test_error"][-1][1]
    assert saved["parameter_count"] == 3_274_634 and metrics["curves"]["step"] == [3, 5]
    assert json.loads((out / "config.json").read_text())["engine"] == "numpy"
    assert (out / "checkpoint.pkl").is_file()


def test_it_learns_the_synthetic_digits(tmp_path) -> None:
    config = small_config(tmp_path, steps=30, batch_size=10, eval_every=30, monitor_every=100, lr=1e-3)
    metrics = train(config, synthetic_mnist(120, 40), progress=False)
    assert metrics["test_accuracy"] >= 0.8


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, monkeypatch) -> None:
    data = synthetic_mnist()
    full = train(small_config(tmp_path, out=str(tmp_path / "full"), optimizer="momentum"), data, progress=False)
    first = small_config(tmp_path, out=str(tmp_path / "parts"), optimizer="momentum", steps=3)
    train(first, data, progress=False)
    resumed = train(small_config(tmp_path, out=str(tmp_path / "parts"), optimizer="momentum", resume=True), data, False)
    assert resumed["steps_done"] == 5
    assert resumed["curves"]["test_error"] == full["curves"]["test_error"]
    a = read_scalars(tmp_path / "full")["train/loss"]
    b = read_scalars(tmp_path / "parts")["train/loss"]
    assert a == b
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
        ({"resume": True}, "no numpy-engine checkpoint"),
    ],
)
def test_what_the_numpy_engine_cannot_do_is_one_clear_error(tmp_path, overrides, message) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        train(small_config(tmp_path, **overrides), synthetic_mnist(), progress=False)
    assert not (tmp_path / "run" / "config.json").exists()


def test_divergence_stops_with_metrics_written(tmp_path) -> None:
    with pytest.raises(TrainingDiverged, match="diverged at step"):
        train(small_config(tmp_path, steps=40, optimizer="sgd", lr=1e6), synthetic_mnist(), progress=False)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "diverged"


def test_the_numpy_engine_never_imports_torch(tmp_path) -> None:
    import subprocess

    code = (
        "import sys; from backproplab.scratch import convnet_training, convnet, conv; "
        "from backproplab.commands import dcn; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def fake_mnist(monkeypatch):
    data = synthetic_mnist()
    monkeypatch.setattr(convnet_training, "load_data", lambda config, progress=True: data)
    return data


def test_cli_engine_numpy_trains_and_refuses_bf16_in_one_line(tmp_path, capsys, fake_mnist) -> None:
    common = ["dcn", "--engine", "numpy", "--quiet", "--out", str(tmp_path / "run"), "--batch-size", "8"]
    assert cli.main([*common, "--steps", "2", "--eval-every", "2"]) == 0
    out = capsys.readouterr().out
    assert "final test accuracy" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["engine"] == "numpy" and math.isfinite(metrics["test_accuracy"])
    assert cli.main([*common, "--resume", "--steps", "3"]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["steps_done"] == 3
    assert cli.main([*common, "--overwrite", "--precision", "bf16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "numpy engine computes in fp32" in err


def test_cli_rejects_an_unknown_engine(capsys) -> None:
    assert cli.main(["dcn", "--engine", "jax"]) == 2
    assert "--engine: unknown engine 'jax'; choose one of: torch, numpy" in capsys.readouterr().err


def test_numpy_predictions_shape_and_empty() -> None:
    from backproplab.scratch.convnet import ConvNet

    net = ConvNet()
    assert net.predict(np.zeros((3, 784), np.float32)).shape == (3,)
    assert net.predict(np.zeros((0, 784), np.float32)).shape == (0,)
