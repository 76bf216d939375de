"""Softmax and cross-entropy, written to stay finite for any finite scores."""

from __future__ import annotations

import numpy as np

from backproplab.scratch.reductions import row_max, row_sum


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax. scores: (N, C) -> probabilities (N, C), each row sums to 1.

    Subtracting the row maximum leaves the result unchanged and keeps every exponent <= 0, so
    nothing overflows however large the scores are.
    """
    exp = np.exp(scores - row_max(scores))
    exp /= row_sum(exp)
    return exp


def cross_entropy_sum(scores: np.ndarray, y: np.ndarray) -> float:
    """Sum over examples of -log softmax(scores)[n, y[n]]. scores: (N, C), y: (N,) ints in [0, C).

    Computed as log-sum-exp minus the picked score rather than as -log(probability): when a
    probability underflows to 0 the loss is still the exact finite number, not inf.
    """
    top = row_max(scores)
    log_norm = top[:, 0] + np.log(row_sum(np.exp(scores - top))[:, 0])
    return float((log_norm - scores[np.arange(y.shape[0]), y]).sum())
