"""Optimizers by name (:data:`OPTIMIZERS`, declared in :mod:`backproplab.mnist_net.choices` with the sweep
that chose each default learning rate): ``make_optimizer("adam", model.parameters())``."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from backproplab.mnist_net.choices import OPTIMIZERS

__all__ = ["OPTIMIZERS", "make_optimizer"]


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float | None = None) -> torch.optim.Optimizer:
    """The optimizer ``name`` over ``params`` with learning rate ``lr`` (None: its default)."""
    choice = OPTIMIZERS[name]
    optimizer_class = getattr(torch.optim, choice.torch_class)
    return optimizer_class(params, lr=choice.default_lr if lr is None else lr, **choice.options)
