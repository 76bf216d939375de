"""Nonlinearities, initialisations and optimizers (assignment 2c): DCN sweeps run by
:func:`backproplab.sweeps.sweep.run_sweep`, summarised for the report.

Three sizes, one per report mode (:func:`sweep_specs`), each setting trained with :data:`SEEDS` seeds so
the page can size its claims to the spread between seeds (:mod:`backproplab.report.claims`):

- quick: the course's run and one other activation, initialisation and optimizer (4 settings, 8 runs),
  12 steps of 16 images on MNIST subsets (:func:`quick_data`), one worker: a preview the tests build (its
  first evaluation on half the validation subset, as the default mode's);
- default (``make report``): ``--preset course`` (20 settings, 40 runs) at :data:`DEFAULT_STEPS` steps,
  its evaluations before the last on :data:`DEFAULT_EVAL_IMAGES` validation images and no test images;
- full (``report --full``): ``--preset course`` and ``--preset lr`` at the course's 5,500 steps.

The sweeps live in ``<root>/sweep-runs-<key>/<name>/`` and are kept when a build is interrupted (the
sweep runner skips finished runs and resumes the others); the study folder ``<root>/sweep-<key>/``
holds each sweep's ``sweep.json`` content plus numbers read from its runs' TensorBoard events
(``inside``: per run, the first and last monitored activation and weight std per layer, the share of
saturated or silent units on the last monitored batch, and the training loss early and late).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.experiments.store import Arrays, Result, result_folder, run_or_reuse

STUDY = "sweep"
MODES = ("quick", "default", "full")
#: Steps of the default report's sweep: 2 seeds x 20 settings fit the 30-minute `make report` on a 2-core AVX2 CPU
#: at this budget, and measured against the course's 5,500 steps the rankings at 200, 400 and 600 steps agree
#: equally well (docs/results.md, "Rank agreement between budgets"): the second seed buys more than the longer runs.
DEFAULT_STEPS = 300
#: Steps between the default sweep's evaluations (three points per run, the first two on the validation subset).
DEFAULT_EVAL_EVERY = 100
#: Validation images the default sweep's evaluations before the last score (the last scores the 5,000 validation
#: and 10,000 test images): an evaluation of all 15,000 costs about as much as 70 training steps of 50 images, so
#: the subset saves about a sixth of a 600-step run (docs/results.md, "Cheaper evaluation").
DEFAULT_EVAL_IMAGES = 1000
#: Seeds per setting (``seed``, ``seed + 1``, ...): two is the fewest that shows a spread.
SEEDS = 2
FULL_STEPS = 5500
QUICK_SUBSETS = {"train": 1000, "validation": 200, "test": 500}
QUICK_DATA = "backproplab.experiments.sweep_study:quick_data"
LAYERS = ("conv1", "conv2", "fc1")
WEIGHTS = ("conv1", "conv2", "fc1", "fc2")
#: Outputs within this share of the range from a bound of tanh (-1, 1) or sigmoid (0, 1) count as saturated.
SATURATION_MARGIN = 0.02
BOUNDS = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def quick_data(data_dir: str | None, validation_size: int) -> Any:
    """MNIST cut to :data:`QUICK_SUBSETS` (loaded by each sweep worker)."""
    from backproplab.datasets import mnist

    data = mnist.load(data_dir=data_dir, validation_size=validation_size, progress=False)
    return mnist.Datasets(
        *(
            mnist.DataSet(part.images[: QUICK_SUBSETS[name]], part.labels[: QUICK_SUBSETS[name]])
            for name, part in (("train", data.train), ("validation", data.validation), ("test", data.test))
        )
    )


def seeds_from(seed: int) -> list[int]:
    """The :data:`SEEDS` seeds every setting trains with."""
    return [seed + k for k in range(SEEDS)]


def sweep_specs(mode: str, seed: int) -> list[Any]:
    """The :class:`~backproplab.sweeps.spec.SweepSpec` list of ``mode`` (see the module docstring)."""
    from backproplab.sweeps.spec import SweepSpec

    if mode == "quick":
        base = {"steps": 12, "batch_size": 16, "eval_every": 6, "eval_images": 100, "monitor_every": 3, "seed": seed}
        return [
            SweepSpec(
                name="quick",
                preset="course",
                activations=["relu", "tanh"],
                inits=["truncated_normal", "xavier_normal"],
                optimizers=["adam", "sgd"],
                seeds=seeds_from(seed),
                base=base,
                data=QUICK_DATA,
            )
        ]
    if mode == "default":
        base = {
            "steps": DEFAULT_STEPS,
            "eval_every": DEFAULT_EVAL_EVERY,
            "eval_images": DEFAULT_EVAL_IMAGES,
            "monitor_every": 50,
            "seed": seed,
        }
        return [SweepSpec(name="course", preset="course", seeds=seeds_from(seed), base=base)]
    if mode == "full":
        # the course's evaluation every epoch, as `backproplab sweep --preset course` evaluates by default
        base = {"steps": FULL_STEPS, "eval_every": 1100, "monitor_every": 100, "seed": seed}
        seeds = seeds_from(seed)
        return [
            SweepSpec(name="course", preset="course", seeds=seeds, base=base),
            SweepSpec(name="lr", preset="lr", seeds=seeds, base=base),
        ]
    raise ValueError(f"unknown sweep mode {mode!r}; choose one of {MODES}")


def sweep_settings(mode: str, seed: int) -> dict[str, Any]:
    return {"mode": mode, "specs": [dataclasses.asdict(s) for s in sweep_specs(mode, seed)]}


def runs_folder(root: str | Path, settings: dict[str, Any]) -> Path:
    """Where the sweeps of ``settings`` train (beside the study folder, kept across interrupted builds)."""
    folder = result_folder(root, STUDY, settings)
    return folder.parent / folder.name.replace(f"{STUDY}-", f"{STUDY}-runs-", 1)


def run_sweep_study(
    root: str | Path,
    *,
    mode: str,
    seed: int,
    data_dir: str | Path | None = None,
    rerun: bool = False,
    progress: bool = True,
) -> Result:
    """The finished sweep study of ``mode`` under ``root`` (reused when complete, else trained now)."""
    settings = sweep_settings(mode, seed)
    runs = runs_folder(root, settings)
    if rerun and runs.exists():
        shutil.rmtree(runs)
    return run_or_reuse(
        root,
        STUDY,
        settings,
        lambda config, folder: _compute(mode, seed, runs, data_dir, progress),
        rerun=rerun,
    )


def _compute(
    mode: str, seed: int, runs: Path, data_dir: str | Path | None, progress: bool
) -> tuple[dict[str, Any], Arrays]:
    from backproplab.sweeps.sweep import run_sweep

    sweeps = {}
    for spec in sweep_specs(mode, seed):
        if data_dir is not None:
            spec = dataclasses.replace(spec, base={**spec.base, "data_dir": str(data_dir)})
        out = runs / spec.name
        done = run_sweep(
            spec, out, jobs=1 if mode == "quick" else None, progress=progress, say=_say if progress else _quiet
        )
        table = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
        inside = {row["run"]: inside_numbers(out / row["run"], row["activation"]) for row in table["runs"]}
        sweeps[spec.name] = {
            "mode": mode,
            "folder": out.relative_to(runs.parent).as_posix(),
            "seconds": done.get("seconds"),
            "table": table,
            "inside": inside,
        }
    return {"mode": mode, "sweeps": sweeps}, {}


def _say(message: str) -> None:
    print(message, flush=True)


def _quiet(message: str) -> None:
    pass


def inside_numbers(folder: Path, activation: str) -> dict[str, Any]:
    """What the run's TensorBoard events show inside the network (empty when it has none)."""
    from backproplab.monitoring import read_histograms, read_scalars

    if not folder.is_dir() or not any(folder.glob("events.out.tfevents.*")):
        return {}
    scalars, histograms = read_scalars(folder), read_histograms(folder)

    def first_last(tag: str) -> list[float] | None:
        series = scalars.get(tag)
        return [float(series[0][1]), float(series[-1][1])] if series else None

    out: dict[str, Any] = {
        "activation_std": {layer: first_last(f"{layer}/activation/std") for layer in LAYERS},
        "weight_std": {layer: first_last(f"{layer}/weights/std") for layer in WEIGHTS},
        "off_share": {},
    }
    for layer in LAYERS:
        events = histograms.get(f"{layer}/activation")
        if events:
            out["off_share"][layer] = off_share(events[-1][1], activation)
    loss = [v for _, v in scalars.get("train/loss", [])]
    if loss:
        tenth = max(1, len(loss) // 10)
        out["loss_early"] = float(np.nanmean(loss[:tenth]))
        out["loss_late"] = float(np.nanmean(loss[-tenth:]))
    return out


def off_share(histogram: dict[str, Any], activation: str) -> float:
    """Share of a layer's outputs that barely respond: for tanh and sigmoid those in buckets within
    :data:`SATURATION_MARGIN` of the range from a bound (saturated); for the others the lowest
    non-empty bucket (silent, or nearly so). Upper bounds at the histogram's bucket resolution."""
    right = np.asarray(histogram["bucket_limit"], dtype=float)
    counts = np.asarray(histogram["bucket"], dtype=float)
    total = counts.sum()
    if total == 0:
        return float("nan")
    left = np.concatenate([[float(histogram["min"])], right[:-1]])
    if activation in BOUNDS:
        lo, hi = BOUNDS[activation]
        margin = SATURATION_MARGIN * (hi - lo)
        return float(counts[(right > hi - margin) | (left < lo + margin)].sum() / total)
    first = int(np.argmax(counts > 0))
    return float(counts[first] / total)
