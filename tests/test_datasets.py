"""Data sets: the 2-D generators' geometry, load()'s split and scaling, the bundled tables, and
that a network learns each of them."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.datasets import (
    DATASETS,
    load,
    make_blobs,
    make_circles,
    make_gaussian_quantiles,
    make_moons,
    make_spirals,
    make_xor,
)
from backproplab.scratch import DeepNeuralNetwork

GENERATORS = {
    "moons": make_moons,
    "circles": make_circles,
    "blobs": make_blobs,
    "spirals": make_spirals,
    "xor": make_xor,
    "gaussian_quantiles": make_gaussian_quantiles,
}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generators_shapes_labels_and_seeds(name: str) -> None:
    make = GENERATORS[name]
    X, y = make(n_samples=301, noise=0.1, seed=3)
    assert X.shape == (301, 2) and X.dtype == np.float64 and y.shape == (301,) and y.dtype == np.int64
    k = int(y.max()) + 1
    assert y.min() == 0 and k >= 2
    if name != "xor":  # xor's classes follow the uniform points; the others are balanced by construction
        assert np.bincount(y).max() - np.bincount(y).min() <= 1
    X2, y2 = make(n_samples=301, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(n_samples=301, noise=0.1, seed=4)
    assert not np.array_equal(X, X3)


def test_noise_free_geometry() -> None:
    X, y = make_circles(200, noise=0.0, factor=0.5)
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), np.where(y == 1, 0.5, 1.0), atol=1e-12)
    X, y = make_xor(500, noise=0.0)
    assert np.all((X[:, 0] * X[:, 1] < 0) == (y == 1))
    assert np.abs(X).min() >= 0.05  # the margin around the axes
    X, y = make_spirals(300, noise=0.0, n_arms=3)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() == pytest.approx(1.0) and r.min() == pytest.approx(0.0)
    assert np.bincount(y).tolist() == [100, 100, 100]
    # along an arm the angle grows with the radius: t = 2 pi (turns r + k / K), one turn by default
    arm = y == 1
    t = np.unwrap(np.arctan2(X[arm, 0], X[arm, 1])[1:])
    np.testing.assert_allclose(np.diff(t) / np.diff(r[arm][1:]), 2 * np.pi, rtol=1e-6)
    X, y = make_gaussian_quantiles(400, noise=0.0, n_classes=2)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 0].max() <= r[y == 1].min()  # the inner half of the Gaussian is class 0
    X, y = make_blobs(40, noise=0.0, n_classes=4)
    angles = np.pi / 2 * y
    np.testing.assert_allclose(X, 2 * np.c_[np.cos(angles), np.sin(angles)], atol=1e-9)
    assert make_spirals(100, n_arms=5)[1].max() == 4


def test_load_standardises_on_the_training_rows_and_stratifies() -> None:
    d = load("blobs", n_samples=400, noise=0.8, seed=2)
    assert d.n_features == 2 and d.n_classes == 3 and d.two_dimensional
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.X_train.std(axis=0), 1.0, rtol=1e-12)
    # the test rows are scaled with the training statistics, not their own
    assert np.abs(d.X_test.mean(axis=0)).max() > 1e-6
    X, _y = make_blobs(400, noise=0.8, seed=2)
    raw = np.vstack([d.X_train, d.X_test]) * d.feature_scale + d.feature_mean
    assert sorted(map(tuple, np.round(raw, 9))) == sorted(map(tuple, np.round(X, 9)))
    assert d.y_test.shape == (100,) and d.y_train.shape == (300,)
    assert np.bincount(d.y_test).tolist() in ([33, 33, 34], [33, 34, 33], [34, 33, 33])
    np.testing.assert_allclose(d.transform(X[:3]), (X[:3] - d.feature_mean) / d.feature_scale)
    again = load("blobs", n_samples=400, noise=0.8, seed=2)
    np.testing.assert_array_equal(again.X_test, d.X_test)
    assert d.describe()["n_train"] == 300 and d.params["noise"] == 0.8 and d.params["seed"] == 2


@pytest.mark.parametrize(
    "name,rows,features,classes",
    [("iris", 150, 4, 3), ("wine", 178, 13, 3), ("breast_cancer", 569, 30, 2), ("digits", 1797, 64, 10)],
)
def test_bundled_tables_have_their_known_sizes(name, rows, features, classes) -> None:
    d = load(name, seed=0)
    assert d.y_train.shape[0] + d.y_test.shape[0] == rows
    assert d.n_features == features and d.n_classes == classes and not d.two_dimensional
    assert np.isfinite(d.X_train).all() and np.isfinite(d.X_test).all()  # digits' constant pixels stay finite
    assert len(d.class_names) == classes and len(d.feature_names) == features


TRAINING_FLOORS = {
    # name: (hidden, epochs, test accuracy floor)
    "moons": ([16, 16], 40, 0.93),
    "circles": ([16, 16], 40, 0.93),
    "blobs": ([16], 30, 0.9),
    "spirals": ([32, 32, 32], 150, 0.93),  # one hidden layer of 16 gets ~0.85 here
    "xor": ([16, 16], 60, 0.93),
    "gaussian_quantiles": ([16, 16], 60, 0.9),
    "iris": ([16], 60, 0.9),
    "wine": ([16], 40, 0.93),
    "breast_cancer": ([16], 30, 0.93),
    "digits": ([64], 15, 0.95),
}


@pytest.mark.parametrize("name", list(TRAINING_FLOORS))
def test_each_data_set_is_learned(name: str) -> None:
    hidden, epochs, floor = TRAINING_FLOORS[name]
    kwargs = {"n_samples": 600} if name in GENERATORS else {}
    d = load(name, seed=0, **kwargs)
    net = DeepNeuralNetwork(d.n_features, hidden, d.n_classes, "relu", 0.01, seed=0, init="he")
    net.fit_model(d.X_train, d.y_train, 0.01, epochs, False, batch_size=32, optimizer="adam", lr_decay=0.97)
    accuracy = float(np.mean(net.predict(d.X_test) == d.y_test))
    assert accuracy >= floor, f"{name}: test accuracy {accuracy:.3f} < {floor}"


def test_names_and_errors() -> None:
    assert DATASETS.names()[:6] == list(GENERATORS)
    assert load("Breast-Cancer").name == "breast_cancer" and load("quantiles").name == "gaussian_quantiles"
    with pytest.raises(ValueError, match="unknown data set 'mnist3'; choose one of: moons, circles, blobs"):
        load("mnist3")
    with pytest.raises(ValueError, match="fixed bundled table"):
        load("iris", n_samples=50)
    with pytest.raises(ValueError, match="spirals takes no option\\(s\\) factor; its options are: n_arms"):
        load("spirals", factor=0.3)
    with pytest.raises(ValueError, match="test_size is the test fraction"):
        load("moons", test_size=1.0)
    with pytest.raises(ValueError, match="too few for a stratified split"):
        load("spirals", n_samples=6, n_arms=3)
    with pytest.raises(ValueError, match="n_samples must be a positive whole number"):
        make_moons(0)
    with pytest.raises(ValueError, match="noise must be"):
        make_xor(10, noise=-1)
    with pytest.raises(ValueError, match="n_arms must be between 2"):
        make_spirals(10, n_arms=1)
    with pytest.raises(ValueError, match="factor"):
        make_circles(10, factor=1.5)


def test_default_moons_are_the_handouts() -> None:
    import sklearn.datasets

    X, y = make_moons()
    Xs, ys = sklearn.datasets.make_moons(200, noise=0.2, random_state=0)
    np.testing.assert_array_equal(X, Xs)
    np.testing.assert_array_equal(y, ys)


def test_fresh_test_set_of_a_small_run_holds_every_class() -> None:
    # 5 spiral points in 3 arms: a test draw of 5 * 0.25 / 0.75 ~ 2 points could not hold all arms
    d = load("spirals", n_samples=5, seed=0, fresh_test=True)
    assert d.y_train.tolist() == [0, 1, 2, 0, 1]
    assert sorted(d.y_test.tolist()) == [0, 1, 2] and d.params["n_test"] == 3
    assert load("moons", fresh_test=True).params["n_test"] == 67  # 200 * 0.25 / 0.75, as before
