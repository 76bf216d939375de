"""Two-dimensional toy classification problems: moons, circles, blobs, spirals, XOR, Gaussian quantiles.

Every generator takes ``n_samples``, ``noise`` and ``seed`` and returns ``X: (n_samples, 2) float64``
and ``y: (n_samples,) int64`` with labels 0..K-1, the classes as balanced as ``n_samples`` allows.
Moons, circles, blobs and Gaussian quantiles come from scikit-learn; spirals and XOR (as in
TensorFlow Playground) are written here. ``noise`` is the standard deviation of Gaussian jitter
added to the points (for blobs: the clusters' standard deviation), in the units of the coordinates.
"""

from __future__ import annotations

import numpy as np
import sklearn.datasets

from backproplab.checks import check_non_negative_float, check_positive_float, check_positive_int

XY = tuple[np.ndarray, np.ndarray]


def _check(n_samples: int, noise: float) -> tuple[int, float]:
    return check_positive_int(n_samples, "n_samples"), check_non_negative_float(noise, "noise")


def _out(X: np.ndarray, y: np.ndarray) -> XY:
    return np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def make_moons(n_samples: int = 200, noise: float = 0.20, seed: int = 0) -> XY:
    """Two interleaving half circles (scikit-learn). Returns X: (n_samples, 2) float64, y: (n_samples,) int64.

    The defaults are the course handout's (200 points, noise 0.20, seed 0).
    """
    n_samples, noise = _check(n_samples, noise)
    X, y = sklearn.datasets.make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return _out(X, y)


def make_circles(n_samples: int = 200, noise: float = 0.10, seed: int = 0, factor: float = 0.5) -> XY:
    """A small circle (class 1) inside a large one (class 0), radii ``factor`` and 1 (scikit-learn)."""
    n_samples, noise = _check(n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor is the inner circle's radius relative to the outer one, in (0, 1); got {factor}")
    X, y = sklearn.datasets.make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return _out(X, y)


def make_blobs(n_samples: int = 200, noise: float = 0.5, seed: int = 0, n_classes: int = 3) -> XY:
    """``n_classes`` Gaussian clusters of standard deviation ``noise`` (scikit-learn's generator), centred
    evenly on the circle of radius 2 (class k at angle 2 pi k / K), so the classes overlap only through noise."""
    n_samples, noise = _check(n_samples, noise)
    n_classes = check_positive_int(n_classes, "n_classes")
    angles = 2.0 * np.pi * np.arange(n_classes) / n_classes
    centers = 2.0 * np.c_[np.cos(angles), np.sin(angles)]
    X, y = sklearn.datasets.make_blobs(
        n_samples=n_samples, centers=centers, cluster_std=max(noise, 1e-12), random_state=seed
    )
    return _out(X, y)


def make_gaussian_quantiles(n_samples: int = 200, noise: float = 0.0, seed: int = 0, n_classes: int = 2) -> XY:
    """A standard 2-D Gaussian cut into ``n_classes`` rings of equal probability (scikit-learn); the
    labels are those of the clean points, then ``noise``-sized Gaussian jitter blurs the rings."""
    n_samples, noise = _check(n_samples, noise)
    n_classes = check_positive_int(n_classes, "n_classes")
    if n_classes < 2 or n_classes > n_samples:
        raise ValueError(f"n_classes must be between 2 and n_samples={n_samples}, got {n_classes}")
    X, y = sklearn.datasets.make_gaussian_quantiles(
        n_samples=n_samples, n_features=2, n_classes=n_classes, random_state=seed
    )
    rng = np.random.RandomState(seed + 1)
    return _out(X + noise * rng.randn(*X.shape), y)


def make_spirals(n_samples: int = 300, noise: float = 0.05, seed: int = 0, n_arms: int = 3, turns: float = 1.0) -> XY:
    """``n_arms`` interleaved spiral arms, one class each (cs231n's and TensorFlow Playground's spiral data).

    Arm k: radius r evenly in [0, 1], angle t = 2 pi (turns r + k / K), the point r (sin t, cos t)
    plus Gaussian jitter of standard deviation ``noise``. Near the centre the arms meet, so no
    classifier is perfect there.
    """
    n_samples, noise = _check(n_samples, noise)
    n_arms = check_positive_int(n_arms, "n_arms")
    if n_arms < 2 or n_arms > n_samples:
        raise ValueError(f"n_arms must be between 2 and n_samples={n_samples}, got {n_arms}")
    turns = check_positive_float(turns, "turns")
    rng = np.random.RandomState(seed)
    y = np.arange(n_samples) % n_arms
    # Even spacing along each arm: the i-th point of an arm sits at radius i / (points on the arm - 1).
    index_in_arm = np.arange(n_samples) // n_arms
    per_arm = np.bincount(y, minlength=n_arms)
    r = index_in_arm / np.maximum(per_arm[y] - 1, 1)
    t = 2.0 * np.pi * (turns * r + y / n_arms)
    X = np.c_[r * np.sin(t), r * np.cos(t)] + noise * rng.randn(n_samples, 2)
    return _out(X, y)


def make_xor(n_samples: int = 200, noise: float = 0.0, seed: int = 0) -> XY:
    """XOR (TensorFlow Playground's): points uniform in [-1, 1]^2, class 1 where x1 * x2 < 0.

    The labels come from the clean points; ``noise``-sized Gaussian jitter is added afterwards.
    Points within 0.05 of an axis are pushed away from it so the clean classes have a margin.
    """
    n_samples, noise = _check(n_samples, noise)
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    X += np.where(X >= 0, 0.05, -0.05)
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    return _out(X + noise * rng.randn(n_samples, 2), y)


TOY_DATASETS = {
    "moons": make_moons,
    "circles": make_circles,
    "blobs": make_blobs,
    "spirals": make_spirals,
    "xor": make_xor,
    "gaussian_quantiles": make_gaussian_quantiles,
}
