"""Two-dimensional toy classification problems."""

from __future__ import annotations

import numpy as np
import sklearn.datasets

from backproplab.scratch.validation import check_non_negative_float, check_positive_int


def make_moons(n_samples: int = 200, noise: float = 0.20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn). Returns X: (n_samples, 2) float64, y: (n_samples,) int64.

    The defaults are the course handout's (200 points, noise 0.20, seed 0).
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    noise = check_non_negative_float(noise, "noise")
    X, y = sklearn.datasets.make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return X.astype(np.float64), y.astype(np.int64)
