r"""Numerical gradient checks (centred finite differences), for the networks and for your own layers.

    err = gradient_check(net, X, y)      # max relative error over every parameter entry
    assert err < 1e-6

``rel_error(a, b) = max |a - b| / max(1e-8, |a| + |b|)`` (cs231n's). In float64 with ``h = 1e-5`` a
correct backprop gives errors around 1e-7 or smaller; a wrong one gives 1e-2 or more. Run checks in
float64 (``dtype=np.float64``, the default) and on a few rows: the check costs two loss
evaluations per parameter entry. ReLU's kink can spoil the check of an entry whose perturbation
moves a net input across 0; with random data that is rare at ``h = 1e-5``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1e-8, |a| + |b|) over all entries (0.0 for empty arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred differences (f(x + h e_i) - f(x - h e_i)) / 2h of a scalar ``f()`` that reads ``x``.

    ``x`` is perturbed in place, entry by entry, and restored exactly.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = f()
        x[idx] = old - h
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2.0 * h)
    return grad


def numerical_gradients(net: Any, X: np.ndarray, y: np.ndarray, h: float = 1e-5) -> list[np.ndarray]:
    """Finite-difference gradients of ``net.calculate_loss(X, y)`` for each of ``net.parameters()``."""
    return [numerical_gradient(lambda: net.calculate_loss(X, y), p, h) for p in net.parameters()]


def gradient_check(net: Any, X: np.ndarray, y: np.ndarray, h: float = 1e-5) -> float:
    """Max relative error between ``net.backprop(X, y)`` and finite differences of ``net.calculate_loss``.

    Works for any object with ``parameters()`` (live arrays, updated in place), ``calculate_loss(X,
    y) -> float`` and ``backprop(X, y)`` returning gradients in the order of ``parameters()`` --
    the three-layer :class:`NeuralNetwork`, :class:`DeepNeuralNetwork`, or a network of your own.
    """
    params: Sequence[np.ndarray] = net.parameters()
    for i, p in enumerate(params):
        if p.dtype != np.float64:
            raise ValueError(f"gradient_check needs float64 parameters (parameter {i} is {p.dtype})")
    analytic = [np.array(g, dtype=np.float64) for g in net.backprop(X, y)]
    if len(analytic) != len(params):
        raise ValueError(f"backprop returned {len(analytic)} gradients for {len(params)} parameters")
    numeric = numerical_gradients(net, X, y, h)
    return max(rel_error(a, n) for a, n in zip(analytic, numeric, strict=True))


def layer_gradient_check(layer: Any, X: np.ndarray, h: float = 1e-5, seed: int = 0) -> float:
    """Check one layer's ``backprop`` against finite differences, with the loss ``sum(a * G)`` for a
    fixed random G (so dL/da = G). Covers dW, db and dL/dX; returns the max relative error."""
    rng = np.random.RandomState(seed)
    X = np.array(X, dtype=np.float64)
    G = rng.randn(X.shape[0], layer.output_dim)

    def loss() -> float:
        return float(np.sum(layer.feedforward(X) * G))

    layer.feedforward(X)
    dX = layer.backprop(G)
    dW, db = np.array(layer.dW), np.array(layer.db)
    errors = [
        rel_error(dW, numerical_gradient(loss, layer.W, h)),
        rel_error(db, numerical_gradient(loss, layer.b, h)),
        rel_error(dX, numerical_gradient(loss, X, h)),
    ]
    return max(errors)
