"""Row and column reductions for the small matrices of these networks, written for speed.

NumPy's ``a.sum(axis=...)`` and ``a.max(axis=1)`` walk a short axis element by element; for the
(N, 2) scores of a two-class network that costs ~35 ns a row, more than the matrix products of a
training pass. A product with a vector of ones (BLAS) or a column-wise ``np.maximum`` gives the
same numbers an order of magnitude faster (sums may differ in the last bit: BLAS adds in another
order). The lesson is backprop, not this file: read these as ``a.sum(axis=...)`` and ``a.max(axis=1)``.

Kept because they gain more than 10% at the sizes the report trains (``benchmarks/bench_scratch.py
--only-ablation``; the numbers are in docs/results.md), and in the deep network's mini-batch steps, where
they gain less, because they keep its numbers identical to the three-layer network's.
"""

from __future__ import annotations

import numpy as np

_FEW_COLUMNS = 16


def row_max(a: np.ndarray) -> np.ndarray:
    """a: (N, C) -> (N, 1), the largest entry of each row."""
    if a.shape[1] > _FEW_COLUMNS:
        return a.max(axis=1, keepdims=True)
    m = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        np.maximum(m, a[:, j], out=m)
    return m[:, None]


def row_sum(a: np.ndarray) -> np.ndarray:
    """a: (N, C) -> (N, 1), the sum of each row."""
    return (a @ np.ones(a.shape[1], dtype=a.dtype))[:, None]


def column_sum(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a: (N, C) -> (C,), the sum of each column (into ``out`` when given)."""
    return np.matmul(np.ones(a.shape[0], dtype=a.dtype), a, out=out)
