"""TensorBoard summaries: write events, read them back with TensorBoard's reader, compare with NumPy."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backproplab.monitoring import (
    QUANTITIES,
    SummaryWriter,
    histogram_edges,
    layer_tag,
    read_histogram_tags,
    read_histograms,
    read_scalars,
    tensor_stats,
)


def test_monitoring_does_not_import_torch() -> None:
    # The NumPy engine shares this module; importing and using it must not pull in torch.
    code = (
        "import sys, tempfile, numpy as np\n"
        "from backproplab.monitoring import SummaryWriter, read_scalars\n"
        "d = tempfile.mkdtemp()\n"
        "with SummaryWriter(d) as w: w.add_tensor_summary('x', np.ones(3), 0)\n"
        "read_scalars(d)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_scalars_round_trip(tmp_path) -> None:
    with SummaryWriter(tmp_path) as writer:
        for step in range(5):
            writer.add_scalar("train/loss", 1.0 / (step + 1), step)
        writer.add_scalars({"eval/a": 0.25, "eval/b": 0.75}, 4)
    scalars = read_scalars(tmp_path)
    assert [s for s, _ in scalars["train/loss"]] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in scalars["train/loss"]], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5], rtol=1e-6)
    assert scalars["eval/a"] == [(4, 0.25)] and scalars["eval/b"] == [(4, 0.75)]


def test_tensor_summary_matches_numpy(tmp_path) -> None:
    rng = np.random.default_rng(1)
    values = (rng.standard_normal((64, 33, 7)) * 0.3 + 2.0).astype(np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_tensor_summary("layer/weights", values, 7)
    scalars = read_scalars(tmp_path)
    x = values.astype(np.float64)
    expected = {"min": x.min(), "max": x.max(), "mean": x.mean(), "std": x.std(), "nonfinite": 0.0}
    for stat, want in expected.items():
        (step, got), *rest = scalars[f"layer/weights/{stat}"]
        assert step == 7 and not rest
        assert got == pytest.approx(want, rel=1e-5, abs=1e-6), stat
    ((step, histo),) = read_histograms(tmp_path)["layer/weights"]
    assert step == 7
    assert histo["num"] == x.size
    assert histo["min"] == pytest.approx(x.min()) and histo["max"] == pytest.approx(x.max())
    assert histo["sum"] == pytest.approx(x.sum(), rel=1e-5)
    assert histo["sum_squares"] == pytest.approx((x * x).sum(), rel=1e-5)
    # Leading empty bucket ending at min, then the 30 bins of np.histogram over [min, max].
    counts, edges = np.histogram(values, bins=30, range=(values.min(), values.max()))
    np.testing.assert_allclose(histo["bucket_limit"], edges, rtol=1e-6)
    assert histo["bucket"][0] == 0
    got = np.asarray(histo["bucket"][1:])
    assert got.sum() == x.size
    # Values within float rounding of an inner edge may move one bin; nothing else may.
    assert np.abs(got - counts).sum() <= 4


def test_non_finite_values_are_counted_and_excluded(tmp_path) -> None:
    values = np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 5.0], dtype=np.float32)
    with SummaryWriter(tmp_path) as writer:
        writer.add_tensor_summary("t", values, 0)
    scalars = read_scalars(tmp_path)
    assert scalars["t/nonfinite"] == [(0, 3.0)]
    assert scalars["t/min"] == [(0, 1.0)] and scalars["t/max"] == [(0, 5.0)]
    assert scalars["t/mean"] == [(0, 3.0)]
    assert scalars["t/std"][0][1] == pytest.approx(np.std([1.0, 3.0, 5.0]))
    ((_, histo),) = read_histograms(tmp_path)["t"]
    assert histo["num"] == 3


@pytest.mark.parametrize(
    "values",
    [np.full(10, np.nan, dtype=np.float32), np.array([np.inf, -np.inf]), np.zeros(0, dtype=np.float32)],
    ids=["all-nan", "all-inf", "empty"],
)
def test_nothing_finite_writes_only_the_count(tmp_path, values) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_tensor_summary("bad", values, 3)
        writer.add_histogram("bad_hist", values, 3)
        writer.add_scalar("after", 1.0, 3)  # the writer still works
    scalars = read_scalars(tmp_path)
    assert scalars["bad/nonfinite"] == [(3, float(values.size))]
    assert "bad/mean" not in scalars and "after" in scalars
    assert read_histogram_tags(tmp_path) == {}


def test_constant_tensor_has_zero_std(tmp_path) -> None:
    # |mean| >> std: a naive E[x^2] - E[x]^2 in float32 would give noise or a NaN.
    values = np.full(100_003, 0.1, dtype=np.float32)
    stats = tensor_stats(values)
    assert stats.std == 0.0 and stats.mean == pytest.approx(0.1)
    assert stats.bucket_counts.sum() == values.size
    with SummaryWriter(tmp_path) as writer:
        writer.add_tensor_summary("biases", values, 0)
    assert read_scalars(tmp_path)["biases/std"] == [(0, 0.0)]


def test_huge_finite_values_do_not_overflow() -> None:
    # What a diverging network's weights look like: finite, but their squares overflow float32.
    values = np.array([-3e38, 1e30, 2e38, 0.0], dtype=np.float32)
    stats = tensor_stats(values)
    x = values.astype(np.float64)
    assert stats.nonfinite == 0 and stats.min == x.min() and stats.max == x.max()
    assert stats.mean == pytest.approx(x.mean()) and stats.std == pytest.approx(x.std())
    assert stats.bucket_counts.sum() == 4


def test_add_histogram_and_tags_by_step(tmp_path) -> None:
    with SummaryWriter(tmp_path) as writer:
        for step in (0, 100, 200):
            writer.add_histogram("h", np.arange(10.0) + step, step)
    assert read_histogram_tags(tmp_path) == {"h": [0, 100, 200]}
    ((_, first), *_) = read_histograms(tmp_path)["h"]
    assert first["min"] == 0 and first["max"] == 9 and sum(first["bucket"]) == 10


def test_resume_purges_orphaned_steps(tmp_path) -> None:
    with SummaryWriter(tmp_path) as writer:
        for step in range(10):
            writer.add_scalar("loss", float(step), step)
    with SummaryWriter(tmp_path, purge_step=5) as writer:
        for step in range(5, 8):
            writer.add_scalar("loss", 100.0 + step, step)
    assert read_scalars(tmp_path)["loss"] == [(s, float(s)) for s in range(5)] + [(s, 100.0 + s) for s in range(5, 8)]


def test_closed_writer_refuses_and_close_is_idempotent(tmp_path) -> None:
    writer = SummaryWriter(tmp_path)
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add_scalar("x", 1.0, 0)


def test_read_missing_logdir_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no TensorBoard log folder"):
        read_scalars(tmp_path / "nope")


@settings(max_examples=60, deadline=None)
@example(np.array([2.22507386e-311, 0.0]))  # a denormal-wide range: the bin scale would overflow
@example(np.array([1e-40, 0.0], dtype=np.float32))
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=40),
        elements=st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf, -np.inf]),
    )
)
def test_tensor_stats_agrees_with_numpy(values: np.ndarray) -> None:
    stats = tensor_stats(values)
    finite = values[np.isfinite(values)]
    assert stats.nonfinite == values.size - finite.size
    assert stats.count == finite.size
    if not finite.size:
        assert math.isnan(stats.mean)
        return
    assert stats.min == finite.min() and stats.max == finite.max()
    assert stats.mean == pytest.approx(finite.mean(), rel=1e-9, abs=1e-6)
    assert stats.std == pytest.approx(finite.std(), rel=1e-6, abs=1e-6)
    assert stats.bucket_counts.sum() == finite.size
    assert stats.bucket_limits[0] <= finite.min() and stats.bucket_limits[-1] >= finite.max()


def test_a_resumed_event_file_is_read_after_the_first_even_within_one_second(tmp_path, monkeypatch) -> None:
    """Readers take event files in name order: creation second, then a counter compared as text. A resumed run
    whose file starts in the same second with counter 10 after 9 was read first, and TensorBoard's reader then
    dropped the first attempt's steps as orphaned (a resume test failed so on a fresh clone)."""
    import itertools

    from tensorboard.summary.writer import event_file_writer

    from backproplab.monitoring import SummaryWriter, read_scalars

    counter = itertools.count(9)
    monkeypatch.setattr(event_file_writer._global_uid, "get", lambda: next(counter))
    with SummaryWriter(tmp_path) as first:
        for step in range(3):
            first.add_scalar("train/loss", 10.0 - step, step)
    with SummaryWriter(tmp_path, purge_step=3) as resumed:
        for step in range(3, 5):
            resumed.add_scalar("train/loss", 10.0 - step, step)
    assert [step for step, _ in read_scalars(tmp_path)["train/loss"]] == [0, 1, 2, 3, 4]


