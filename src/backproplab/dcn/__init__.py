"""The PyTorch engine of the MNIST network: the DCN, its step, evaluation and checkpoint.

- :class:`DCN`: the network (``DCN(activation=..., init=..., dropout=...)``).
- :class:`TorchEngine`: what this engine supplies to the shared run loop (:mod:`backproplab.mnist_net`).
- Re-exported from :mod:`backproplab.mnist_net` for convenience: :class:`TrainConfig`, :func:`train`
  (either engine, as ``config.engine`` says), the registries and :data:`MONITORED`.

Names are resolved lazily, so ``import backproplab.dcn`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TrainConfig": "backproplab.mnist_net.config",
    "ACTIVATIONS": "backproplab.mnist_net.choices",
    "DCN": "backproplab.dcn.model",
    "INITS": "backproplab.mnist_net.choices",
    "count_parameters": "backproplab.dcn.model",
    "flops_per_step": "backproplab.dcn.model",
    "OPTIMIZERS": "backproplab.mnist_net.choices",
    "PRECISIONS": "backproplab.mnist_net.choices",
    "make_optimizer": "backproplab.dcn.optim",
    "MONITORED": "backproplab.mnist_net.contract",
    "TrainingDiverged": "backproplab.errors",
    "TorchEngine": "backproplab.dcn.training",
    "evaluate": "backproplab.dcn.training",
    "train": "backproplab.mnist_net.run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'backproplab.dcn' has no attribute {name!r}")
