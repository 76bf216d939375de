"""Training runs: TensorBoard tags, files, resume, divergence, bad options, the CLI and TensorBoard."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from backproplab import cli
from backproplab.commands import tensorboard as tb_command
from backproplab.dcn import MONITORED, TrainConfig, TrainingDiverged, train
from backproplab.errors import UsageError
from backproplab.mnist_net import run as train_module
from backproplab.monitoring import read_histogram_tags, read_scalars
from dcn_child import synthetic_mnist

STATS = ("min", "max", "mean", "std", "nonfinite")
EVAL_TAGS = ("eval/validation_error", "eval/test_error", "eval/validation_accuracy", "eval/test_accuracy")


pytestmark = pytest.mark.usefixtures("one_thread")


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
    final = saved["final"]
    assert final["steps_done"] == 5 and final["parameter_count"] == 3_274_634
    assert saved["curves"]["step"] == [3, 5]
    assert final["test_error"] == pytest.approx(scalars["eval/test_error"][-1][1], abs=1e-6)
    assert saved["wall_seconds"] > 0 and saved["steps_per_second"] > 0
    assert final["gflops_per_second"] > 0 and final["validation_accuracy"] > 0
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
    assert interrupted["status"] == "interrupted" and interrupted["final"]["steps_done"] == 5
    assert torch.load(tmp_path / "broken" / "checkpoint.pt", weights_only=True)["step"] == 3

    resumed = small_config(tmp_path, steps=7, out=str(tmp_path / "broken"), resume=True)
    train(resumed, data, progress=False)
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "broken")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # TensorBoard drops the interrupted attempt's steps after the checkpoint: one clean curve; and the
    # checkpoint's own evaluation (step 3), which the purge also drops, is written again.
    resumed_scalars, whole_scalars = read_scalars(tmp_path / "broken"), read_scalars(tmp_path / "whole")
    assert resumed_scalars["train/loss"] == whole_scalars["train/loss"]
    for tag in EVAL_TAGS:
        assert [s for s, _ in resumed_scalars[tag]] == [3, 6, 7], tag
        assert resumed_scalars[tag] == whole_scalars[tag], tag


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
    step = info.value.metrics["final"]["diverged_at_step"]
    out = tmp_path / "run"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["status"] == "diverged" and saved["final"]["diverged_at_step"] == step < 20
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
    with pytest.raises(UsageError, match=r"already holds a run; continue it with: backproplab dcn --out .* --resume"):
        train(small_config(tmp_path, steps=2), data, progress=False)
    metrics = train(small_config(tmp_path, steps=2, overwrite=True), data, progress=False)
    assert metrics["status"] == "completed"
    assert len(list((tmp_path / "run").glob("events.out.tfevents.*"))) == 1


# ----------------------------------------------------------------------------- command line


@pytest.fixture
def fake_mnist(monkeypatch):
    """The CLI loads MNIST through mnist_net.run.load_data; give it the synthetic set."""
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


# ----------------------------------------------------------------------------- stopping, resuming, refusing

CHILD = Path(__file__).with_name("dcn_child.py")


def _child(args: list[str], **kwargs) -> subprocess.Popen:
    """A real `backproplab dcn` process on synthetic data (tests/dcn_child.py)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"child ended early ({process.returncode}): {process.communicate()[1]}")
        assert time.monotonic() < deadline, "child never got there"
        time.sleep(0.05)


SMALL_RUN = ["--quiet", "--threads", "1", "--batch-size", "10", "--eval-every", "3", "--monitor-every", "2"]