def test_layer_tag_joins_layer_and_quantity_and_refuses_what_would_break_the_tag() -> None:
    assert layer_tag("conv1", "weights") == "conv1/weights"
    assert [layer_tag("fc2", q) for q in QUANTITIES] == [f"fc2/{q}" for q in QUANTITIES]
    for layer, quantity in [("conv1", "gradients"), ("", "weights"), ("conv1/a", "weights")]:
        with pytest.raises(ValueError):
            layer_tag(layer, quantity)


@pytest.mark.parametrize(("lo", "hi"), [(-1.0, 1.0), (-3.5, 3.5), (2.0, 7.0), (3.0, 3.0), (-0.25, -0.25)])
def test_histogram_edges_are_numpys_also_for_a_symmetric_or_constant_range(lo: float, hi: float) -> None:
    """np.histogram's edges for values spanning [lo, hi]: equal widths, and [v - 0.5, v + 0.5] for a
    constant v."""
    values = np.array([lo, (lo + hi) / 2, hi])
    np.testing.assert_allclose(histogram_edges(lo, hi, 6), np.histogram_bin_edges(values, bins=6), rtol=1e-15)


def test_integer_tensors_are_summarised_as_their_float_values() -> None:
    """An integer tensor (a label count, say): the same statistics as its float64 values, the mean
    not truncated on the way."""
    values = np.array([[1, 2, 2], [7, -3, 4]])
    ints, floats = tensor_stats(values, bins=5), tensor_stats(values.astype(np.float64), bins=5)
    assert (ints.count, ints.min, ints.max, ints.mean) == (6, -3.0, 7.0, 13 / 6)
    assert ints.std == pytest.approx(np.std(values.astype(np.float64)), rel=1e-12)
    assert ints.std == floats.std
    np.testing.assert_array_equal(ints.bucket_counts, floats.bucket_counts)


