"""Activation functions and their derivatives, in one registry shared by every NumPy network.

Each entry pairs ``forward(z) -> a`` with ``derivative(z, a) -> da/dz``. The derivative takes the
pre-activation ``z`` *and* the already computed output ``a`` because for several functions the
cheap closed form is in terms of the output (tanh' = 1 - a**2, sigmoid' = a(1 - a)); backprop has
both at hand, so nothing is computed twice. All functions are element-wise and shape-preserving.

Closed forms (z: pre-activation, a: output):

=============  =================================  =====================================
name           a = f(z)                           f'(z)
=============  =================================  =====================================
identity       z                                  1
tanh           tanh(z)                            1 - tanh(z)**2 = 1 - a**2
sigmoid        1 / (1 + exp(-z))                  sigmoid(z)(1 - sigmoid(z)) = a(1 - a)
relu           max(0, z)                          1 if z > 0 else 0   (0 at z = 0, by convention)
leaky_relu     z if z > 0 else 0.01 z             1 if z > 0 else 0.01   (0.01 at z = 0)
elu            z if z > 0 else exp(z) - 1         1 if z > 0 else exp(z) = a + 1
softplus       log(1 + exp(z))                    sigmoid(z)
=============  =================================  =====================================

The kinks of relu and leaky_relu have no derivative; we use the left-hand one at exactly 0, as
PyTorch does, so that a gradient check against torch.autograd agrees everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backproplab.registry import Registry

Array = np.ndarray

LEAKY_RELU_SLOPE = 0.01


def _sigmoid(z: Array) -> Array:
    # exp of a non-positive number never overflows: use the form that keeps the exponent <= 0.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(z: Array) -> Array:
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): no overflow for large |z|.
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _elu(z: Array) -> Array:
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))


@dataclass(frozen=True)
class Activation:
    """One activation: ``forward(z)`` and ``derivative(z, a)`` with ``a = forward(z)``."""

    name: str
    forward: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    formula: str

    def __call__(self, z: Array) -> Array:
        return self.forward(z)

    def grad(self, z: Array) -> Array:
        """da/dz at ``z`` (computes the forward pass too; backprop uses :attr:`derivative` directly)."""
        return self.derivative(z, self.forward(z))


#: Spellings people type besides the names ("ReLU", "Leaky-ReLU" need none: case, '-', '_' and spaces
#: do not matter): "linear", "logistic".
ACTIVATIONS: Registry[Activation] = Registry(
    "activation",
    {
        a.name: a
        for a in (
            Activation("identity", lambda z: z, lambda z, a: np.ones_like(z), "f(z) = z"),
            Activation("tanh", np.tanh, lambda z, a: 1.0 - a * a, "f(z) = tanh(z), f' = 1 - f^2"),
            Activation("sigmoid", _sigmoid, lambda z, a: a * (1.0 - a), "f(z) = 1/(1+e^-z), f' = f(1-f)"),
            Activation(
                "relu",
                lambda z: np.maximum(z, 0.0),
                lambda z, a: (z > 0).astype(z.dtype),
                "f(z) = max(0, z), f' = [z > 0]",
            ),
            Activation(
                "leaky_relu",
                lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
                lambda z, a: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(z.dtype),
                f"f(z) = z if z > 0 else {LEAKY_RELU_SLOPE} z",
            ),
            Activation("elu", _elu, lambda z, a: np.where(z > 0, 1.0, a + 1.0), "f(z) = z if z > 0 else e^z - 1"),
            Activation("softplus", _softplus, lambda z, a: _sigmoid(z), "f(z) = log(1 + e^z), f' = sigmoid(z)"),
        )
    },
    aliases={"linear": "identity", "none": "identity", "logistic": "sigmoid"},
    accepts=Activation,  # ACTIVATIONS[act] of an Activation built by hand (a variant) is that activation
)