def test_a_second_process_is_refused_and_sigterm_stops_like_ctrl_c(tmp_path, fake_mnist) -> None:
    """Real processes: a run holds its folder against a second one; SIGTERM then stops it as Ctrl-C
    does, and --resume ends with the weights of an uninterrupted run."""
    whole = tmp_path / "whole"
    train(small_config(tmp_path, steps=7, out=str(whole)), fake_mnist, progress=False)

    out = tmp_path / "my runs" / "stopped"  # a space: the printed hint must quote it
    ready = tmp_path / "ready"
    first = _child(["--pause-at", "4", "--ready", str(ready), "--", *SMALL_RUN, "--steps", "7", "--out", str(out)])
    try:
        _wait_for(ready, first)  # after step 4; the checkpoint at 3 steps done is on disk
        second = _child(["--", *SMALL_RUN, "--steps", "2", "--out", str(out)])
        _, err = second.communicate(timeout=300)
        assert second.returncode == 2
        assert err.strip().splitlines() == [err.strip()]
        assert f"is in use by process {first.pid}" in err
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines() == [err.strip()]
    assert "stopped by SIGTERM" in err and f"--out '{out}' --resume" in err
    stopped = json.loads((out / "metrics.json").read_text())
    assert stopped["status"] == "interrupted" and stopped["final"]["steps_done"] == 5
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 3
    assert stopped["config"]["steps"] == 7  # the refused run wrote nothing

    assert cli.main(["dcn", "--quiet", "--out", str(out), "--resume"]) == 0
    a, b = _weights(whole), _weights(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((out / "metrics.json").read_text())["status"] == "completed"
    assert read_scalars(out)["eval/test_error"] == read_scalars(whole)["eval/test_error"]
    assert read_scalars(out)["train/loss"] == read_scalars(whole)["train/loss"]


def test_sighup_is_an_interrupt_with_exit_129(tmp_path, monkeypatch, capsys, fake_mnist) -> None:
    real_train = train_module.train

    def hang_up(step: int, loss: float) -> None:
        if step == 1:
            os.kill(os.getpid(), signal.SIGHUP)  # what a closed terminal sends

    monkeypatch.setattr(train_module, "train", lambda *a, **k: real_train(*a, **{**k, "callback": hang_up}))
    before = signal.getsignal(signal.SIGHUP)
    rc = cli.main(["dcn", "--quiet", "--out", str(tmp_path / "run"), "--steps", "5", "--batch-size", "10"])
    assert rc == 128 + signal.SIGHUP
    err = _one_line_error(capsys)
    # Stopped before its first checkpoint: the advice is to start again, not to resume.
    assert "stopped by SIGHUP" in err and "--overwrite" in err and "--resume" not in err
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "interrupted"
    assert signal.getsignal(signal.SIGHUP) == before  # the handlers are put back


def test_resuming_a_completed_run_is_a_no_op(tmp_path, fake_mnist, capsys) -> None:
    out = tmp_path / "run"
    common = ["dcn", "--quiet", "--out", str(out), "--batch-size", "10", "--eval-every", "2", "--steps", "4"]
    assert cli.main(common) == 0
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".lock"}
    capsys.readouterr()
    assert cli.main(["dcn", "--quiet", "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "already completed its 4 steps; nothing to do" in printed and "nan" not in printed.lower()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".lock"} == files
    assert [s for s, _ in read_scalars(out)["eval/test_error"]] == [2, 4]


def test_crash_before_the_first_checkpoint_gives_no_circular_advice(tmp_path, capsys, fake_mnist) -> None:
    out = tmp_path / "run"

    def stop(step: int, loss: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(small_config(tmp_path), fake_mnist, progress=False, callback=stop)
    assert cli.main(["dcn", "--quiet", "--out", str(out), "--resume"]) == 2
    with_resume = _one_line_error(capsys)
    assert cli.main(["dcn", "--quiet", "--out", str(out)]) == 2
    without = _one_line_error(capsys)
    assert "stopped before its first checkpoint" in with_resume and "--overwrite" in with_resume
    assert "--resume" not in without.split("already holds a run")[1] and "--overwrite" in without
    assert cli.main(["dcn", "--quiet", "--out", str(out), "--overwrite", "--steps", "2", "--batch-size", "10"]) == 0


def test_overwrite_clears_stale_temporaries_of_a_killed_run(tmp_path, fake_mnist) -> None:
    out = tmp_path / "run"
    train(small_config(tmp_path, steps=2), fake_mnist, progress=False)
    stale = out / ".checkpoint.x1y2z3.tmp.pt"  # what kill -9 during torch.save leaves
    stale.write_bytes(b"\0" * 100_000)
    train(small_config(tmp_path, steps=2, overwrite=True), fake_mnist, progress=False)
    assert not stale.exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("events")) == [
        ".lock",
        "checkpoint.pt",
        "config.json",
        "metrics.json",
    ]


def _checkpoint(tmp_path, fake_mnist) -> tuple[Path, dict]:
    train(small_config(tmp_path, steps=3), fake_mnist, progress=False)
    path = tmp_path / "run" / "checkpoint.pt"
    return path, torch.load(path, weights_only=True)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda s: b"not a checkpoint at all", "is damaged or not a backproplab checkpoint"),
        (lambda s: {k: v for k, v in s.items() if k != "config"}, "lacks its 'config' entry"),
        (lambda s: {**s, "format": 99}, "has format 99; this version reads format 1"),
        (lambda s: {**s, "random": {"torch": torch.zeros(3, dtype=torch.uint8)}}, "has a damaged random state"),
        (lambda s: {**s, "model": {**s["model"], "fc1_w": torch.zeros(2, 2)}}, "fc1_w: (2, 2) vs (1024, 3136)"),
        (lambda s: {**s, "step": "three"}, "has a damaged 'step' entry"),
        (lambda s: [1, 2, 3], "is not a backproplab checkpoint"),
    ],
)
def test_malformed_checkpoint_is_one_line_in_our_words(tmp_path, capsys, fake_mnist, damage, message) -> None:
    path, state = _checkpoint(tmp_path, fake_mnist)
    damaged = damage(state)
    if isinstance(damaged, bytes):
        path.write_bytes(damaged)
    else:
        torch.save(damaged, path)
    rc = cli.main(["dcn", "--quiet", "--out", str(tmp_path / "run"), "--resume", "--steps", "6"])
    assert rc == 2
    err = _one_line_error(capsys)
    assert message in err and "--overwrite" in err
    assert "weights_only" not in err and "Traceback" not in err


