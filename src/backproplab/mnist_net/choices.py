"""Every name a user of the MNIST network can choose, for both engines, declared once and without importing torch.

The command line lists and checks these names without torch; :mod:`backproplab.dcn.model` and
:mod:`backproplab.dcn.optim` build the network and the optimizer from the same entries. Names mean
what they mean in the NumPy engine (``xavier_normal``, ``he_normal``, ``relu``, ``adam``...).

Each optimizer's default learning rate is the rate that trained this network best in a short sweep with the
course's initialisation and batch (the measurement: docs/results.md, "Default learning rates of the DCN's
optimizers"); ``--lr`` overrides it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backproplab.registry import Lazy, Registry


@dataclass(frozen=True)
class Activation:
    """A nonlinearity: ``fn`` (imported from ``function``, "module:attribute", on first use), how many
    pre-activation pieces it takes per output (maxout: 2), and whether it is non-decreasing (then it
    commutes with max-pooling, which saves work)."""

    function: str
    pieces: int = 1
    monotone: bool = True

    @functools.cached_property
    def fn(self) -> Callable[[Any], Any]:
        return Lazy(self.function).load()


#: leaky_relu has torch's slope 0.01 below zero; gelu is the exact (erf) one.
ACTIVATIONS: Registry[Activation] = Registry(
    "activation",
    {
        "relu": Activation("torch:relu"),
        "tanh": Activation("torch:tanh"),
        "sigmoid": Activation("torch:sigmoid"),
        "leaky_relu": Activation("torch.nn.functional:leaky_relu"),
        "elu": Activation("torch.nn.functional:elu"),
        "gelu": Activation("torch.nn.functional:gelu", monotone=False),  # dips below 0: does not commute with max
        "maxout": Activation("backproplab.dcn.model:maxout", pieces=2),
    },
    aliases={"logistic": "sigmoid"},
)


@dataclass(frozen=True)
class WeightInit:
    """How a weight is filled: ``distribution`` (normal, uniform, truncated_normal or orthogonal) and
    ``scale(fan_in, fan_out)``, the standard deviation (normal) or the bound (uniform)."""

    distribution: str
    scale: Callable[[int, int], float] | None = None


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a conv ``(out, in, kh, kw)`` or dense ``(out, in)`` weight."""
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


#: Fans are those of the layer (:func:`fans`; conv: in*kh*kw and out*kh*kw). He's scale is the ReLU one, sqrt(2),
#: whatever the nonlinearity.
INITS: Registry[WeightInit] = Registry(
    "initialisation",
    {
        "truncated_normal": WeightInit("truncated_normal", lambda i, o: 0.1),  # cut at 2 std (the course's)
        "xavier_uniform": WeightInit("uniform", lambda i, o: math.sqrt(6.0 / (i + o))),  # Glorot & Bengio 2010
        "xavier_normal": WeightInit("normal", lambda i, o: math.sqrt(2.0 / (i + o))),
        "he_normal": WeightInit("normal", lambda i, o: math.sqrt(2.0 / i)),  # He et al. 2015
        "he_uniform": WeightInit("uniform", lambda i, o: math.sqrt(6.0 / i)),
        "orthogonal": WeightInit("orthogonal"),  # Saxe et al. 2014, gain 1
        "lecun_normal": WeightInit("normal", lambda i, o: math.sqrt(1.0 / i)),  # LeCun et al. 1998
    },
    aliases={"xavier": "xavier_normal", "glorot": "xavier_normal", "he": "he_normal", "kaiming": "he_normal"},
)


@dataclass(frozen=True)
class OptimizerChoice:
    """``torch.optim.<torch_class>(params, lr=lr, **options)``, with the default lr of the table above."""

    torch_class: str
    default_lr: float
    options: Mapping[str, Any] = field(default_factory=dict)


# Adam and AdamW use the fused kernels: the whole update in one pass over memory. Their state is
# twice the 3.3M parameters, so on a CPU that pass is a visible part of a step.
_FUSED = {"fused": True}

OPTIMIZERS: Registry[OptimizerChoice] = Registry(
    "optimizer",
    {
        "sgd": OptimizerChoice("SGD", 1e-2),
        "momentum": OptimizerChoice("SGD", 1e-2, {"momentum": 0.9}),
        "nesterov": OptimizerChoice("SGD", 1e-2, {"momentum": 0.9, "nesterov": True}),
        "adagrad": OptimizerChoice("Adagrad", 3e-3),
        "adadelta": OptimizerChoice("Adadelta", 1.0, {"rho": 0.9}),
        "rmsprop": OptimizerChoice("RMSprop", 1e-4, {"alpha": 0.99}),
        "adam": OptimizerChoice("Adam", 1e-4, _FUSED),
        "adamw": OptimizerChoice("AdamW", 1e-4, {"weight_decay": 0.01, **_FUSED}),
    },
    aliases={"nag": "nesterov", "sgd_momentum": "momentum"},
)

#: Numeric precision of the forward and backward passes; bf16 = bfloat16 autocast.
PRECISIONS: Registry[str] = Registry(
    "precision",
    {"auto": "bf16 where native, else fp32", "fp32": "float32", "bf16": "bfloat16"},
    aliases={"float32": "fp32", "bfloat16": "bf16"},
)

#: Learning-rate schedules (:func:`backproplab.mnist_net.contract.schedule_factor`): constant is the course's.
SCHEDULES: Registry[str] = Registry(
    "schedule",
    {"constant": "the rate as given", "cosine": "cosine decay to 0 at the last step", "step": "x0.1 at 50% and 75%"},
    aliases={"none": "constant", "cos": "cosine", "step_decay": "step"},
)

#: Which implementation trains the network: PyTorch (autograd) or the NumPy engine (backprop by hand).
#: Entries: the engine's class (:class:`backproplab.mnist_net.engine.Engine`), imported on first use.
ENGINES: Registry[Any] = Registry(
    "engine",
    {"torch": Lazy("backproplab.dcn.training:TorchEngine"), "numpy": Lazy("backproplab.numpy_dcn.engine:NumpyEngine")},
    aliases={"pytorch": "torch", "scratch": "numpy"},
)
