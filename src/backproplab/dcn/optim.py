"""Optimizers by name, each with a default learning rate that trains the DCN sensibly.

The defaults were chosen for this network with the course's initialisation (truncated normal,
std 0.1), batch 50: a sweep of 400 steps (7,000 images) per candidate rate, scored on 2,000
validation images (seed 0, one CPU thread). ``--lr`` overrides them.

=========  ==========  ============  =========================================================
name       default lr  400 steps     what it is (other candidates tried: accuracy)
=========  ==========  ============  =========================================================
sgd        0.01        93.6%         plain SGD (0.003: 88.3%, 0.03: 94.7%)
momentum   0.01        96.9%         heavy-ball momentum 0.9 (0.001: 94.1%, 0.003: 96.6%)
nesterov   0.01        96.6%         Nesterov momentum 0.9 (0.001: 94.6%, 0.003: 95.7%)
adagrad    0.003       96.6%         AdaGrad (0.001: 93.7%; 0.01: 96.4% after a loss spike)
adadelta   1.0         97.4%         AdaDelta, rho 0.9 (0.03: 92.2%, 0.1: 94.8%)
rmsprop    1e-4        94.9%         RMSProp, alpha 0.99 (1e-5: 79.7%, 3e-5: 90.2%)
adam       1e-4        93.7%         Adam, betas (0.9, 0.999): the course's choice
adamw      1e-4        93.8%         Adam with decoupled weight decay 0.01
=========  ==========  ============  =========================================================

Adam's slower start is the course's small rate; over the full 5,500 steps it reaches about 98.9% test
accuracy (98.85% measured with benchmarks/bench_dcn.py --full).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from backproplab.dcn.names import OPTIMIZER_DEFAULT_LRS as LR
from backproplab.errors import UsageError


@dataclass(frozen=True)
class OptimizerSpec:
    """How to build one optimizer: ``make(params, lr)``, its default lr and a one-line summary."""

    make: Callable[[Iterable[torch.nn.Parameter], float], torch.optim.Optimizer]
    default_lr: float
    summary: str


# Adam and AdamW use the fused kernels: the whole update in one pass over memory. Their state is
# twice the 3.3M parameters, so on a CPU that pass is a visible part of a step.
_FUSED = {"fused": True}


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(lambda p, lr: torch.optim.SGD(p, lr=lr), LR["sgd"], "plain SGD"),
    "momentum": OptimizerSpec(
        lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), LR["momentum"], "SGD, momentum 0.9"
    ),
    "nesterov": OptimizerSpec(
        lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), LR["nesterov"], "SGD, Nesterov 0.9"
    ),
    "adagrad": OptimizerSpec(lambda p, lr: torch.optim.Adagrad(p, lr=lr), LR["adagrad"], "AdaGrad"),
    "adadelta": OptimizerSpec(lambda p, lr: torch.optim.Adadelta(p, lr=lr, rho=0.9), LR["adadelta"], "AdaDelta"),
    "rmsprop": OptimizerSpec(lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.99), LR["rmsprop"], "RMSProp"),
    "adam": OptimizerSpec(lambda p, lr: torch.optim.Adam(p, lr=lr, **_FUSED), LR["adam"], "Adam (the course's)"),
    "adamw": OptimizerSpec(
        lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.01, **_FUSED), LR["adamw"], "AdamW, decay 0.01"
    ),
}


def optimizer_spec(name: str) -> OptimizerSpec:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise UsageError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}") from None


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float | None = None) -> torch.optim.Optimizer:
    """The optimizer ``name`` over ``params`` with learning rate ``lr`` (None: its default)."""
    spec = optimizer_spec(name)
    return spec.make(params, spec.default_lr if lr is None else lr)
