"""``report --implementation``: parts 1 and 2 built with the learner's networks once their checks pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backproplab import hints
from backproplab.cli import main
from backproplab.exercise.implementation import sections_of
from backproplab.exercise.workspace import start_workspace
from backproplab.monitoring import read_histograms, read_scalars
from exercise_solution import DCN, SOLUTION, THREE, fill, mutate
from report_fixtures import build_quick_sections


def _workspace(tmp_path: Path, bodies: dict | None = None, part: str = "1") -> Path:
    ws = tmp_path / "ws"
    start_workspace(ws, part)
    fill(ws, bodies=bodies)
    return ws


def _report(out: Path, results: Path, *extra: str) -> dict:
    assert main(["report", "--quick", "--no-progress", "--out", str(out), "--results", str(results), *extra]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    arrays = np.load(out / metrics["results"]["moons"] / "arrays.npz")
    return {"metrics": metrics["moons"], "arrays": {k: arrays[k] for k in arrays.files}, "deep": metrics["deep"]}


def test_the_reference_in_a_workspace_gives_the_built_in_numbers(tmp_path: Path, capsys) -> None:
    ws = _workspace(tmp_path)
    results = tmp_path / "results"
    mine = _report(tmp_path / "mine", results, "--implementation", str(ws))
    page = (tmp_path / "mine" / "index.html").read_text()
    assert page.count(f"This section ran the learner&#x27;s implementation: {ws.resolve()}") == 2  # moons, deep
    assert "the report runs your network" in capsys.readouterr().out
    built_in = _report(tmp_path / "built-in", results, "--sections", "moons,deep")
    # 1f: the deep study (Adam on mini-batches of 32: the learner's gradients with the batch's share of L2)
    mine_rows, built_in_rows = mine["deep"]["grids"]["spirals"]["rows"], built_in["deep"]["grids"]["spirals"]["rows"]
    assert len(mine_rows) == len(built_in_rows) == 2
    for row, ref in zip(mine_rows, built_in_rows, strict=True):
        assert row["final_loss_per_example"] == pytest.approx(ref["final_loss_per_example"], rel=1e-9)
        assert (row["train_accuracy"], row["test_accuracy"]) == (ref["train_accuracy"], ref["test_accuracy"])
    m, b = mine["metrics"], built_in["metrics"]
    assert m["logistic_regression_accuracy"] == b["logistic_regression_accuracy"]
    assert set(m["gradient_check_max_relative_error"]) == {"tanh", "sigmoid", "relu"}
    assert max(m["gradient_check_max_relative_error"].values()) < 1e-6  # two computations, each near 1e-8
    assert set(m["act"]) == set(b["act"]) and set(m["width"]) == set(b["width"])
    curves = [k for k in built_in["arrays"] if k.endswith("loss_per_example")]
    # the learner's code ran: the same machine repeats the reference's numbers bit for bit, not the learner's
    assert any(not np.array_equal(mine["arrays"][k], built_in["arrays"][k]) for k in curves)
    for key, curve in built_in["arrays"].items():
        if not key.endswith("loss_per_example"):
            continue
        # The learner's sums and softmax round differently from the reference's (measured: 6e-16 apart).
        # Gradient descent whose loss goes up between records (tanh with 3 units, eps 0.01: from pass
        # ~1100) sits at the edge of stability, where such roundoff grows (to 2e-1 by pass 2000, as
        # does a 1e-15 change of the reference's own W1): compare those curves up to that point only.
        stable = np.all(np.diff(curve) <= 0)
        upto = len(curve) if stable else int(np.argmax(np.diff(curve) > 0))
        np.testing.assert_allclose(mine["arrays"][key][:upto], curve[:upto], rtol=1e-9, err_msg=key)
        group, name, _ = key.split("/")
        if stable:
            assert m[group][name]["loss_per_example"] == pytest.approx(b[group][name]["loss_per_example"], rel=1e-9)
            assert m[group][name]["train_accuracy"] == b[group][name]["train_accuracy"]


def test_a_wrong_implementation_is_refused_naming_the_failing_check(tmp_path: Path, capsys) -> None:
    wrong = mutate((THREE, "NeuralNetwork", "backprop"), ("delta2 @ self.W2.T", "-delta2 @ self.W2.T"))
    ws = _workspace(tmp_path, bodies=wrong)
    out = tmp_path / "report"
    code = main(["report", "--quick", "--no-progress", "--out", str(out), "--implementation", str(ws)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert f"--implementation {ws.resolve()}: check 1d failed: backprop (tanh, reg_lambda=0.0)" in err
    assert "the moons section uses your network once checks 1b, 1c, 1d, 1e pass" in err
    assert not out.exists()


def test_implementation_refuses_sections_it_cannot_build(tmp_path: Path, capsys) -> None:
    part1 = tmp_path / "part1"
    start_workspace(part1)
    out = tmp_path / "r"
    for sections, message in (
        ("moons,sweeps", "leave out sweeps"),
        ("tensorboard", "the tensorboard section shows your dcn section's run; add dcn to --sections"),
        ("moons,dcn", f"--implementation {part1.resolve()}: no dcn_mnist.py there, which --sections moons,dcn needs"),
    ):
        code = main(["report", "--sections", sections, "--implementation", str(part1), "--out", str(out)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and "\n" not in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("part", "sections"),
    [("1", ["moons", "deep"]), ("2", ["dcn", "tensorboard"]), ("all", ["moons", "deep", "dcn", "tensorboard"])],
)
def test_a_workspace_builds_the_sections_it_has_files_for(tmp_path: Path, part: str, sections: list[str]) -> None:
    start_workspace(tmp_path / "ws", part)
    assert sections_of(tmp_path / "ws") == sections


# Two quick DCN runs (40 steps): the learner's, and the built-in one that the full quick report reuses.
@pytest.mark.timeout(360)
def test_the_reference_dcn_in_a_workspace_gives_the_built_in_numbers(
    tmp_path: Path, capsys, tmp_path_factory, testrun_uid
) -> None:
    # The learner's training step also notes each batch's size and its network's module: proof that it ran.
    step = SOLUTION[(DCN, None, "forward_backward")]
    assert step.count("        return logits, loss\n") == 1
    noted = step.replace(
        "        return logits, loss\n",
        '        with open(__file__.replace("dcn_mnist.py", "steps.txt"), "a") as f:\n'
        '            f.write(f"{x.shape[0]} {type(model).__module__}\\n")\n'
        "        return logits, loss\n",
    )
    ws = _workspace(tmp_path, {(DCN, None, "forward_backward"): noted}, part="2")
    mine_out = tmp_path / "mine"
    argv = ["report", "--quick", "--no-progress", "--out", str(mine_out), "--results", str(tmp_path / "results")]
    # The dcn section only: the tensorboard section's photographs of the learner's run are
    # test_tensorboard_views_of_a_learner_show_their_run_only's (a real TensorBoard adds half a minute here).
    assert main([*argv, "--sections", "dcn", "--implementation", str(ws)]) == 0
    assert f"the report runs your network: {ws.resolve()} (dcn_mnist.py; sha256" in capsys.readouterr().out
    built_in_out, _ = build_quick_sections(tmp_path_factory, testrun_uid, ["dcn"])

    assert (ws / "steps.txt").read_text().splitlines().count("50 dcn_mnist") == 40  # the run's 40 steps of 50
    metrics = {}
    runs = {}
    for name, out in (("mine", mine_out), ("built-in", built_in_out)):
        report = json.loads((out / "metrics.json").read_text())
        metrics[name] = report["dcn"]
        runs[name] = out / report["results"]["dcn"] / "run"
    mine, ref = metrics["mine"], metrics["built-in"]
    assert mine["implementation"]["folder"] == str(ws.resolve()) and "implementation" not in ref
    # The same seed, weights drawn in the same order, the same operations: the same numbers, bit for bit.
    for key in ("steps_done", "parameter_count", "test_accuracy", "validation_accuracy", "curves"):
        assert mine[key] == ref[key], key
    assert {**mine["config"], "out": None} == {**ref["config"], "out": None}
    scalars, ref_scalars = read_scalars(runs["mine"]), read_scalars(runs["built-in"])
    assert set(scalars) == set(ref_scalars) and "conv1/pooled/std" in scalars
    for tag, series in ref_scalars.items():
        assert scalars[tag] == series, tag
    assert read_histograms(runs["mine"]) == read_histograms(runs["built-in"])

    page = (mine_out / "index.html").read_text()
    dcn_section = page[page.index('id="dcn"') :]
    assert f"This section ran the learner&#x27;s implementation: {ws.resolve()}, code sha256" in dcn_section
    assert "after its checks 2a, 2a-step and 2b passed" in dcn_section


def test_a_wrong_dcn_is_refused_naming_the_failing_check(tmp_path: Path, capsys) -> None:
    wrong = mutate((DCN, None, "conv2d"), ("padding=W.shape[-1] // 2", "padding=0"))
    ws = _workspace(tmp_path, bodies=wrong, part="2")
    out = tmp_path / "report"
    code = main(
        ["report", "--quick", "--no-progress", "--sections", "dcn", "--out", str(out), "--implementation", str(ws)]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert (
        f"--implementation {ws.resolve()}: check 2a failed: conv2d(x, W, b) gives shape (2, 4, 8, 8), "
        "expected (2, 4, 12, 12); the dcn section uses your network once checks 2a, 2a-step, 2b pass"
    ) in err
    assert not out.exists()


def test_tensorboard_views_of_a_learner_show_their_run_only(tmp_path: Path, monkeypatch) -> None:
    """Screenshots (faked: they need chromium) are taken over the learner's DCN run folder, of the two
    dashboards one run has, and leave the built-in report's views of all runs in place."""
    from types import SimpleNamespace

    from backproplab.report import tensorboard_views
    from backproplab.report.context import ReportContext

    results = tmp_path / "results"
    learner_run, other_run = results / "dcn-learner" / "run", results / "dcn-other" / "run"
    for run in (learner_run, other_run):
        run.mkdir(parents=True)
        (run / "events.out.tfevents.1").write_bytes(b"events")
    built_in_view = results / "tensorboard-builtin"
    built_in_view.mkdir()
    (built_in_view / "config.json").write_text(json.dumps({"logdir": "."}))
    calls = []

    def fake_screenshots(logdir, out_dir, names=None, wait=0.0):
        calls.append((Path(logdir), names))
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            (out_dir / f"{name}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        return {name: out_dir / f"{name}.png" for name in names}

    monkeypatch.setattr(tensorboard_views, "available", lambda: True)
    monkeypatch.setattr(tensorboard_views, "screenshots", fake_screenshots)
    page = tmp_path / "page"
    ctx = ReportContext(out_dir=page, final_dir=page, results_dir=results, implementation=SimpleNamespace(folder="ws"))
    ctx.tensorboard_logdir = learner_run.parent  # as the dcn section sets it
    result = tensorboard_views.run(ctx)
    assert calls == [(learner_run.parent, ("scalars", "histograms"))]
    assert result.config["logdir"] == "dcn-learner" and built_in_view.is_dir()
    ctx.figures_dir.mkdir(parents=True)
    text = tensorboard_views.render(result, ctx).render(str)
    assert "These views show the learner&#x27;s DCN run only" in text
    assert hints.tensorboard("../results/dcn-learner") in text and "HPARAMS" not in text
    assert ctx.metrics["tensorboard"]["screenshots"] == ["histograms", "scalars"]


def test_the_learners_dcn_engine_refuses_settings_the_starter_does_not_build() -> None:
    from types import SimpleNamespace

    from backproplab.errors import UsageError
    from backproplab.exercise.learner_dcn import LearnerTorchEngine
    from backproplab.mnist_net.config import TrainConfig

    engine = LearnerTorchEngine(SimpleNamespace(forward_backward=None))
    for setting, value in (("activation", "elu"), ("init", "he_normal")):
        with pytest.raises(UsageError, match=f"--{setting} {value}: the learner's DCN of part 2 is checked with"):
            engine.check(TrainConfig(**{setting: value}))
    engine.check(TrainConfig())  # the course's settings: accepted
