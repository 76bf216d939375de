"""Small tabular classification sets bundled with scikit-learn (no download, work offline).

============  =======  ========  =======  ==============================================
name          rows     features  classes  what
============  =======  ========  =======  ==============================================
iris          150      4         3        Fisher's iris flowers
wine          178      13        3        chemical analysis of three Italian cultivars
breast_cancer 569      30        2        Wisconsin diagnostic breast cancer (0 malignant)
digits        1797     64        10       8x8 images of handwritten digits, values 0..16
============  =======  ========  =======  ==============================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sklearn.datasets


@dataclass(frozen=True)
class Table:
    """Features X: (N, D) float64, labels y: (N,) int64, and their names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str]


def _bunch_loader(fn: Callable[..., object]) -> Callable[[], Table]:
    def load() -> Table:
        bunch = fn()
        X = np.asarray(bunch.data, dtype=np.float64)  # type: ignore[attr-defined]
        y = np.asarray(bunch.target, dtype=np.int64)  # type: ignore[attr-defined]
        features = [str(n) for n in getattr(bunch, "feature_names", [f"x{i}" for i in range(X.shape[1])])]
        classes = [str(n) for n in bunch.target_names]  # type: ignore[attr-defined]
        return Table(X, y, features, classes)

    load.__doc__ = f"The bundled set of :func:`sklearn.datasets.{fn.__name__}`."
    return load


TABULAR_DATASETS: dict[str, Callable[[], Table]] = {
    "iris": _bunch_loader(sklearn.datasets.load_iris),
    "wine": _bunch_loader(sklearn.datasets.load_wine),
    "breast_cancer": _bunch_loader(sklearn.datasets.load_breast_cancer),
    "digits": _bunch_loader(sklearn.datasets.load_digits),
}
