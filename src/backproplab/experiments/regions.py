"""Decision regions on a grid, computed once by an experiment and drawn later without the network."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Mesh resolution of a stored decision-region picture (points per axis).
RESOLUTION = 200


def mesh_axes(points: np.ndarray, padding: float = 0.5, resolution: int = RESOLUTION) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys), each (resolution,): an even grid covering the 2-D ``points`` (N, 2) with ``padding``."""
    lo, hi = points.min(axis=0) - padding, points.max(axis=0) + padding
    return np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)


def decision_regions(predict: Callable[[np.ndarray], np.ndarray], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(len(ys), len(xs)) uint8: the class ``predict`` ((M, 2) -> (M,)) gives at every grid point."""
    xx, yy = np.meshgrid(xs, ys)
    return np.asarray(predict(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape).astype(np.uint8)