def test_nothing_finite_gives_nan_statistics_and_an_empty_histogram() -> None:
    stats = tensor_stats(np.array([np.nan, np.inf, -np.inf]))
    assert (stats.count, stats.nonfinite) == (0, 3)
    assert all(math.isnan(v) for v in (stats.min, stats.max, stats.mean, stats.std))
    assert stats.bucket_limits.shape == stats.bucket_counts.shape == (0,)


def test_a_float32_tensor_far_below_zero_does_not_overflow_its_std() -> None:
    """Squares of float32 values past about 1e19 overflow float32: a tensor diverging to large negative
    values (only its min is huge) is summarised in float64, as one diverging upwards is."""
    values = np.array([-3e19, 1.0, 2.0, 5.0], dtype=np.float32)
    stats = tensor_stats(values)
    assert stats.std == pytest.approx(np.std(values.astype(np.float64)), rel=1e-6)


def test_the_histogram_has_the_bins_asked_for() -> None:
    values = np.random.default_rng(3).normal(size=100)
    stats = tensor_stats(values, bins=7)
    assert stats.bucket_limits.shape == (8,) and stats.bucket_counts.shape == (7,)
    assert stats.bucket_counts.sum() == 100


def test_layer_summaries_land_under_layer_tags_with_the_bins_asked_for_at_the_time_written(tmp_path) -> None:
    """A log folder two levels down is created; each ``<layer>/<quantity>`` tensor becomes its layer tag's
    statistics and histogram with the bins asked for (as does a plain histogram); every event, the purge
    marker included, carries the wall time it was written at (TensorBoard's relative and wall-time axes)."""
    import time

    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    logdir, start = tmp_path / "runs" / "one", time.time()
    with SummaryWriter(logdir, purge_step=0) as writer:
        writer.add_layer_summaries({"fc1/weights": np.arange(6.0)}, step=3, bins=4)
        writer.add_histogram("plain", np.arange(5.0), step=4, bins=3)
    tag = layer_tag("fc1", "weights")
    histograms = read_histograms(logdir)
    # one bucket more than bins: the leading empty bucket that ends at the left edge (_histogram_proto)
    assert [(step, len(h["bucket"])) for step, h in histograms[tag]] == [(3, 4 + 1)]
    assert [(step, len(h["bucket"])) for step, h in histograms["plain"]] == [(4, 3 + 1)]
    assert read_scalars(logdir)[f"{tag}/max"] == [(3, 5.0)]
    (events_file,) = logdir.glob("events.out.tfevents.*")
    events = list(EventFileLoader(str(events_file)).Load())
    assert any(e.HasField("session_log") for e in events)
    assert all(start - 1 <= e.wall_time <= time.time() + 1 for e in events)


def test_flush_leaves_what_was_written_readable_while_open_and_is_harmless_after_close(tmp_path) -> None:
    # run.py flushes after each evaluation so TensorBoard shows it during a long run, not only at its end
    writer = SummaryWriter(tmp_path, flush_secs=3600)
    writer.add_scalar("eval/validation_error", 0.25, 100)
    writer.flush()
    assert read_scalars(tmp_path)["eval/validation_error"] == [(100, 0.25)]
    writer.close()
    writer.flush()  # after close: nothing left to write, and no error (the closed event file would raise)
