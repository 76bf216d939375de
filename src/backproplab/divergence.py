"""When has a run diverged? More than a NaN: the one rule set every trainer applies (the MNIST
network's run loop, both engines, and the MLPs' :class:`~backproplab.scratch.trainer.Trainer`).

A run has diverged when

- its loss is NaN or infinite;
- its loss stays above ``factor`` (10) times its first value for ``window`` consecutive
  observations (one monitoring interval: the DCN's ``--monitor-every`` steps, the MLP's two
  records): the updates overshoot and keep overshooting;
- after its first epoch, its validation accuracy is no better than guessing the most common class
  (plus one point): it has learned nothing, which at these learning rates means it blew up.

The MNIST run loop applies all three: a non-finite loss always ends the run, the other two unless
``--on-divergence warn``. The MLPs' trainer applies the two loss rules at its records (window: two
records) and not the chance rule, whose "first epoch" means some 860 updates of the MNIST network
but one update of a full-batch MLP: measured, it would end the pinned rmsprop run of
``tests/test_trainer.py`` (48% against a most-common-class rate of 62%) after its first pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backproplab.registry import Registry

#: What a run does when a rule beyond a non-finite loss fires (a non-finite loss always stops it).
ON_DIVERGENCE: Registry[str] = Registry(
    "divergence rule", {"stop": "end the run as diverged", "warn": "say so once and carry on"}
)
#: What ``--on-divergence`` says, for every command that has it.
ON_DIVERGENCE_HELP = (
    "stop: a loss 10x above its start for a monitoring interval, or chance accuracy after the first epoch, "
    "ends the run as diverged; warn: say so and carry on (a NaN loss always stops)"
)
#: Accuracy within this much of the most-common-class rate counts as chance.
CHANCE_MARGIN = 0.01
#: A loss above this multiple of its first value, for a whole window, is divergence.
DIVERGE_FACTOR = 10.0


def chance_accuracy(labels: np.ndarray) -> float:
    """The accuracy of always answering the most common label in ``labels`` (N,) int."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64))
    return float(counts.max() / counts.sum()) if counts.size else 0.0


@dataclass
class DivergenceWatch:
    """Feed it every step's (or record's) loss and every evaluation's accuracy; each call returns why
    the run diverged (a sentence) or None. ``unit`` names what the window counts in that sentence."""

    window: int
    factor: float = DIVERGE_FACTOR
    unit: str = "steps"
    first_loss: float | None = None
    steps_above: int = 0

    def loss(self, value: float) -> str | None:
        if not math.isfinite(value):
            return f"the loss became {value}"
        if self.first_loss is None:
            self.first_loss = value
            return None
        self.steps_above = self.steps_above + 1 if value > self.factor * self.first_loss else 0
        if self.steps_above >= self.window:
            return (
                f"the loss stayed above {self.factor:g} times its first value ({self.first_loss:.3g}) for "
                f"{self.window} {self.unit} (now {value:.3g})"
            )
        return None

    def state_dict(self) -> dict[str, float | int | None]:
        """What a checkpoint keeps, so that a resumed run judges its losses as the run it continues."""
        return {"first_loss": self.first_loss, "steps_above": self.steps_above}

    def load_state_dict(self, state: dict[str, float | int | None]) -> None:
        """Put back :meth:`state_dict` (checked by the checkpoint readers: :func:`check_state`)."""
        check_state(state)
        first = state.get("first_loss")
        self.first_loss = None if first is None else float(first)
        self.steps_above = int(state.get("steps_above") or 0)

    def accuracy(self, value: float, chance: float, epoch: float) -> str | None:
        if epoch >= 1 and value <= chance + CHANCE_MARGIN:
            return (
                f"after {epoch:.2f} epochs the validation accuracy is {value:.2%}, no better than "
                f"always guessing the most common class ({chance:.2%})"
            )
        return None


def check_state(state: object) -> None:
    """Raise ValueError unless ``state`` is a :meth:`DivergenceWatch.state_dict`: ``first_loss`` a
    number or None, ``steps_above`` a whole number from 0."""
    if not isinstance(state, dict):
        raise ValueError("the divergence watch is not a record")
    first, above = state.get("first_loss"), state.get("steps_above", 0)
    if first is not None and (isinstance(first, bool) or not isinstance(first, int | float)):
        raise ValueError(f"the divergence watch's first loss {first!r} is not a number")
    if isinstance(above, bool) or not isinstance(above, int) or above < 0:
        raise ValueError(f"the divergence watch's step count {above!r} is not a whole number from 0")
