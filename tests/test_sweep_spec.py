"""Sweeps without worker processes: presets, run folders, folder states, statistics, schedules, bad input."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from backproplab import cli, runs
from backproplab.dcn import TrainConfig, train
from backproplab.dcn.checkpoint import load_checkpoint
from backproplab.io import write_json
from backproplab.mnist_net.choices import ACTIVATIONS, INITS, OPTIMIZERS
from backproplab.mnist_net.contract import schedule_factor
from backproplab.monitoring import SummaryWriter, read_histograms
from backproplab.sweeps import spec as sweep_spec
from backproplab.sweeps import state, stats
from backproplab.sweeps.spec import COURSE, SweepSpec, extend_lr, lr_grid, run_folder
from test_dcn_train import small_config, synthetic_mnist


def test_course_preset_is_one_factor_at_a_time_from_the_course_run(tmp_path) -> None:
    configs = sweep_spec.first_stage(SweepSpec(preset="course"))
    assert len(configs) == 20
    folders = {run_folder(tmp_path, c) for c in configs}
    assert len(folders) == 20
    course = [c for c in configs if all(getattr(c, k) == v for k, v in COURSE.items())]
    assert len(course) == 1
    for config in configs:
        changed = [k for k, v in COURSE.items() if getattr(config, k) != v]
        assert len(changed) <= 1
        assert config.lr is None  # every optimizer at its default rate
    assert {c.activation for c in configs} == set(ACTIVATIONS.names())
    assert {c.init for c in configs} == set(INITS.names())
    assert {c.optimizer for c in configs} == set(OPTIMIZERS.names())


def test_grid_is_full_factorial_and_lr_search_is_geometric_around_the_default() -> None:
    spec = SweepSpec(activations=["relu", "tanh"], optimizers=["sgd", "adam"], seeds=[0, 1, 2])
    assert len(sweep_spec.first_stage(spec)) == 12
    for name, default in ((n, c.default_lr) for n, c in OPTIMIZERS.items()):
        rates = lr_grid(default)
        assert len(rates) >= 5 and rates[len(rates) // 2] == pytest.approx(default)
        ratios = np.array(rates[1:]) / np.array(rates[:-1])
        assert np.allclose(ratios, ratios[0], rtol=0.01) and ratios[0] > 1, name
    assert extend_lr([1, 3, 9], 1) == pytest.approx(1 / 3, rel=1e-2)
    assert extend_lr([1, 3, 9], 9) == 27
    assert extend_lr([1, 3, 9], 3) is None
    lr_runs = sweep_spec.first_stage(SweepSpec(preset="lr", optimizers=["sgd", "adam"], lr_steps=50))
    assert len(lr_runs) == 10 and {c.steps for c in lr_runs} == {50}


def test_run_folder_follows_every_trajectory_setting(tmp_path) -> None:
    base = TrainConfig()
    folder = run_folder(tmp_path, base)
    assert folder.name.startswith("relu-truncated_normal-adam-lr0.0001-seed0-5500steps-")
    # The default rate named or not is the same run; anything that shapes the trajectory is not.
    assert run_folder(tmp_path, dataclasses.replace(base, lr=OPTIMIZERS["adam"].default_lr)) == folder
    assert run_folder(tmp_path, dataclasses.replace(base, threads=4, data_dir="x", on_divergence="warn")) == folder
    assert run_folder(tmp_path, dataclasses.replace(base, precision="fp32")).name.startswith(
        "relu-truncated_normal-adam-lr0.0001-fp32-seed0-"
    )
    # --on-divergence reaches every run (warn: a slow start trains on; a non-finite loss still stops it).
    assert SweepSpec(base={"on_divergence": "warn"}).base_config().on_divergence == "warn"
    for change in (
        {"seed": 1},
        {"steps": 100},
        {"lr": 1e-3},
        {"schedule": "cosine"},
        {"dropout": 0.1},
        {"batch_size": 32},
        {"eval_every": 100},
    ):
        assert run_folder(tmp_path, dataclasses.replace(base, **change)) != folder, change
    assert run_folder(tmp_path, base, data="tests:small") != folder


def _record(status: str, steps_done: int, **final) -> dict:
    """A run's metrics.json in the run convention's layout (final numbers under "final")."""
    return runs.metrics_record("dcn", status, {}, {"steps_done": steps_done, **final}, {}, 1.0, None)


def test_folder_states_decide_skip_resume_and_retry(tmp_path) -> None:
    folder = tmp_path / "run"
    assert state.decide(folder, 10, False) == state.NEW
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert state.decide(folder, 10, False) == state.RESTART
    (folder / state.CHECKPOINT).write_bytes(b"x")
    assert state.decide(folder, 10, False) == state.RESUME
    write_json(folder / state.METRICS, _record("interrupted", 3))
    assert state.decide(folder, 10, False) == state.RESUME
    write_json(folder / state.METRICS, _record("failed", 3))
    assert state.decide(folder, 10, False) == state.RESUME
    write_json(folder / state.METRICS, _record("completed", 10))
    assert state.decide(folder, 10, False) == state.SKIP
    assert state.decide(folder, 20, False) == state.RESUME  # more steps asked: continue from the checkpoint
    write_json(folder / state.METRICS, _record("diverged", 4))
    assert state.decide(folder, 10, False) == state.SKIP
    assert state.decide(folder, 10, True) == state.RESTART


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_saturated_and_silent_shares_match_the_values_within_a_bin(tmp_path, activation) -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 3.0, 20000)
    values = {"tanh": np.tanh(raw), "sigmoid": 1 / (1 + np.exp(-raw)), "relu": np.maximum(raw, 0)}[activation]
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("h", values, 0)
    ((_, histogram),) = read_histograms(tmp_path)["h"]
    if activation == "relu":
        assert stats.silent_share(histogram) == pytest.approx(np.mean(values <= (values.max() / 30)), abs=1e-9)
        assert stats.silent_share(histogram) >= np.mean(values == 0)
    else:
        lo, hi = stats.BOUNDS[activation]
        margin = 0.01 * (hi - lo)
        width = (values.max() - values.min()) / 30
        exact = np.mean((values <= lo + margin) | (values >= hi - margin))
        within_a_bin = np.mean((values <= lo + margin + width) | (values >= hi - margin - width))
        assert exact > 0.05
        assert exact <= stats.saturated_share(histogram, activation) <= within_a_bin


def test_schedules_change_the_rate_as_documented_and_resume_exactly(tmp_path) -> None:
    assert schedule_factor("constant", 7, 10) == 1.0
    assert schedule_factor("cosine", 0, 10) == 1.0 and schedule_factor("cosine", 5, 10) == pytest.approx(0.5)
    assert [schedule_factor("step", s, 8) for s in (3, 4, 6)] == pytest.approx([1.0, 0.1, 0.01])
    torch.set_num_threads(1)
    data = synthetic_mnist()
    whole = train(small_config(tmp_path, schedule="cosine", out=str(tmp_path / "a")), data, progress=False)
    constant = train(small_config(tmp_path, out=str(tmp_path / "c")), data, progress=False)
    assert whole["curves"]["train_loss"] != constant["curves"]["train_loss"]

    def stop_after_3(step: int, loss: float) -> None:
        if step == 2:
            raise KeyboardInterrupt

    config = small_config(tmp_path, schedule="cosine", out=str(tmp_path / "b"))
    with pytest.raises(KeyboardInterrupt):
        train(config, data, progress=False, callback=stop_after_3)
    train(dataclasses.replace(config, resume=True), data, progress=False)
    a = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def _fail(capsys, argv: list[str]) -> str:
    assert cli.main(["sweep", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_bad_input_gives_one_line_errors(tmp_path, capsys, monkeypatch) -> None:
    out = ["--out", str(tmp_path / "s"), "--dry-run"]
    assert "sigmoid" in _fail(capsys, ["--activations", "relu,nope", *out])  # lists the valid names
    assert "empty entry" in _fail(capsys, ["--activations", "relu,,tanh", *out])
    assert "listed twice" in _fail(capsys, ["--seeds", "1,1", *out])
    assert "--steps" in _fail(capsys, ["--steps", "0", *out])
    assert "--lrs" in _fail(capsys, ["--lrs", "0.1,-1", *out])
    assert "--lrs" in _fail(capsys, ["--lrs", "0.1,abc", *out])
    assert "--jobs" in _fail(capsys, ["--jobs", "0", *out])
    assert "--inits" in _fail(capsys, ["--inits", "xavier_gaussian", *out])
    assert "listed twice" in _fail(capsys, ["--inits", "xavier,xavier_normal", *out])  # an alias is the same run
    assert "--precision" in _fail(capsys, ["--precision", "fp8", *out])  # a shared flag, checked by TrainConfig
    # An --out holding a different sweep is refused unless --force.
    write_json(tmp_path / "s" / "sweep_config.json", {"spec": {"name": "other"}, "runs": []})
    assert "different sweep" in _fail(capsys, out)
    assert cli.main(["sweep", *out, "--force", "--jobs", "1"]) == 0
    assert "1 runs, 0 done, 1 to train" in capsys.readouterr().out
    # More threads than cores: a warning, not an error.
    assert cli.main(["sweep", "--out", str(tmp_path / "t"), "--dry-run", "--jobs", "64", "--threads-per-job", "2"]) == 0
    assert "threads on" in capsys.readouterr().err
    # Missing MNIST fails before any worker starts, and leaves no sweep folder behind.
    monkeypatch.setenv("BACKPROPLAB_OFFLINE", "1")
    err = _fail(capsys, ["--out", str(tmp_path / "m"), "--data-dir", str(tmp_path / "nothing"), "--steps", "5"])
    assert "mnist" in err.lower()
    assert not (tmp_path / "m").exists()


def test_dry_run_lists_done_and_new_runs(tmp_path, capsys) -> None:
    spec = SweepSpec(name="grid", activations=["relu", "tanh"], base={"steps": 7})
    done = sweep_spec.place(spec, tmp_path, sweep_spec.first_stage(spec)[0])
    write_json(json_path := tmp_path / done.name / state.METRICS, _record("completed", 7))
    assert json.loads(json_path.read_text())["status"] == "completed"
    write_json(tmp_path / "sweep_config.json", {"spec": json.loads(json.dumps(spec.identity())), "runs": []})
    # Names as the user types them: the registered spelling is the same run.
    argv = ["sweep", "--activations", "ReLU,Tanh", "--steps", "7", "--out", str(tmp_path), "--dry-run", "--jobs", "1"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["done", done.name]
    assert lines[1].startswith("new") and "tanh" in lines[1]
    assert "2 runs, 1 done, 1 to train; about" in lines[2] and math.isfinite(
        float(lines[2].split("about ")[1].split()[0])
    )


def test_lr_preset_extends_the_search_at_an_edge_then_trains_each_best_rate(tmp_path, monkeypatch) -> None:
    from backproplab.sweeps import sweep as sweep_module

    target = {
        name: lr * 27 for name, lr in ((n, c.default_lr) for n, c in OPTIMIZERS.items())
    }  # beyond the first grid's top edge
    trained: list[TrainConfig] = []

    def fake_train(self, configs) -> None:  # validation error grows with the distance from the target rate
        for config in self.add(configs):
            trained.append(config)
            error = abs(math.log(config.learning_rate / target[config.optimizer])) / 10
            write_json(Path(config.out) / state.METRICS, _record("completed", config.steps, validation_error=error))

    monkeypatch.setattr(sweep_module._Sweep, "train", fake_train)
    spec = SweepSpec(name="lr", preset="lr", optimizers=["sgd", "adam"], lr_steps=40, base={"steps": 100})
    machine = sweep_module.Machine(1, 1)
    sweep_module._lr_preset(sweep_module._Sweep(spec, tmp_path, machine, False, False, print))
    searched = {(c.optimizer, c.learning_rate) for c in trained if c.steps == 40}
    for name in ("sgd", "adam"):
        rates = sorted(lr for n, lr in searched if n == name)
        assert len(rates) == 7  # five, then 27x and 81x the default
        assert rates[-2] == pytest.approx(target[name], rel=0.01)
    final = [c for c in trained if c.steps == 100]
    assert {(c.optimizer, round(c.learning_rate / target[c.optimizer], 2)) for c in final} == {("sgd", 1), ("adam", 1)}
    results = sweep_module.lr_search_results(
        [
            {
                "optimizer": c.optimizer,
                "lr": c.learning_rate,
                "status": "completed",
                "validation_error": abs(math.log(c.learning_rate / target[c.optimizer])),
            }
            for c in trained
            if c.steps == 40
        ]
    )
    assert results["adam"]["best"] == pytest.approx(target["adam"], rel=0.01)


def test_a_run_folder_in_use_by_another_process_fails_the_task_and_is_left_alone(tmp_path) -> None:
    from backproplab.sweeps import worker

    config = small_config(tmp_path, out=str(tmp_path / "busy"))
    task = {"config": config.to_dict(), "retry_failed": False, "threads": 1}
    with runs.claimed(tmp_path / "busy"):  # as a second sweep training the same run would hold it
        (tmp_path / "busy" / "config.json").write_text("{}")
        result = worker.execute(task, data=synthetic_mnist())
        assert result["status"] == "failed" and "in use by process" in result["error"]
        assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == [".lock", "config.json"]  # untouched
        assert state.record_failure(tmp_path / "busy", config.to_dict(), "x") is None
    recorded = state.record_failure(tmp_path / "busy", config.to_dict(), "x", steps_done=2)
    assert json.loads((tmp_path / "busy" / state.METRICS).read_text()) == recorded
    assert set(recorded) == set(runs.METRICS_KEYS) and state.numbers(recorded)["steps_done"] == 2


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_a_failed_run_records_the_engine_it_ran_on(tmp_path, engine) -> None:
    """``engine`` in metrics.json is what computed the run (torch or numpy), for a failure too."""
    config = dataclasses.replace(small_config(tmp_path, out=str(tmp_path / "run")), engine=engine)
    recorded = state.record_failure(tmp_path / "run", config.to_dict(), "killed", steps_done=3)
    assert recorded is not None and recorded["engine"] == engine
    assert json.loads((tmp_path / "run" / state.METRICS).read_text())["engine"] == engine