def test_loss_far_above_its_start_is_divergence_and_warn_carries_on(tmp_path, fake_mnist, capsys) -> None:
    config = small_config(tmp_path, optimizer="sgd", lr=30.0, steps=8, eval_every=8, monitor_every=2)
    with pytest.raises(TrainingDiverged, match=r"stayed above 10 times its first value .* for 2 steps") as info:
        train(config, fake_mnist, progress=False)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["status"] == "diverged" and math.isfinite(saved["final"]["diverged_loss"])
    assert saved["final"]["diverged_at_step"] == info.value.metrics["final"]["diverged_at_step"] < 8
    losses = [v for _, v in read_scalars(tmp_path / "run")["train/loss"]]
    assert all(math.isfinite(v) for v in losses) and max(losses[-2:]) > 10 * losses[0]

    warn = small_config(
        tmp_path, optimizer="sgd", lr=30.0, steps=8, eval_every=8, monitor_every=2, overwrite=True, on_divergence="warn"
    )
    metrics = train(warn, fake_mnist, progress=True)
    assert metrics["status"] == "completed"
    assert capsys.readouterr().err.count("warning: training diverged at step") == 1


def test_chance_accuracy_after_an_epoch_is_divergence(tmp_path) -> None:
    data = synthetic_mnist()
    data.validation.images[:] = 0.0  # nothing to see: every validation image gets the same answer
    config = small_config(tmp_path, steps=24, eval_every=12)  # 120 images in batches of 10: 12 steps an epoch
    with pytest.raises(TrainingDiverged, match=r"after 1\.00 epochs the validation accuracy is .* no better than"):
        train(config, data, progress=False)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["status"] == "diverged" and saved["final"]["diverged_at_step"] == 12


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--name", "../../x"], "--name: '../../x' is not a name"),
        (["--name", "a/b"], "--name: 'a/b' is not a name"),
        (["--threads", "100000"], "--threads: 100000 threads but this machine has"),
    ],
)
def test_names_and_threads_refused_before_anything_is_written(tmp_path, monkeypatch, capsys, argv, message) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["dcn", "--quiet", "--steps", "1", *argv]) == 2
    assert message in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_batch_too_large_for_the_memory_is_refused_before_allocating(tmp_path, monkeypatch, capsys) -> None:
    from backproplab import limits

    monkeypatch.setattr(limits, "available_memory", lambda: 2 * 2**30)
    rc = cli.main(["dcn", "--quiet", "--batch-size", "5000", "--out", str(tmp_path / "run")])
    assert rc == 2
    err = _one_line_error(capsys)
    assert "--batch-size 5000 needs about" in err and "2.0 GiB is available" in err
    assert not (tmp_path / "run").exists()


def test_memory_error_is_one_line_with_a_hint(tmp_path, monkeypatch, capsys) -> None:
    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(train_module, "train", out_of_memory)
    assert cli.main(["dcn", "--quiet", "--out", str(tmp_path / "run")]) == 2
    assert "out of memory; choose smaller sizes" in _one_line_error(capsys)


def test_every_json_file_of_every_dcn_run_is_strict(tmp_path, fake_mnist) -> None:
    def no_nan(token: str) -> float:
        raise ValueError(f"{token} is not JSON")

    train(small_config(tmp_path, steps=2, out=str(tmp_path / "done")), fake_mnist, progress=False)
    with pytest.raises(TrainingDiverged):
        train(small_config(tmp_path, optimizer="sgd", lr=1e8, steps=20, out=str(tmp_path / "nan")), fake_mnist,
              progress=False)  # fmt: skip

    def stop(step: int, loss: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # stopped before any evaluation: no final numbers yet
        train(small_config(tmp_path, out=str(tmp_path / "stopped")), fake_mnist, progress=False, callback=stop)
    files = sorted(tmp_path.glob("*/*.json"))
    assert len(files) == 6
    for path in files:
        json.loads(path.read_text(), parse_constant=no_nan)
    diverged = json.loads((tmp_path / "nan" / "metrics.json").read_text())
    assert diverged["final"]["diverged_loss"] is None  # NaN, written as null
    assert json.loads((tmp_path / "stopped" / "metrics.json").read_text())["final"]["test_error"] is None
