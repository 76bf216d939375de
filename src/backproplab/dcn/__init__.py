"""The deep convolutional network on MNIST (PyTorch), monitored in TensorBoard.

- :class:`DCN`: the network (``DCN(activation=..., init=..., dropout=...)``).
- :class:`TrainConfig` and :func:`train`: one training run from a config, returning its metrics.
- Registries (:mod:`backproplab.dcn.choices`, torch-free): :data:`ACTIVATIONS`, :data:`INITS`,
  :data:`OPTIMIZERS`, :data:`PRECISIONS`.

Names are resolved lazily, so ``import backproplab.dcn.config`` (the CLI) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "config",
    "ACTIVATIONS": "choices",
    "DCN": "model",
    "INITS": "choices",
    "count_parameters": "model",
    "flops_per_step": "model",
    "OPTIMIZERS": "choices",
    "PRECISIONS": "choices",
    "make_optimizer": "optim",
    "MONITORED": "training",
    "TrainingDiverged": "training",
    "evaluate": "training",
    "train": "training",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"backproplab.dcn.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'backproplab.dcn' has no attribute {name!r}")
