"""`backproplab mlp` end to end: files written, numbers printed, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.datasets import make_moons

PNG = b"\x89PNG\r\n\x1a\n"


def test_mlp_writes_figures_and_metrics(tmp_path, capsys) -> None:
    out = tmp_path / "moons-tanh-3"
    code = main(
        [
            "mlp",
            "--dataset",
            "moons",
            "--activation",
            "tanh",
            "--hidden",
            "3",
            "--passes",
            "3000",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    for name in ("dataset.png", "decision_boundary.png", "loss.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000
    record = json.loads((out / "metrics.json").read_text())
    metrics = record["final"]
    assert record["status"] == "completed" and metrics["passes"] == 3000
    assert record["config"]["activation"] == "tanh" and record["config"]["hidden"] == 3
    assert json.loads((out / "config.json").read_text()) == record["config"]
    assert metrics["train_accuracy"] >= 0.9
    assert record["wall_seconds"] > 0 and record["steps_per_second"] == pytest.approx(3000 / record["wall_seconds"])
    assert record["curves"]["pass"][-1] == 3000
    # the metrics agree with an independent training through the Python API
    from backproplab.scratch import NeuralNetwork

    X, y = make_moons()
    net = NeuralNetwork(2, 3, 2, actFun_type="tanh")
    history = net.fit_model(X, y, num_passes=3000, print_loss=False)
    assert metrics["final_loss"] == pytest.approx(history["loss"][-1], rel=1e-12)
    assert metrics["train_accuracy"] == pytest.approx(np.mean(net.predict(X) == y))
    assert metrics["parameter_count"] == sum(p.size for p in net.parameters()) == 2 * 3 + 3 + 3 * 2 + 2
    printed = capsys.readouterr().out
    assert "training accuracy" in printed and f"{metrics['train_accuracy']:.3f}" in printed
    assert not list(out.glob(".*tmp*")), "temporary files left behind"


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--activation", "swish"], "--activation: unknown activation 'swish'; choose one of: identity, tanh"),
        (["--hidden", "0"], "--hidden: must be a positive whole number, got 0"),
        (["--lr", "-1"], "--lr (epsilon): must be a positive number, got -1.0"),
        (["--passes", "0"], "--passes (num_passes): must be a positive whole number, got 0"),
    ],
)
def test_mlp_bad_arguments_exit_nonzero_with_one_line(tmp_path, capsys, argv, needle) -> None:
    code = main(["mlp", "--out", str(tmp_path / "x"), "--no-progress", *argv])
    err = capsys.readouterr().err
    assert code != 0
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


# ----------------------------------------------------------------------------- run folders

QUICK = ["--passes", "50", "--no-progress"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_default_run_folder_holds_config_metrics_and_tensorboard_events(tmp_path, monkeypatch) -> None:
    from backproplab.monitoring import read_scalars

    monkeypatch.chdir(tmp_path)
    assert main(["mlp", "--hidden", "4", *QUICK]) == 0
    out = tmp_path / "runs" / "mlp" / "moons-tanh-4"
    assert {"config.json", "metrics.json", "loss.png"} <= {p.name for p in out.iterdir()}
    record = json.loads((out / "metrics.json").read_text())
    scalars = read_scalars(out)
    assert [s for s, _ in scalars["train/loss"]] == record["curves"]["pass"]
    assert [v for _, v in scalars["train/loss"]] == pytest.approx(record["curves"]["loss_per_example"], rel=1e-6)
    assert not (tmp_path / "results").exists()


def test_existing_run_refused_and_overwrite_leaves_no_old_files(tmp_path, capsys) -> None:
    out = tmp_path / "my run"  # a space: the hint quotes it
    assert main(["mlp", "--out", str(out), *QUICK]) == 0
    before = (out / "metrics.json").read_bytes()
    assert main(["mlp", "--dataset", "iris", "--hidden", "5", "--out", str(out), *QUICK]) == 2
    err = _one_line(capsys)
    # the command to run again is the user's own, settings kept, path quoted
    assert "already holds a run" in err
    assert f"backproplab mlp --dataset iris --hidden 5 --out '{out}' --passes 50 --no-progress --overwrite" in err
    assert "--resume" not in err
    assert (out / "metrics.json").read_bytes() == before
    assert main(["mlp", "--dataset", "iris", "--hidden", "5", "--out", str(out), "--overwrite", *QUICK]) == 0
    names = {p.name for p in out.iterdir()}
    assert "confusion_matrix.png" in names and not names & {"dataset.png", "decision_boundary.png"}
    assert len([n for n in names if n.startswith("events.out.tfevents")]) == 1  # curves not doubled
    assert json.loads((out / "metrics.json").read_text())["config"]["dataset"] == "iris"


def test_diverged_run_writes_strict_metrics_with_its_curves(tmp_path, capsys) -> None:
    out = tmp_path / "blowup"
    argv = ["mlp", "--lr", "1e6", "--passes", "20", "--hidden", "10,10", "--activation", "relu", "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 2
    err = _one_line(capsys)
    assert "try a smaller learning rate" in err and "metrics.json" in err

    def no_nan(token: str) -> float:
        raise ValueError(f"{token} is not JSON")

    for path in (out / "metrics.json", out / "config.json"):
        json.loads(path.read_text(), parse_constant=no_nan)
    record = json.loads((out / "metrics.json").read_text())
    reason = record["final"]["diverged_reason"]  # NaN, or a loss far above its start: the trainer's two rules
    assert record["status"] == "diverged" and ("the loss became" in reason or "stayed above 10 times" in reason)
    curves = record["curves"]
    assert curves["pass"][0] == 0 and len(curves["pass"]) == len(curves["loss_per_example"]) >= 1
    assert record["final"]["steps_done"] == curves["pass"][-1] < 20


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden"])
def test_run_name_must_be_one_folder_name(tmp_path, monkeypatch, capsys, name) -> None:
    (tmp_path / "inner").mkdir()
    monkeypatch.chdir(tmp_path / "inner")
    assert main(["mlp", "--name", name, *QUICK]) == 2
    assert f"--name: {name!r} is not a name" in _one_line(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["inner"] and not list((tmp_path / "inner").iterdir())


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--hidden", "100000000"], "a network [2, 100000000, 2] on 200 rows needs about"),
        (["--n-samples", "100000000000"], "on 100,000,000,000 rows needs about"),
    ],
)
def test_sizes_beyond_the_memory_refused_before_allocating(tmp_path, capsys, argv, needle) -> None:
    assert main(["mlp", "--out", str(tmp_path / "x"), *QUICK, *argv]) == 2
    err = _one_line(capsys)
    assert needle in err and "choose smaller --hidden widths or fewer --n-samples" in err
    assert not (tmp_path / "x").exists()


def test_memory_error_is_one_line_with_a_hint(tmp_path, monkeypatch, capsys) -> None:
    from backproplab.experiments import mlp_run

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(mlp_run, "train_and_measure", out_of_memory)
    assert main(["mlp", "--out", str(tmp_path / "x"), *QUICK]) == 2
    assert "out of memory; choose smaller sizes" in _one_line(capsys)


def test_sigterm_stops_an_mlp_run_with_metrics(tmp_path, monkeypatch, capsys) -> None:
    import os
    import signal
    import time

    from backproplab.experiments import mlp_run

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler raises out of this

    monkeypatch.setattr(mlp_run, "train_and_measure", terminated)
    out = tmp_path / "x"
    assert main(["mlp", "--out", str(out), *QUICK]) == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in _one_line(capsys)
    record = json.loads((out / "metrics.json").read_text())
    assert record["status"] == "interrupted" and record["final"]["steps_done"] == 0


def test_a_full_disk_is_one_line_and_metrics_json_says_failed(tmp_path, monkeypatch, capsys) -> None:
    """The mlp run on a full disk goes through the one disk-error path the dcn command has (issue 21, item 9's
    neighbour): one line naming the cause and the command to go on, and metrics.json status failed."""
    import errno

    from backproplab.experiments import mlp_run

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "loss.png"))

    monkeypatch.setattr(mlp_run, "_draw", full_disk)
    out = tmp_path / "run"
    code = main(["mlp", "--dataset", "xor", "--hidden", "4", "--passes", "20", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "Traceback" not in err
    assert f"cannot write the run in {out}: No space left on device" in err and "--overwrite" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "No space left on device" in metrics["final"]["error"]


def test_an_interrupted_run_writes_the_trainers_history(tmp_path, monkeypatch, capsys) -> None:
    """Ctrl-C after some records: metrics.json's curves are the trainer's own history (every list it
    keeps, the summed loss too), not a reading of the run's TensorBoard files."""
    from backproplab.scratch.trainer import Trainer

    one_pass = Trainer._one_pass
    seen: list[dict] = []

    def interrupted_at_pass_7(self: Trainer) -> None:
        seen.append(self.history)
        if len(seen) == 7:
            raise KeyboardInterrupt
        one_pass(self)

    monkeypatch.setattr(Trainer, "_one_pass", interrupted_at_pass_7)
    out = tmp_path / "x"
    assert main(["mlp", "--out", str(out), "--passes", "20", "--val-split", "0.2", "--no-progress"]) == 130
    record = json.loads((out / "metrics.json").read_text())
    history = seen[-1]
    assert record["status"] == "interrupted" and record["engine"] == "numpy"
    assert record["curves"] == {k: v for k, v in history.items() if isinstance(v, list)}
    assert record["curves"]["pass"] == list(range(7)) and "loss" in record["curves"] and "val_loss" in record["curves"]
    assert record["final"]["steps_done"] == 6 and record["final"]["parameter_count"] == 2 * 3 + 3 + 3 * 2 + 2
