"""Training runs: TensorBoard tags, files, resume, divergence, bad options, the CLI and TensorBoard."""

from __future__ import annotations

import json
import math
import urllib.request

import numpy as np
import pytest
import torch

from backproplab import cli
from backproplab.commands import tensorboard as tb_command
from backproplab.datasets import mnist
from backproplab.dcn import MONITORED, TrainConfig, TrainingDiverged, train
from backproplab.dcn import training as train_module
from backproplab.errors import UsageError
from backproplab.monitoring import read_histogram_tags, read_scalars

STATS = ("min", "max", "mean", "std", "nonfinite")
EVAL_TAGS = ("eval/validation_error", "eval/test_error", "eval/validation_accuracy", "eval/test_accuracy")


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def synthetic_mnist(n_train: int = 120, n_eval: int = 40, seed: int = 0) -> mnist.Datasets:
    """MNIST-shaped data a CNN can learn: class c lights up its own band of rows, plus noise."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, n).astype(np.int64)
        images = rng.random((n, 28, 28), dtype=np.float32) * 0.3
        for i, c in enumerate(labels):
            images[i, 2 * c + 4 : 2 * c + 7, 4:24] += 0.7
        return images.reshape(n, 784), labels

    seeds = np.random.SeedSequence(seed).spawn(3)
    return mnist.Datasets(
        train=mnist.DataSet(*split(n_train), seeds[0]),
        validation=mnist.DataSet(*split(n_eval), seeds[1]),
        test=mnist.DataSet(*split(n_eval), seeds[2]),
    )


def small_config(tmp_path, **overrides) -> TrainConfig:
    settings = {"steps": 5, "batch_size": 10, "eval_every": 3, "monitor_every": 2, "out": str(tmp_path / "run")}
    settings["threads"] = 1  # as the module's fixture: two test processes share two cores
    settings.update(overrides)
    return TrainConfig(**settings)


def test_short_run_writes_every_tag_files_and_checkpoint(tmp_path) -> None:
    config = small_config(tmp_path)
    metrics = train(config, synthetic_mnist(), progress=False)
    out = tmp_path / "run"
    scalars = read_scalars(out)
    histograms = read_histogram_tags(out)
    monitored_steps = [0, 2, 4]  # every 2 steps, and the last step (4)
    assert [s for s, _ in scalars["train/loss"]] == [0, 1, 2, 3, 4]
    assert [s for s, _ in scalars["train/accuracy"]] == monitored_steps
    for name in MONITORED:
        assert histograms[name] == monitored_steps, name
        for stat in STATS:
            assert [s for s, _ in scalars[f"{name}/{stat}"]] == monitored_steps, f"{name}/{stat}"
    for tag in EVAL_TAGS:
        assert [s for s, _ in scalars[tag]] == [3, 5]  # every 3 steps done, and at the end
    assert all(math.isfinite(v) for values in scalars.values() for _, v in values)
    assert all(v == 0 for name in MONITORED for _, v in scalars[f"{name}/nonfinite"])
    # Summaries describe the real tensors: biases start at exactly 0.1; ReLU outputs are >= 0.
    assert scalars["conv1/biases/mean"][0][1] == pytest.approx(0.1)
    assert scalars["conv1/biases/std"][0][1] == 0.0
    assert scalars["fc1/activation/min"][0][1] == 0.0 and scalars["conv1/net_input/min"][0][1] < 0
    assert scalars["fc1/weights/max"][0][1] <= 0.2 and scalars["fc1/weights/min"][0][1] >= -0.2
    # Errors are fractions, and match the accuracies and metrics.json.
    for (_, err), (_, acc) in zip(scalars["eval/test_error"], scalars["eval/test_accuracy"], strict=True):
        assert err == pytest.approx(1 - acc, abs=1e-6) and 0 <= err <= 1

    saved = json.loads((out / "metrics.json").read_text())
    assert saved["status"] == metrics["status"] == "completed"
    assert saved["steps_done"] == 5 and saved["parameter_count"] == 3_274_634
    assert saved["curves"]["step"] == [3, 5]
    assert saved["test_error"] == pytest.approx(scalars["eval/test_error"][-1][1], abs=1e-6)
    for key in ("wall_seconds", "steps_per_second", "gflops_per_second", "validation_accuracy"):
        assert saved[key] > 0, key
    assert json.loads((out / "config.json").read_text())["learning_rate"] == 1e-4
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == 5 and "fc1_w" in checkpoint["model"]


def test_bf16_run_trains(tmp_path) -> None:
    metrics = train(small_config(tmp_path, precision="bf16", steps=3), synthetic_mnist(), progress=False)
    assert metrics["status"] == "completed" and math.isfinite(metrics["curves"]["train_loss"][-1])
    assert read_histogram_tags(tmp_path / "run")["conv1/activation"] == [0, 2]


def _weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path / "checkpoint.pt", weights_only=True)["model"]


def test_resume_ends_with_bit_identical_weights(tmp_path) -> None:
    data = synthetic_mnist()
    whole = small_config(tmp_path, steps=7, out=str(tmp_path / "whole"))
    train(whole, data, progress=False)

    def interrupt(step: int, loss: float) -> None:
        if step == 4:  # after the checkpoint at 3 steps done
            raise KeyboardInterrupt

    broken = small_config(tmp_path, steps=7, out=str(tmp_path / "broken"))
    with pytest.raises(KeyboardInterrupt):
        train(broken, data, progress=False, callback=interrupt)
    interrupted = json.loads((tmp_path / "broken" / "metrics.json").read_text())
    assert interrupted["status"] == "interrupted" and interrupted["steps_done"] == 5
    assert torch.load(tmp_path / "broken" / "checkpoint.pt", weights_only=True)["step"] == 3

    resumed = small_config(tmp_path, steps=7, out=str(tmp_path / "broken"), resume=True)
    train(resumed, data, progress=False)
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "broken")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # TensorBoard drops the interrupted attempt's steps after the checkpoint: one clean curve.
    assert read_scalars(tmp_path / "broken")["train/loss"] == read_scalars(tmp_path / "whole")["train/loss"]


def test_resume_refuses_changed_settings(tmp_path) -> None:
    data = synthetic_mnist()
    train(small_config(tmp_path, steps=3), data, progress=False)
    with pytest.raises(UsageError, match=r"cannot resume .*\(seed 0 -> 1\)"):
        train(small_config(tmp_path, steps=6, seed=1, resume=True), data, progress=False)


def test_training_leaves_a_shared_data_object_as_found(tmp_path) -> None:
    data = synthetic_mnist()
    before = data.train.state_dict()
    train(small_config(tmp_path, steps=3), data, progress=False)
    assert data.train.state_dict() == before


def test_diverging_run_ends_cleanly_with_logs(tmp_path) -> None:
    config = small_config(tmp_path, optimizer="sgd", lr=1e8, steps=20, eval_every=10)
    with pytest.raises(TrainingDiverged, match=r"training diverged at step \d+: .*try a smaller --lr") as info:
        train(config, synthetic_mnist(), progress=False)
    step = info.value.metrics["diverged_at_step"]
    out = tmp_path / "run"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["status"] == "diverged" and saved["diverged_at_step"] == step < 20
    scalars = read_scalars(out)
    assert not math.isfinite(scalars["train/loss"][-1][1]) and scalars["train/loss"][-1][0] == step
    # Weights were summarised at the divergence step, and show the blow-up.
    assert scalars["fc1/weights/nonfinite"][-1][0] == step
    blown = [max(-scalars[f"{n}/weights/min"][-1][1], scalars[f"{n}/weights/max"][-1][1]) for n in ("fc1", "fc2")]
    assert max(blown) > 1e3 or scalars["fc1/weights/nonfinite"][-1][1] > 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"activation": "swish"}, "--activation: unknown activation 'swish'; choose one of: relu, tanh"),
        ({"init": "zeros"}, "--init: unknown initialisation 'zeros'"),
        ({"optimizer": "lbfgs"}, "--optimizer: unknown optimizer 'lbfgs'; choose one of: sgd"),
        ({"steps": 0}, "--steps: must be a positive whole number"),
        ({"batch_size": -5}, "--batch-size: must be a positive whole number"),
        ({"lr": 0.0}, "--lr: must be a positive number"),
        ({"lr": -1e-3}, "--lr: must be a positive number"),
        ({"dropout": 1.0}, "--dropout: is the probability of dropping a unit"),
        ({"eval_every": 0}, "--eval-every: must be a positive"),
        ({"precision": "fp16"}, "--precision: unknown precision 'fp16'; choose one of: auto, fp32, bf16"),
        ({"device": "tpu"}, "--device: unknown device 'tpu'"),
    ],
)
def test_bad_settings_fail_before_any_data_is_read(tmp_path, overrides, message) -> None:
    with pytest.raises(UsageError) as info:  # a config is checked when it is built
        train(small_config(tmp_path, data_dir=str(tmp_path / "no-data-here"), **overrides), progress=False)
    assert message in str(info.value)
    assert not (tmp_path / "run").exists()


def test_batch_larger_than_training_set(tmp_path) -> None:
    with pytest.raises(UsageError, match="--batch-size: 500 is larger than the 120 training images"):
        train(small_config(tmp_path, batch_size=500), synthetic_mnist(), progress=False)


def test_existing_run_needs_resume_or_overwrite(tmp_path) -> None:
    data = synthetic_mnist()
    train(small_config(tmp_path, steps=2), data, progress=False)
    with pytest.raises(UsageError, match="already holds a run; pass --resume"):
        train(small_config(tmp_path, steps=2), data, progress=False)
    metrics = train(small_config(tmp_path, steps=2, overwrite=True), data, progress=False)
    assert metrics["status"] == "completed"
    assert len(list((tmp_path / "run").glob("events.out.tfevents.*"))) == 1


# ----------------------------------------------------------------------------- command line


@pytest.fixture
def fake_mnist(monkeypatch):
    """The CLI loads MNIST through train.load_data; give it the synthetic set."""
    data = synthetic_mnist()
    monkeypatch.setattr(train_module, "load_data", lambda config, progress=True: data)
    return data


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--activation", "swish"], "choose one of: relu, tanh, sigmoid, leaky_relu, elu, gelu, maxout"),
        (["--optimizer", "lbfgs"], "choose one of: sgd, momentum, nesterov, adagrad, adadelta, rmsprop, adam"),
        (["--steps", "-3"], "--steps: must be a positive whole number"),
        (["--lr", "0"], "--lr: must be a positive number"),
        (["--batch-size", "1000"], "--batch-size: 1000 is larger than the 120 training images"),
    ],
)
def test_cli_bad_options_one_line_and_exit_2(tmp_path, capsys, fake_mnist, argv, message) -> None:
    rc = cli.main(["dcn", "--quiet", "--out", str(tmp_path / "run"), *argv])
    assert rc == 2
    err = _one_line_error(capsys)
    assert err.startswith("backproplab dcn: error: ") and message in err


def test_cli_missing_data_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("BACKPROPLAB_OFFLINE", "1")
    rc = cli.main(["dcn", "--quiet", "--steps", "2", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run")])
    assert rc == 2
    err = _one_line_error(capsys)
    assert "MNIST files missing" in err and "--data-dir" in err


def test_cli_run_resume_and_divergence(tmp_path, capsys, fake_mnist) -> None:
    out = tmp_path / "run"
    common = ["dcn", "--quiet", "--out", str(out), "--batch-size", "10", "--eval-every", "2"]
    assert cli.main([*common, "--steps", "2", "--monitor-every", "1"]) == 0
    printed = capsys.readouterr().out
    assert "final test accuracy" in printed and str(out) in printed
    # Resume: settings not typed again come from config.json (monitor-every 1); steps may grow.
    assert cli.main(["dcn", "--quiet", "--out", str(out), "--resume", "--steps", "4"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["steps"] == 4 and saved["monitor_every"] == 1 and saved["batch_size"] == 10
    assert json.loads((out / "metrics.json").read_text())["curves"]["step"] == [2, 4]

    diverge = ["dcn", "--quiet", "--out", str(tmp_path / "bad"), "--optimizer", "sgd", "--lr", "1e8"]
    assert cli.main([*diverge, "--steps", "20", "--batch-size", "10"]) == 2
    err = _one_line_error(capsys)
    assert "training diverged at step" in err and "try a smaller --lr" in err
    assert json.loads((tmp_path / "bad" / "metrics.json").read_text())["status"] == "diverged"


def test_cli_default_run_name(tmp_path, monkeypatch, fake_mnist) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["dcn", "--quiet", "--steps", "1", "--batch-size", "10", "--activation", "tanh"]) == 0
    assert (tmp_path / "runs" / "dcn" / "tanh-truncated_normal-adam-seed0" / "metrics.json").is_file()


def test_tensorboard_serves_on_loopback(tmp_path) -> None:
    (tmp_path / "runs").mkdir()
    argv = tb_command.tensorboard_argv(tmp_path / "runs", 6006)
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    url, stop = tb_command.start(tmp_path / "runs", port=0, load_fast=False)
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"<" in response.read(200)
    finally:
        stop()


def test_tensorboard_missing_logdir(tmp_path, capsys) -> None:
    assert cli.main(["tensorboard", "--logdir", str(tmp_path / "nope")]) == 2
    assert "no folder" in _one_line_error(capsys)
