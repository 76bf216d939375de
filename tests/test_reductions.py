"""The fast reductions give NumPy's answers (to the last few bits for sums)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.scratch.reductions import column_sum, row_max, row_sum


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 300),
    c=st.integers(1, 40),
    seed=st.integers(0, 1000),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_reductions_match_numpy(n: int, c: int, seed: int, dtype) -> None:
    a = (np.random.default_rng(seed).normal(size=(n, c)) * 100).astype(dtype)
    assert row_max(a).shape == (n, 1) and row_sum(a).shape == (n, 1) and column_sum(a).shape == (c,)
    np.testing.assert_array_equal(row_max(a), a.max(axis=1, keepdims=True))  # max is exact
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    scale = np.abs(a).sum()
    np.testing.assert_allclose(row_sum(a), a.sum(axis=1, keepdims=True), rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(column_sum(a), a.sum(axis=0), rtol=rtol, atol=rtol * scale)
    out = np.empty(c, dtype=dtype)
    assert column_sum(a, out=out) is out


def test_row_max_keeps_infinities() -> None:
    a = np.array([[1.0, np.inf], [-np.inf, -5.0]])
    np.testing.assert_array_equal(row_max(a), [[np.inf], [-5.0]])


def test_reductions_of_float32_stay_float32() -> None:
    """A float32 network's softmax sums in float32 (numpy's own row sum is the reference, to float32 rounding)."""
    a = np.random.default_rng(7).normal(size=(5, 9)).astype(np.float32)
    assert row_sum(a).dtype == column_sum(a).dtype == row_max(a).dtype == np.float32
    np.testing.assert_allclose(row_sum(a)[:, 0], a.sum(axis=1), rtol=1e-5, atol=1e-6)
