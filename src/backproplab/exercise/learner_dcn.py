"""The learner's DCN in the project's MNIST run loop (``report --implementation``, part 2).

:class:`LearnerTorchEngine` is the PyTorch engine (:class:`~backproplab.dcn.training.TorchEngine`) with
the learner's ``dcn_mnist`` module in the two places that are theirs: the network (their ``DCN``, built
from their ``weight_variable`` and ``bias_variable``, run by their ``forward`` with ``conv2d`` and
``max_pool_2x2``, capturing the monitored tensors of part 2b) and the training step (their
``forward_backward``). The loop (:mod:`backproplab.mnist_net.run`) draws the batches, sets the
learning rate, takes the optimizer steps, evaluates, logs to TensorBoard and checkpoints, as for any run.
"""

from __future__ import annotations

from types import ModuleType

import torch

from backproplab.dcn.model import flops_per_step
from backproplab.dcn.training import TorchEngine
from backproplab.errors import UsageError
from backproplab.mnist_net.config import TrainConfig

#: What part 2's starter builds and its checks compare: the course's network and nothing else.
STARTER_SETTINGS = {"activation": "relu", "init": "truncated_normal"}


class LearnerTorchEngine(TorchEngine):
    """The torch engine running the learner's ``DCN`` and ``forward_backward`` from ``module``."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.step = module.forward_backward

    def check(self, config: TrainConfig) -> None:
        for name, value in STARTER_SETTINGS.items():
            if getattr(config, name) != value:
                raise UsageError(
                    f"--{name} {getattr(config, name)}: the learner's DCN of part 2 is checked with --{name} "
                    f"{value} only; train other settings with the built-in network (backproplab dcn)"
                )
        super().check(config)

    def new_model(self, config: TrainConfig) -> torch.nn.Module:
        return self.module.DCN(config.activation, config.init, config.dropout)

    def flops_per_step(self, batch_size: int) -> float:
        return flops_per_step(batch_size)  # the starter's network has no maxout
