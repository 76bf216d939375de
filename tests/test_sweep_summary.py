"""The report's sweep summary states the right numbers: the training loss early and late read from a
run's own events, and the per-value means over seeds, both on hand-made inputs with known answers."""

from __future__ import annotations

import math

import pytest

from backproplab.experiments.sweep_study import LAYERS, inside_numbers
from backproplab.monitoring import SummaryWriter
from backproplab.report.sweeps import _summary


def test_loss_early_and_late_are_the_means_of_the_first_and_last_tenth(tmp_path) -> None:
    with SummaryWriter(tmp_path) as writer:
        for step in range(30):
            writer.add_scalar("train/loss", float(step + 1), step)  # 1, 2, ..., 30
    numbers = inside_numbers(tmp_path, "relu")
    assert numbers["loss_early"] == pytest.approx((1 + 2 + 3) / 3)  # steps 0-2
    assert numbers["loss_late"] == pytest.approx((28 + 29 + 30) / 3)  # steps 27-29


def _row(run: str, activation: str, test: float, validation: float) -> dict:
    return {
        "run": run,
        "activation": activation,
        "init": "truncated_normal",
        "optimizer": "adam",
        "test_error": test,
        "validation_error": validation,
        "best_validation_error": validation,
        "best_validation_step": 100,
        "status": "completed",
    }


def _inside(early: float, late: float, off: float, act: float, fc1: float) -> dict:
    return {
        "loss_early": early,
        "loss_late": late,
        "off_share": dict.fromkeys(LAYERS, off),
        "activation_std": {layer: [act, 2 * act] for layer in LAYERS},
        "weight_std": {"fc1": [fc1, 3 * fc1]},
    }


def test_sweep_summary_is_the_mean_over_seeds_of_each_value() -> None:
    members = {
        "relu": [_row("relu-0", "relu", 0.01, 0.02), _row("relu-1", "relu", 0.03, 0.04)],
        "tanh": [
            _row("tanh-0", "tanh", 0.10, 0.20),
            _row("tanh-1", "tanh", 0.30, 0.40),
            _row("tanh-2", "tanh", 0.5, 0.6),
        ],
    }
    inside = {
        "relu-0": _inside(2.0, 0.2, 0.10, 1.0, 0.05),
        "relu-1": _inside(4.0, 0.4, 0.30, 3.0, 0.15),
        "tanh-0": _inside(1.0, 0.1, 0.50, 0.5, 0.01),
        "tanh-1": _inside(2.0, math.nan, 0.70, 1.5, 0.02),  # a NaN is left out of the mean, not spread
        # tanh-2 has no monitored events: its test error counts, its (absent) inside numbers do not
    }
    summary = _summary(members, inside)
    relu, tanh = summary["relu"], summary["tanh"]
    assert (relu["spread"].seeds, tanh["spread"].seeds) == (2, 3)
    assert (relu["spread"].low, relu["spread"].high) == (0.01, 0.03) and tanh["spread"].mean == pytest.approx(0.3)
    assert relu["test"] == pytest.approx(0.02) and relu["validation"] == pytest.approx(0.03)
    assert tanh["test"] == pytest.approx(0.3) and tanh["validation"] == pytest.approx(0.4)
    assert (relu["loss_early"], relu["loss_late"]) == pytest.approx((3.0, 0.3))
    assert (tanh["loss_early"], tanh["loss_late"]) == pytest.approx((1.5, 0.1))
    assert relu["loss"] == "3.000 → 0.300"
    assert relu["off"] == pytest.approx(dict.fromkeys(LAYERS, 0.2))
    assert tanh["off"] == pytest.approx(dict.fromkeys(LAYERS, 0.6))
    assert relu["act_std"] == {layer: pytest.approx([2.0, 4.0]) for layer in LAYERS}
    assert relu["fc1_w"] == pytest.approx([0.1, 0.3])
    assert relu["inside"] == "20%, 20%, 20%" and tanh["inside"] == "60%, 60%, 60%"  # the activation column
