"""Argument checks shared across the package (engines, data sets, experiments).

Each raises ``ValueError`` naming the argument, the value and what is allowed, in the words of the
settings' checks (:mod:`backproplab.settings`: one vocabulary, one predicate per rule). They live
at the package level so that the data layer does not depend on either engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.settings import Check, Invalid, non_negative_float, positive_float, positive_int


def named(check: Check, value: Any, name: str) -> Any:
    """``check(value)``; its reason raised as a ValueError naming ``name``: ``n must be a positive
    whole number, got 0``."""
    try:
        return check(value)
    except Invalid as exc:
        raise ValueError(f"{name} {exc}, got {value!r}") from None


def check_positive_int(value: object, name: str) -> int:
    return named(positive_int, value, name)


def check_positive_float(value: object, name: str) -> float:
    return named(positive_float, value, name)


def check_non_negative_float(value: object, name: str) -> float:
    return named(non_negative_float, value, name)


def check_features(X: object, n_features: int, name: str = "X") -> np.ndarray:
    """Return X as a float64 array of shape (N, n_features), N >= 1, all values finite."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an (N, {n_features}) array of numbers") from None
    if arr.ndim != 2 or arr.shape[1] != n_features or arr.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (N, {n_features}) with N >= 1 (the network has nn_input_dim="
            f"{n_features}), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); clean or impute the data first")
    return arr


def check_labels(y: object, n_examples: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Return y as an int64 array of shape (n_examples,) with values in [0, n_classes)."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n_examples:
        raise ValueError(f"{name} must have shape ({n_examples},) to match X's {n_examples} rows, got {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    labels = arr.astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(
            f"{name} holds labels in [{labels.min()}, {labels.max()}] but the network has nn_output_dim="
            f"{n_classes} classes, so labels must be in [0, {n_classes - 1}]"
        )
    return labels
