"""What the monitored statistics of one finished run show, read once from its TensorBoard events
and kept beside them in ``sweep_stats.json`` (so a sweep's figures rebuild in seconds).

From the histograms of ``<layer>/activation`` (30 equal-width bins over [min, max], so a share is
an upper bound at bin resolution):

- ``saturated``: share of outputs in the bins that reach within 1% of the bounds of tanh (-1, 1)
  or sigmoid (0, 1);
- ``silent``: share of outputs in the bins at or below zero (ReLU family; an upper bound: for
  ReLU it is the lowest bin, zeros and the smallest positive outputs).

From the scalars: ``<layer>/activation/std`` and ``<layer>/weights/std``, and ``train/loss``
(averaged into at most :data:`LOSS_POINTS` points).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.io import write_json

STATS_FILE = "sweep_stats.json"
ACTIVATION_LAYERS = ("conv1", "conv2", "fc1")
WEIGHT_LAYERS = ("conv1", "conv2", "fc1", "fc2")
LOSS_POINTS = 400
BOUNDS = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu")
SATURATION_MARGIN = 0.01


def _edges(histogram: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left, right, count) of each TensorBoard bucket: bucket i covers (limit[i-1], limit[i]];
    bucket 0 is the empty one ending at min."""
    right = np.asarray(histogram["bucket_limit"], dtype=float)
    left = np.concatenate([[right[0]], right[:-1]])
    return left, right, np.asarray(histogram["bucket"], dtype=float)


def saturated_share(histogram: dict[str, Any], activation: str) -> float:
    """Share of outputs in the bins that reach within 1% of a bound (an upper bound at bin resolution)."""
    lo, hi = BOUNDS[activation]
    margin = SATURATION_MARGIN * (hi - lo)
    left, right, counts = _edges(histogram)
    total = counts.sum()
    if total == 0:
        return float("nan")
    return float(counts[(right > hi - margin) | (left < lo + margin)].sum() / total)


def silent_share(histogram: dict[str, Any]) -> float:
    """Share of outputs in the bins at or below zero (an upper bound at bin resolution)."""
    left, _, counts = _edges(histogram)
    total = counts.sum()
    if total == 0:
        return float("nan")
    return float(counts[left <= 0].sum() / total)


def _loss_curve(points: list[tuple[int, float]]) -> dict[str, list[float]]:
    steps = np.array([s for s, _ in points], dtype=float)
    values = np.array([v for _, v in points], dtype=float)
    if len(steps) > LOSS_POINTS:
        chunks = np.array_split(np.arange(len(steps)), LOSS_POINTS)
        steps = np.array([steps[c].mean() for c in chunks])
        values = np.array([np.nanmean(values[c]) if np.isfinite(values[c]).any() else np.nan for c in chunks])
    return {"step": steps.tolist(), "value": values.tolist()}


def extract(folder: Path, activation: str) -> dict[str, Any]:
    """Read the run's events and return (and write) its ``sweep_stats.json`` content."""
    from backproplab.monitoring import _accumulator

    # A resumed run's purge marker makes the reader log a warning per file: expected here, so quiet.
    logger = logging.getLogger("tensorboard")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        acc = _accumulator(folder)
    finally:
        logger.setLevel(level)
    tags = acc.Tags()
    scalars = set(tags["scalars"])
    histograms = set(tags["histograms"])

    def series(tag: str) -> dict[str, list[float]]:
        if tag not in scalars:
            return {"step": [], "value": []}
        events = acc.Scalars(tag)
        return {"step": [e.step for e in events], "value": [e.value for e in events]}

    out: dict[str, Any] = {
        "loss": _loss_curve([(e.step, e.value) for e in acc.Scalars("train/loss")]) if "train/loss" in scalars else {},
        "activation_std": {layer: series(f"{layer}/activation/std") for layer in ACTIVATION_LAYERS},
        "weight_std": {layer: series(f"{layer}/weights/std") for layer in WEIGHT_LAYERS},
        "saturated": {},
        "silent": {},
    }
    for layer in ACTIVATION_LAYERS:
        tag = f"{layer}/activation"
        if tag not in histograms:
            continue
        events = acc.Histograms(tag)
        hists = [
            (e.step, {"bucket_limit": list(e.histogram_value.bucket_limit), "bucket": list(e.histogram_value.bucket)})
            for e in events
        ]
        steps = [s for s, _ in hists]
        if activation in BOUNDS:
            out["saturated"][layer] = {"step": steps, "value": [saturated_share(h, activation) for _, h in hists]}
        elif activation in RELU_FAMILY:
            out["silent"][layer] = {"step": steps, "value": [silent_share(h) for _, h in hists]}
    write_json(Path(folder) / STATS_FILE, out)
    return out


def load(folder: Path, activation: str) -> dict[str, Any]:
    """The run's statistics: from ``sweep_stats.json`` when it is there, else read and kept."""
    path = Path(folder) / STATS_FILE
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            pass
    return extract(folder, activation)
