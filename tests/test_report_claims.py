"""The page ranks only what its numbers resolve: leaders within one point tie (report/claims.py)."""

from __future__ import annotations

import pytest

from backproplab.report.claims import highest_phrase, leaders, leaders_phrase

ONE_POINT = 1 / 200


def test_values_one_point_apart_tie_and_two_points_apart_rank() -> None:
    # the moons page's numbers on the AVX-512 path of one machine
    accs = {"tanh": 0.975, "sigmoid": 0.975, "relu": 0.980, "leaky_relu": 0.980, "elu": 0.980, "softplus": 0.975}
    assert leaders(accs, ONE_POINT) == list(accs)
    assert highest_phrase(accs, ONE_POINT) == "all 6 tie"
    apart = {"tanh": 0.970, "relu": 0.980, "elu": 0.975}
    assert leaders(apart, ONE_POINT) == ["relu", "elu"]
    assert highest_phrase(apart, ONE_POINT) == "relu, elu tie for highest"
    assert leaders_phrase(apart, ONE_POINT) == "relu, elu (0.975–0.980)"
    clear = {"tanh": 0.965, "relu": 0.980}
    assert highest_phrase(clear, ONE_POINT) == "relu is highest"
    assert leaders_phrase(clear, ONE_POINT) == "relu (0.980)"


def test_a_gap_computed_in_floating_point_still_counts_as_one_point() -> None:
    accs = {"a": 196 / 200, "b": float(sum([0.005] * 195))}  # 0.975 reached by adding, off in the last bit
    assert leaders(accs, ONE_POINT) == ["a", "b"]


def test_nothing_to_rank_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        leaders({}, ONE_POINT)
