"""--eval-images: evaluations before the last score a validation subset and skip the test set; the last
scores both whole sets, and the run trains exactly as without the setting (both engines)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from backproplab import cli
from backproplab.dcn.training import TorchEngine
from backproplab.mnist_net.config import TrainConfig
from backproplab.mnist_net.run import train
from backproplab.monitoring import read_scalars
from backproplab.numpy_dcn.engine import NumpyEngine
from backproplab.sweeps.spec import run_folder, trajectory_key
from dcn_child import synthetic_mnist

ENGINES = {"torch": TorchEngine, "numpy": NumpyEngine}
SUBSET = 7  # of the 20 validation images below


pytestmark = pytest.mark.usefixtures("one_thread")


def config(tmp_path, name: str, **overrides) -> TrainConfig:
    settings = {"steps": 5, "batch_size": 8, "eval_every": 2, "monitor_every": 2, "threads": 1}
    return TrainConfig(**{**settings, "out": str(tmp_path / name), **overrides})


def scored_sizes(monkeypatch, engine: str) -> list[int]:
    """The number of images each evaluation call of ``engine`` scores, in order."""
    sizes: list[int] = []
    cls = ENGINES[engine]
    real = cls.accuracy

    def counting(self, eval_set):
        sizes.append(len(eval_set[1]))
        return real(self, eval_set)

    monkeypatch.setattr(cls, "accuracy", counting)
    return sizes


def saved(folder) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def weights(folder, engine: str) -> dict[str, np.ndarray]:
    if engine == "torch":
        return {k: v.numpy() for k, v in torch.load(folder / "checkpoint.pt", weights_only=True)["model"].items()}
    with np.load(folder / "checkpoint.npz") as stored:
        return {k: stored[k] for k in stored.files if k.startswith("model/")}


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_subset_scores_n_images_between_and_everything_at_the_end(tmp_path, monkeypatch, engine) -> None:
    data = synthetic_mnist(60, 20)
    sizes = scored_sizes(monkeypatch, engine)
    train(config(tmp_path, "whole", engine=engine), data, progress=False)
    assert sizes == [20, 20] * 3  # steps 2, 4, 5: validation and test each time
    sizes.clear()
    train(config(tmp_path, "subset", engine=engine, eval_images=SUBSET), data, progress=False)
    assert sizes == [SUBSET, SUBSET, 20, 20]  # steps 2, 4: the subset only; step 5: both whole sets

    whole, subset = saved(tmp_path / "whole"), saved(tmp_path / "subset")
    assert subset["final"] == {**whole["final"], **{k: subset["final"][k] for k in ("gflops_per_second",)}}
    assert subset["curves"]["train_loss"] == whole["curves"]["train_loss"]
    assert subset["curves"]["test_error"] == [None, None, whole["curves"]["test_error"][-1]]
    assert subset["curves"]["validation_images"] == [SUBSET, SUBSET, 20]
    assert whole["curves"]["validation_images"] == [20, 20, 20]
    a, b = weights(tmp_path / "whole", engine), weights(tmp_path / "subset", engine)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    scalars, whole_scalars = read_scalars(tmp_path / "subset"), read_scalars(tmp_path / "whole")
    for tag in ("eval/test_error", "eval/test_accuracy"):  # no test point where none was measured
        assert scalars[tag] == whole_scalars[tag][-1:] and scalars[tag][0][0] == 5
    assert [s for s, _ in scalars["eval/validation_error"]] == [2, 4, 5]
    assert scalars["eval/validation_error"][-1] == whole_scalars["eval/validation_error"][-1]


def test_subset_scores_the_first_n_validation_images(tmp_path) -> None:
    """A subset as large as the set scores what the whole set scores; the first N are the ones scored."""
    data = synthetic_mnist(60, 20)
    train(config(tmp_path, "all", eval_images=20), data, progress=False)
    train(config(tmp_path, "whole"), data, progress=False)
    assert (
        saved(tmp_path / "all")["curves"]["validation_error"] == saved(tmp_path / "whole")["curves"]["validation_error"]
    )
    data.validation.labels[SUBSET:] = (data.validation.labels[SUBSET:] + 1) % 10  # wrong answers past the subset
    train(config(tmp_path, "changed-tail", eval_images=SUBSET), data, progress=False)
    train(config(tmp_path, "subset", eval_images=SUBSET), synthetic_mnist(60, 20), progress=False)
    changed, same = saved(tmp_path / "changed-tail")["curves"], saved(tmp_path / "subset")["curves"]
    assert changed["validation_error"][:2] == same["validation_error"][:2]
    assert changed["validation_error"][-1] != same["validation_error"][-1]  # the last scores the whole set


def test_resume_with_a_subset_is_bit_exact(tmp_path) -> None:
    data = synthetic_mnist(60, 20)
    train(config(tmp_path, "whole", steps=7, eval_every=3, eval_images=SUBSET), data, progress=False)

    def interrupt(step: int, loss: float) -> None:
        if step == 4:  # after the checkpoint at 3 steps done
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path, "broken", steps=7, eval_every=3, eval_images=SUBSET), data, False, interrupt)
    assert saved(tmp_path / "broken")["final"]["test_error"] is None  # interrupted after a subset evaluation
    train(config(tmp_path, "broken", steps=7, eval_every=3, eval_images=SUBSET, resume=True), data, progress=False)
    whole, resumed = saved(tmp_path / "whole"), saved(tmp_path / "broken")
    assert resumed["curves"] == whole["curves"] and resumed["curves"]["validation_images"] == [SUBSET, SUBSET, 20]
    assert {k: v for k, v in resumed["final"].items() if "per_second" not in k} == {
        k: v for k, v in whole["final"].items() if "per_second" not in k
    }
    a, b = weights(tmp_path / "whole", "torch"), weights(tmp_path / "broken", "torch")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    for tag in ("eval/validation_error", "eval/test_error"):
        assert read_scalars(tmp_path / "broken")[tag] == read_scalars(tmp_path / "whole")[tag], tag


def test_resume_refuses_a_changed_subset(tmp_path) -> None:
    from backproplab.errors import UsageError

    data = synthetic_mnist(60, 20)
    train(config(tmp_path, "run", steps=2, eval_images=SUBSET), data, progress=False)
    with pytest.raises(UsageError, match="eval_images"):
        train(config(tmp_path, "run", steps=4, eval_images=SUBSET + 1, resume=True), data, progress=False)


def test_sweep_folders_keep_their_names_without_the_setting() -> None:
    plain = TrainConfig(steps=600)
    assert "eval_images" not in trajectory_key(plain)  # folders named before the setting existed are found again
    assert run_folder("r", TrainConfig(steps=600, eval_images=500)) != run_folder("r", plain)


@pytest.mark.parametrize("value", ["0", "-3"])
def test_cli_refuses_a_bad_count_in_one_line(tmp_path, capsys, value) -> None:
    assert cli.main(["dcn", "--out", str(tmp_path / "run"), "--eval-images", value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "--eval-images" in err
    assert not (tmp_path / "run").exists()


def test_sweep_curves_say_their_earlier_points_are_a_subset(tmp_path) -> None:
    import matplotlib.pyplot as plt

    from backproplab.sweeps import figures

    def groups(eval_images: int | None) -> dict:
        out = {}
        for value in ("relu", "tanh"):
            folder = tmp_path / f"{value}-{eval_images}"
            folder.mkdir()
            curves = {"step": [200, 400, 600], "validation_error": [0.3, 0.2, 0.1]}
            metrics = {"config": {"eval_images": eval_images}, "curves": curves}
            (folder / "metrics.json").write_text(json.dumps(metrics))
            out[value] = [{"folder": folder, "activation": value, "seed": 0, "test_error": 0.1}]
        return out

    subset = figures.curves_figure("activation", groups(1000)).axes[0].get_title()
    whole = figures.curves_figure("activation", groups(None)).axes[0].get_title()
    plt.close("all")
    assert subset == "validation error by activation\n(first 1,000 images but the last point)"
    assert whole == "validation error by activation"
