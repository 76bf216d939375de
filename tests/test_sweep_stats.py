"""A finished run's sweep statistics (sweeps/stats.py) on hand-built inputs with known answers: the loss
curve down-sampled, the saturated and silent shares of histograms, and what extract() reads from a run's
own TensorBoard events and keeps beside them."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from backproplab.monitoring import SummaryWriter
from backproplab.sweeps import stats


def test_loss_curve_is_averaged_in_chunks_leaving_out_nan() -> None:
    n = 2 * stats.LOSS_POINTS  # two points per chunk
    values = [float(i) for i in range(n)]
    values[1] = math.nan  # chunk 0 keeps its finite point
    values[10] = values[11] = math.nan  # chunk 5 has none: a gap
    curve = stats._loss_curve([(10 * i, v) for i, v in enumerate(values)])
    expected = [2 * k + 0.5 for k in range(stats.LOSS_POINTS)]
    expected[0], expected[5] = 0.0, math.nan
    assert curve["step"] == [20 * k + 5.0 for k in range(stats.LOSS_POINTS)]
    assert curve["value"] == pytest.approx(expected, nan_ok=True)
    short = [(0, 3.0), (5, 1.0)]
    assert stats._loss_curve(short) == {"step": [0.0, 5.0], "value": [3.0, 1.0]}
    one_more = [(i, 1.0) for i in range(stats.LOSS_POINTS + 1)]  # just over the limit: down-sampled
    assert len(stats._loss_curve(one_more)["value"]) == stats.LOSS_POINTS


@pytest.mark.parametrize(
    ("activation", "limits", "expected"),
    [
        # sigmoid, margin 0.01: the buckets reaching below 0.01 or above 0.99, not those ending at 0.015 or 0.985
        ("sigmoid", [0.005, 0.015, 0.5, 0.985, 1.0], (1 + 8) / 15),
        # tanh spans 2, margin 0.02: below -0.98 or above 0.98, not those at -0.97 or 0.97
        ("tanh", [-0.995, -0.97, 0.0, 0.97, 0.99, 1.0], (1 + 8 + 16) / 31),
        # a bucket edge exactly at the margin is not within it
        ("sigmoid", [0.01, 0.5, 0.99, 1.0], 4 / 7),
    ],
    ids=["sigmoid", "tanh", "edges-on-the-margin"],
)
def test_saturated_share_counts_the_buckets_within_one_percent_of_a_bound(activation, limits, expected) -> None:
    counts = [0] + [2**i for i in range(len(limits) - 1)]  # bucket 0 is the empty one ending at the minimum
    assert stats.saturated_share({"bucket_limit": limits, "bucket": counts}, activation) == pytest.approx(expected)


def test_silent_share_counts_the_buckets_starting_at_or_below_zero() -> None:
    # buckets (-0.5, 0], (0, 0.1] and (0.1, 1]: the second starts at 0 (where ReLU's zeros fall), the third above
    histogram = {"bucket_limit": [-0.5, 0.0, 0.1, 1.0], "bucket": [0, 1, 2, 4]}
    assert stats.silent_share(histogram) == pytest.approx(3 / 7)
    assert stats.silent_share({"bucket_limit": [0.0, 0.1], "bucket": [3, 1]}) == pytest.approx(1.0)
    empty = {"bucket_limit": [0.0, 1.0], "bucket": [0, 0]}
    assert math.isnan(stats.silent_share(empty)) and math.isnan(stats.saturated_share(empty, "tanh"))


def _events(folder) -> None:
    """A run's events: the loss 5..1, two layers' activation (half at 0, half at 1) and weight std."""
    half = np.repeat([0.0, 1.0], 50)
    with SummaryWriter(folder) as writer:
        for step in range(5):
            writer.add_scalar("train/loss", 5.0 - step, step)
        for step, std in ((0, 0.5), (10, 0.25)):
            writer.add_scalar("conv1/activation/std", std, step)
            writer.add_scalar("fc2/weights/std", 2 * std, step)
            writer.add_histogram("conv1/activation", half, step)
            writer.add_histogram("fc1/activation", np.linspace(-0.5, 0.5, 100), step)


def test_extract_reads_the_runs_events_and_keeps_them_beside_it(tmp_path) -> None:
    _events(tmp_path)
    level = logging.getLogger("tensorboard").level
    got = stats.extract(tmp_path, "tanh")
    assert logging.getLogger("tensorboard").level == level
    assert got["loss"] == {"step": [0.0, 1.0, 2.0, 3.0, 4.0], "value": [5.0, 4.0, 3.0, 2.0, 1.0]}
    assert got["activation_std"]["conv1"] == {"step": [0, 10], "value": [0.5, 0.25]}
    assert got["activation_std"]["conv2"] == {"step": [], "value": []}
    assert got["weight_std"]["fc2"] == {"step": [0, 10], "value": [1.0, 0.5]}
    # the outputs at 1.0 are within 1% of tanh's bound, those at 0 and those in [-0.5, 0.5] are not
    assert got["saturated"] == {
        "conv1": {"step": [0, 10], "value": [0.5, 0.5]},
        "fc1": {"step": [0, 10], "value": [0.0, 0.0]},
    }
    assert got["silent"] == {}
    assert json.loads((tmp_path / stats.STATS_FILE).read_text()) == got
    relu = stats.extract(tmp_path, "relu")
    assert relu["saturated"] == {}
    # fc1: 30 bins of width 1/30 from -0.5; the 16 starting at or below 0 hold the 53 points up to 0.0333
    assert relu["silent"] == {
        "conv1": {"step": [0, 10], "value": [0.5, 0.5]},
        "fc1": {"step": [0, 10], "value": [0.53, 0.53]},
    }
    assert stats.extract(tmp_path, "maxout")["silent"] == {}  # neither bounded nor of the ReLU family


def test_load_reuses_the_kept_statistics_and_reads_again_when_damaged(tmp_path) -> None:
    _events(tmp_path)
    kept = tmp_path / stats.STATS_FILE
    assert not kept.exists()
    first = stats.load(tmp_path, "tanh")
    assert first["saturated"]["conv1"]["value"] == [0.5, 0.5]  # read for this activation
    assert json.loads(kept.read_text()) == first
    kept.write_text(json.dumps({"kept": True}))
    assert stats.load(tmp_path, "tanh") == {"kept": True}  # read back, not recomputed
    kept.write_text("{not json")
    assert stats.load(tmp_path, "tanh") == first


def test_a_run_without_loss_events_has_no_loss_curve(tmp_path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("conv1/activation/std", 1.0, 0)
    assert stats.extract(tmp_path, "tanh")["loss"] == {}


def test_extract_reads_a_resumed_runs_events_without_a_warning_per_file(tmp_path, caplog) -> None:
    # A resumed run writes its steps again from the last checkpoint: TensorBoard's reader purges the stale
    # ones and warns about it, which is expected here and would print once per run folder.
    _events(tmp_path)
    with SummaryWriter(tmp_path, purge_step=2) as writer:  # as a run resumed from its step-2 checkpoint writes
        writer.add_scalar("train/loss", 2.5, 2)
    with caplog.at_level(logging.WARNING):
        got = stats.extract(tmp_path, "tanh")
    assert got["loss"]["step"][-1] == 2.0  # the resumed run's step
    assert [r for r in caplog.records if r.name.startswith("tensorboard")] == []
