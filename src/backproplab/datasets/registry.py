"""One entry point for every classification data set: :func:`load`.

    data = load("moons", n_samples=1000, noise=0.2, seed=0)       # 2-D toy set
    data = load("iris", seed=0)                                    # bundled tabular set
    net = DeepNeuralNetwork(data.n_features, [10, 10], data.n_classes)

``load`` returns a :class:`Dataset`: a seeded, stratified train/test split whose features are
standardised with the mean and standard deviation of the *training* rows only (so nothing about the
test rows leaks into training), integer labels 0..K-1, and the sizes a network needs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from backproplab.checks import check_positive_float
from backproplab.datasets.tabular import TABULAR_DATASETS
from backproplab.datasets.toy import TOY_DATASETS
from backproplab.registry import Registry

#: Every data set :func:`load` knows, the 2-D sets first: name -> its generator or table loader.
DATASETS: Registry[Any] = Registry(
    "data set",
    {**TOY_DATASETS, **TABULAR_DATASETS},
    aliases={
        "moon": "moons",
        "circle": "circles",
        "blob": "blobs",
        "spiral": "spirals",
        "quantiles": "gaussian_quantiles",
        "gaussian": "gaussian_quantiles",
        "cancer": "breast_cancer",
        "digit": "digits",
    },
)


def is_two_dimensional(name: str) -> bool:
    """True for the 2-D toy sets (those a decision boundary can be drawn for)."""
    return DATASETS.canonical(name) in TOY_DATASETS


@dataclass(frozen=True)
class Dataset:
    """A standardised, stratified train/test split. X_*: (N_*, n_features) float64; y_*: (N_*,) int64."""

    name: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    n_features: int
    n_classes: int
    feature_mean: np.ndarray  # (n_features,) subtracted from the raw features
    feature_scale: np.ndarray  # (n_features,) then divided by
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # how it was made: n_samples, noise, seed, test_size

    @property
    def two_dimensional(self) -> bool:
        return self.n_features == 2 and self.name in TOY_DATASETS

    def transform(self, X_raw: np.ndarray) -> np.ndarray:
        """Standardise raw features the way this split was: (X_raw - feature_mean) / feature_scale."""
        return (np.asarray(X_raw, dtype=np.float64) - self.feature_mean) / self.feature_scale

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary (sizes, classes, how it was made)."""
        return {
            "name": self.name,
            "n_train": int(self.y_train.shape[0]),
            "n_test": int(self.y_test.shape[0]),
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "class_names": self.class_names,
            "train_class_counts": np.bincount(self.y_train, minlength=self.n_classes).tolist(),
            **self.params,
        }


def load(
    name: str,
    n_samples: int | None = None,
    noise: float | None = None,
    seed: int = 0,
    test_size: float = 0.25,
    *,
    standardize: bool = True,
    fresh_test: bool = False,
    **options: Any,
) -> Dataset:
    """Load data set ``name`` (see :data:`DATASETS`) as a standardised stratified split.

    - 2-D sets: ``n_samples`` and ``noise`` default to the generator's defaults; ``seed`` seeds both
      the points and the split; ``options`` go to the generator (``n_arms`` for spirals,
      ``n_classes`` for blobs and gaussian_quantiles, ``factor`` for circles).
    - Tabular sets have a fixed size and no noise: ``n_samples``/``noise``/``options`` are errors.
    - ``test_size``: the test fraction in (0, 1), taken per class.
    - ``standardize=False`` keeps the raw features (``feature_mean`` 0, ``feature_scale`` 1).
    - ``fresh_test=True`` (2-D sets only): train on all ``n_samples`` generated points -- the exact
      data of the course handout for moons -- and test on a fresh draw from the same generator
      with seed ``seed + 1000``, of ``n_samples * test_size / (1 - test_size)`` points (so the
      train/test proportions are those of the split).
    """
    key = DATASETS.canonical(name)
    test_size = check_positive_float(test_size, "test_size")
    if test_size >= 1:
        raise ValueError(f"test_size is the test fraction, in (0, 1); got {test_size}")
    params: dict[str, Any] = {"seed": seed, "test_size": test_size}
    if key in TOY_DATASETS:
        generator = TOY_DATASETS[key]
        signature = inspect.signature(generator)
        unknown = set(options) - (set(signature.parameters) - {"n_samples", "noise", "seed"})
        if unknown:
            valid = sorted(set(signature.parameters) - {"n_samples", "noise", "seed"})
            raise ValueError(
                f"{key} takes no option(s) {', '.join(sorted(unknown))}; its options are: {', '.join(valid) or 'none'}"
            )
        kwargs = dict(options)
        if n_samples is not None:
            kwargs["n_samples"] = n_samples
        if noise is not None:
            kwargs["noise"] = noise
        bound = signature.bind(seed=seed, **kwargs)
        bound.apply_defaults()
        params = {**bound.arguments, "test_size": test_size}
        X, y = generator(**bound.arguments)
        feature_names, class_names = ["x1", "x2"], [str(c) for c in range(int(y.max()) + 1)]
        if fresh_test:
            # at least one point per class: the generators need that many (spirals' n_arms...)
            n_test = max(len(class_names), round(X.shape[0] * test_size / (1 - test_size)))
            X_test, y_test = generator(**{**bound.arguments, "n_samples": n_test, "seed": seed + 1000})
            params.update(test_seed=seed + 1000, n_test=n_test)
            return _finish(key, X, X_test, y, y_test, standardize, feature_names, class_names, params)
    else:
        if fresh_test:
            raise ValueError(f"fresh_test applies to the 2-D generated sets only; {key} is a fixed table")
        if n_samples is not None or noise is not None or options:
            raise ValueError(
                f"{key} is a fixed bundled table: n_samples, noise and generator options do not apply to it"
            )
        table = TABULAR_DATASETS[key]()
        X, y, feature_names, class_names = table.X, table.y, table.feature_names, table.class_names
        params["n_samples"] = int(y.shape[0])

    n_classes = int(y.max()) + 1
    counts = np.bincount(y, minlength=n_classes)
    n_test = int(np.ceil(test_size * y.shape[0]))
    if counts.min() < 2 or n_test < n_classes or y.shape[0] - n_test < n_classes:
        raise ValueError(
            f"{key}: {y.shape[0]} rows in {n_classes} classes are too few for a stratified split with "
            f"test_size={test_size}; use more samples (n_samples) or another test_size"
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y, shuffle=True
    )
    return _finish(key, X_train, X_test, y_train, y_test, standardize, feature_names, class_names, params)


def _finish(
    key: str,
    X_train: np.ndarray,
    X_test: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    standardize: bool,
    feature_names: list[str],
    class_names: list[str],
    params: dict[str, Any],
) -> Dataset:
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    if standardize:
        mean = X_train.mean(axis=0)
        scale = X_train.std(axis=0)
        scale[scale == 0] = 1.0  # a constant feature (digits' border pixels) stays 0, not NaN
    else:
        mean, scale = np.zeros(X_train.shape[1]), np.ones(X_train.shape[1])
    params["standardized"] = bool(standardize)
    return Dataset(
        name=key,
        X_train=np.ascontiguousarray((X_train - mean) / scale),
        X_test=np.ascontiguousarray((X_test - mean) / scale),
        y_train=np.asarray(y_train, dtype=np.int64),
        y_test=np.asarray(y_test, dtype=np.int64),
        n_features=int(X_train.shape[1]),
        n_classes=n_classes,
        feature_mean=mean,
        feature_scale=scale,
        feature_names=feature_names,
        class_names=class_names,
        params=params,
    )
