"""The page ranks only what its numbers resolve: leaders within one point tie (report/claims.py)."""

from __future__ import annotations

import pytest

from backproplab.report.claims import (
    RULE,
    highest_phrase,
    leaders,
    leaders_phrase,
    lowest_claim,
    paired_gap,
    spread,
)

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


# Claims over seeds: hand-built errors per seed, each gap worked out by hand against RULE (2 × standard error).


def test_spread_is_mean_sample_std_and_min_max_of_the_finite_values() -> None:
    s = spread([0.02, 0.04, None, float("inf")])
    assert (s.mean, s.low, s.high, s.seeds) == pytest.approx((0.03, 0.02, 0.04, 2))
    assert s.std == pytest.approx(0.02 / 2**0.5)  # sample std of two values: |a - b| / sqrt 2
    one = spread([0.05])
    assert one.seeds == 1 and one.as_dict()["std"] is None and one.as_dict()["mean"] == 0.05


def test_a_gap_both_seeds_agree_on_counts_and_one_that_varies_more_than_itself_does_not() -> None:
    # differences 0.010 and 0.006: mean 0.008, standard error |0.010 - 0.006| / 2 = 0.002, 0.008 > 2 × 0.002
    agreed = paired_gap({0: 0.020, 1: 0.030}, {0: 0.030, 1: 0.036})
    assert (agreed.mean, agreed.se, agreed.pairs) == pytest.approx((0.008, 0.002, 2))
    assert agreed.resolved
    # differences 0.010 and 0.002: mean 0.006, standard error 0.004, 0.006 < 2 × 0.004
    assert not paired_gap({0: 0.020, 1: 0.030}, {0: 0.030, 1: 0.032}).resolved
    # the seeds disagree on the order: never a finding, however large the mean
    assert not paired_gap({0: 0.02, 1: 0.50}, {0: 0.30, 1: 0.49}).resolved
    # pairing by seed: the same numbers with the seeds swapped on one side are a different comparison
    assert paired_gap({0: 0.020, 1: 0.030}, {1: 0.036, 0: 0.030}).resolved
    assert not paired_gap({0: 0.020, 1: 0.030}, {0: 0.036, 1: 0.030}).resolved


def test_one_seed_or_no_common_seed_is_never_a_finding() -> None:
    assert not paired_gap({0: 0.02}, {0: 0.75}).resolved
    assert paired_gap({0: 0.02}, {1: 0.75}).pairs == 0
    assert not paired_gap({0: 0.02, 1: None}, {0: 0.75, 1: 0.74}).resolved  # a diverged seed drops its pair


def test_the_claim_names_a_lowest_value_only_where_its_paired_gaps_exceed_the_noise() -> None:
    sigmoid = {0: 0.75, 1: 0.76}
    relu, elu = {0: 0.020, 1: 0.030}, {0: 0.025, 1: 0.027}  # elu - relu: +0.005 and -0.003, no order
    gelu = {0: 0.030, 1: 0.036}  # above relu by 0.010 and 0.006: resolved
    assert lowest_claim({"relu": relu, "sigmoid": sigmoid}) == (
        "relu has the lowest test error, ahead of every other value by more than the noise (2 seeds)"
    )
    assert lowest_claim({"relu": relu, "elu": elu}) == "both values are indistinguishable at this budget (2 seeds)"
    assert lowest_claim({"relu": relu, "elu": elu, "gelu": gelu, "sigmoid": sigmoid}) == (
        "relu, elu are indistinguishable at this budget for the lowest test error (2 seeds); gelu, sigmoid are "
        "higher by more than the noise"
    )
    one_seed = lowest_claim({"relu": {0: 0.02}, "sigmoid": {0: 0.75}})
    assert one_seed.startswith("one seed per value: no spread") and "no ranking is claimed" in one_seed
    assert "2 × its standard error" in RULE
