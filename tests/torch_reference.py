"""PyTorch counterparts of the NumPy activations: the independent oracle of the gradient tests."""

from __future__ import annotations

from collections.abc import Callable


def torch_activations() -> dict[str, Callable]:
    """name -> the torch function computing the same activation (leaky ReLU slope 0.01)."""
    import torch
    import torch.nn.functional as F

    return {
        "identity": lambda z: z,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
        "elu": F.elu,
        "softplus": F.softplus,
    }
