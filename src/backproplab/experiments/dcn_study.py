"""The deep convolutional network on MNIST (assignment 2a, 2b): one monitored training run.

The run is an ordinary DCN run folder (``<result>/run``: ``config.json``, ``metrics.json``,
TensorBoard events, checkpoint), so ``backproplab tensorboard --logdir <result>/run`` shows it.
The result's metrics are the run's (final accuracies, curves, speed, the full config) plus
``data``: the sizes of the splits it saw. Quick mode trains 40 steps on subsets of every split.
With a learner's implementation (``report --implementation``) the same run trains their DCN with
their training step (:mod:`backproplab.exercise.learner_dcn`), in a study of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backproplab.experiments.store import Arrays, Result, run_or_reuse

STUDY = "dcn"
RUN_FOLDER = "run"
QUICK_SUBSETS = {"train": 5000, "validation": 1000, "test": 2000}


def dcn_settings(*, quick: bool, seed: int, implementation: Any = None) -> dict[str, Any]:
    """The course's run (TrainConfig's defaults), or a 40-step preview on subsets; ``implementation``:
    a learner's (:class:`~backproplab.exercise.implementation.Implementation`), named in the settings."""
    train: dict[str, Any] = {"seed": seed}
    if quick:
        train |= {"steps": 40, "eval_every": 20, "monitor_every": 10}
    settings = {"train": train, "subsets": QUICK_SUBSETS if quick else None}
    if implementation is not None:
        settings["implementation"] = implementation.describe(STUDY)
    return settings


def run_dcn_study(
    root: str | Path,
    *,
    quick: bool,
    seed: int,
    data_dir: str | Path | None = None,
    rerun: bool = False,
    progress: bool = True,
    implementation: Any = None,
) -> Result:
    """The finished DCN study under ``root`` (reused when complete, else trained now); ``implementation``:
    a learner's DCN to train instead of the reference's."""
    return run_or_reuse(
        root,
        STUDY,
        dcn_settings(quick=quick, seed=seed, implementation=implementation),
        lambda config, folder: _compute(config, folder, data_dir, progress, implementation),
        rerun=rerun,
    )


def study_data(data_dir: str | Path | None, seed: int, subsets: dict[str, int] | None, progress: bool) -> Any:
    """MNIST with the course's split and batch order for ``seed``; with ``subsets``, the first images of
    each split (quick mode). Shared by the DCN and NumPy-engine studies, so both see the same data."""
    from backproplab.datasets import mnist

    data = mnist.load(data_dir=data_dir, seed=seed, progress=progress)
    if not subsets:
        return data
    return mnist.Datasets(
        *(
            mnist.DataSet(part.images[: subsets[name]], part.labels[: subsets[name]], seed=seed)
            for name, part in (("train", data.train), ("validation", data.validation), ("test", data.test))
        )
    )


def _compute(
    config: dict[str, Any], folder: Path, data_dir: str | Path | None, progress: bool, implementation: Any = None
) -> tuple[dict[str, Any], Arrays]:
    from backproplab.mnist_net.config import TrainConfig
    from backproplab.mnist_net.run import train

    train_config = TrainConfig(**config["train"], out=str(folder / RUN_FOLDER), overwrite=True)
    data = study_data(data_dir, train_config.seed, config["subsets"], progress)
    engine = None if implementation is None else implementation.dcn_engine()
    record = train(train_config, data=data, progress=progress, engine=engine)
    # the run's record (backproplab.runs.metrics_record) with its final numbers at the top level
    metrics = {**{k: v for k, v in record.items() if k != "final"}, **record["final"]}
    metrics["data"] = {name: len(getattr(data, name).labels) for name in ("train", "validation", "test")}
    return metrics, {}
