"""The NumPy half of "same network, same numbers": a float64 ConvNet trained step by step on given
batches and dropout masks, so that another engine can be driven through the very same steps.

The tests (``tests/test_convnet_equivalence.py``) and the report's agreement table
(:mod:`backproplab.experiments.convnet_study`) pair this with the PyTorch DCN; this module itself
never imports torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from backproplab.numpy_dcn.convnet import ConvNet
from backproplab.scratch.optimizers import make_optimizer

#: One step's inputs: images (B, 784) float64, labels (B,) int, dropout mask (B, 1024) of 0 or 1/(1-p).
Step = tuple[np.ndarray, np.ndarray, np.ndarray]


def random_steps(steps: int, batch: int, seed: int = 1, dropout: float = 0.5) -> list[Step]:
    """``steps`` random batches: images uniform in [0, 1), labels uniform over 0..9, masks dropping
    each unit with probability ``dropout``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        mask = (rng.random((batch, 1024)) >= dropout) / (1.0 - dropout)
        out.append((rng.random((batch, 784)), rng.integers(0, 10, batch), mask))
    return out


def float64_twin(state: Mapping[str, np.ndarray], activation: str = "relu", dropout: float = 0.5) -> ConvNet:
    """A float64 ConvNet holding the weights ``state`` (by the DCN's names, e.g. a DCN's state dict
    as NumPy arrays)."""
    net = ConvNet(activation, dropout=dropout, dtype=np.float64)
    net.load_state_dict(state)
    return net


def numpy_losses(net: ConvNet, optimizer: str, lr: float, steps: Iterable[Step]) -> np.ndarray:
    """Train ``net`` one step per entry of ``steps`` with ``optimizer`` at ``lr``; return the loss
    of every step (computed before its update), shape (len(steps),)."""
    opt = make_optimizer(optimizer, net.parameters(), lr)
    losses = []
    for x, y, mask in steps:
        losses.append(net.loss_and_gradients(x, y, dropout_mask=mask)[1])
        opt.step(net.gradients())
    return np.array(losses)


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """|ours - theirs| / |theirs|, element-wise."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return np.abs(ours - theirs) / np.abs(theirs)
