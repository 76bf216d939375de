"""What both engines of the MNIST network promise: layer names, monitored tags, evaluation keys, the schedule.

The report, the sweeps and the tests read either engine's runs through these names, and both engines
apply the learning-rate schedule through :func:`learning_rate_at`, so a run's rate is a function of
its config and step alone (a resumed run needs no scheduler state).
"""

from __future__ import annotations

import math
from typing import Any

#: The weighted layers, in order; parameters are ``<layer>_w`` and ``<layer>_b``.
LAYERS = ("conv1", "conv2", "fc1", "fc2")

#: Every bias starts at this value (the course's bias_variable: a small positive constant against dead ReLUs).
BIAS_INIT = 0.1

#: The tensors summarised every monitoring interval, by TensorBoard name.
MONITORED = (
    "conv1/weights",
    "conv1/biases",
    "conv1/net_input",
    "conv1/activation",
    "conv1/pooled",
    "conv2/weights",
    "conv2/biases",
    "conv2/net_input",
    "conv2/activation",
    "conv2/pooled",
    "fc1/weights",
    "fc1/biases",
    "fc1/net_input",
    "fc1/activation",
    "fc2/weights",
    "fc2/biases",
    "fc2/net_input",
)

#: Every evaluation's numbers: ``eval/<key>`` in TensorBoard, the curves and ``final`` of metrics.json.
EVAL_KEYS = ("validation_error", "test_error", "validation_accuracy", "test_accuracy")

#: The curves' count of validation images each evaluation scored (fewer than the set where ``eval_images`` is set,
#: at every evaluation but the last; those evaluations have no test numbers).
VALIDATION_IMAGES = "validation_images"

#: The learning rate of the update at each monitored step (``train/learning_rate``).
LEARNING_RATE_TAG = "train/learning_rate"


def schedule_factor(schedule: str, step: int, steps: int) -> float:
    """The multiplier of the learning rate at ``step`` (0-based) of ``steps``: constant 1; cosine
    ``(1 + cos(pi step / steps)) / 2``; step 1, then 0.1 from ``steps // 2``, 0.01 from ``3 steps // 4``."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * step / steps))
    if schedule == "step":
        return 0.1 ** ((step >= steps // 2) + (step >= 3 * steps // 4))
    return 1.0


def learning_rate_at(config: Any, step: int) -> float:
    """The learning rate of the update at ``step`` for a :class:`~backproplab.mnist_net.config.TrainConfig`."""
    return config.learning_rate * schedule_factor(config.schedule, step, config.steps)
