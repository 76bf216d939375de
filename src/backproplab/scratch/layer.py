r"""One fully connected layer with its activation: the building block of :class:`DeepNeuralNetwork`.

Contract (cs231n style: the forward pass caches what the backward pass needs):

    a = layer.feedforward(X)            X: (N, D_in) -> a: (N, D_out); caches X, z, a
        z = X @ W + b                   W: (D_in, D_out), b: (D_out,)
        a = f(z)                        f is the layer's activation
    delta_in = layer.backprop(delta)    delta = dL/da: (N, D_out) -> dL/dX: (N, D_in)
        dz = delta * f'(z)
        dW = X.T @ dz,  db = sum_n dz   stored as layer.dW, layer.db
        delta_in = dz @ W.T

For a layer with the ``identity`` activation (the network's output layer, whose scores go into
the softmax) ``a = z``, so ``delta`` is dL/dz itself. ``dW`` and ``db`` are the gradient of the
*data* part of the loss only; the network adds the L2 term ``reg_lambda * W``.

Weight initialisations, by name (fan_in = D_in, fan_out = D_out; biases start at 0):

===============  ======================================  ========================================
name             W drawn as                              use
===============  ======================================  ========================================
scaled_normal    randn / sqrt(fan_in)                    the course handout's (default)
xavier_normal    randn * sqrt(2 / (fan_in + fan_out))    Glorot & Bengio 2010 (tanh, sigmoid)
he_normal        randn * sqrt(2 / fan_in)                He et al. 2015 (ReLU family)
===============  ======================================  ========================================

With ``rng = np.random.RandomState(seed)`` shared by the layers in order, a one-hidden-layer
network gets exactly the weights of the three-layer :class:`NeuralNetwork` with that seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backproplab.checks import check_positive_int
from backproplab.registry import Registry
from backproplab.scratch.activations import ACTIVATIONS, Activation
from backproplab.scratch.reductions import column_sum

#: Initialisation name -> how a standard normal draw ``W`` (fan_in, fan_out) is scaled: the one
#: table of the MLPs' draws. The names are the DCN's for the same draws; the old ``xavier``/``glorot``
#: and ``he``/``kaiming`` stay as aliases.
INITS: Registry[Callable[[np.ndarray, int, int], np.ndarray]] = Registry(
    "weight initialisation",
    {
        "scaled_normal": lambda W, i, o: W / np.sqrt(i),  # divide, as the handout does: bit-for-bit its numbers
        "xavier_normal": lambda W, i, o: W * np.sqrt(2.0 / (i + o)),
        "he_normal": lambda W, i, o: W * np.sqrt(2.0 / i),
    },
    aliases={
        "xavier": "xavier_normal",
        "glorot": "xavier_normal",
        "he": "he_normal",
        "kaiming": "he_normal",
        "handout": "scaled_normal",
        "default": "scaled_normal",
    },
)


def init_weights(fan_in: int, fan_out: int, init: str, rng: np.random.RandomState) -> np.ndarray:
    """A (fan_in, fan_out) float64 weight matrix drawn by the initialisation ``init``."""
    scale = INITS[init]
    return scale(rng.randn(fan_in, fan_out), fan_in, fan_out)


class Layer:
    """A fully connected layer ``a = f(X @ W + b)`` (see the module docstring for shapes).

    Parameters
    ----------
    input_dim, output_dim: D_in and D_out.
    actFun_type: the activation's name (see :mod:`backproplab.scratch.activations`).
    init: ``"scaled_normal"`` (default), ``"xavier_normal"`` or ``"he_normal"`` (see :data:`INITS`).
    rng: a ``np.random.RandomState`` to draw W from (``RandomState(0)`` if omitted).
    dtype: float64 (default) or float32.
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        actFun_type: str = "tanh",
        init: str = "scaled_normal",
        rng: np.random.RandomState | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        self.input_dim = check_positive_int(input_dim, "input_dim")
        self.output_dim = check_positive_int(output_dim, "output_dim")
        self.activation: Activation = ACTIVATIONS[actFun_type]
        self.init = INITS.canonical(init)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        rng = np.random.RandomState(0) if rng is None else rng
        self.W = init_weights(self.input_dim, self.output_dim, self.init, rng).astype(self.dtype)
        self.b = np.zeros(self.output_dim, dtype=self.dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.X: np.ndarray | None = None
        self.z: np.ndarray | None = None
        self.a: np.ndarray | None = None

    @property
    def actFun_type(self) -> str:
        return self.activation.name

    def __repr__(self) -> str:
        return f"Layer({self.input_dim} -> {self.output_dim}, {self.activation.name}, init={self.init})"

    def __getstate__(self) -> dict[str, Any]:
        # Pickle (and deepcopy) a registered activation by name: its functions are lambdas. The
        # forward caches are dropped: they can be large and the next feedforward rebuilds them.
        state = self.__dict__.copy()
        if ACTIVATIONS.get(self.activation.name) is self.activation:
            state["activation"] = self.activation.name
        state.update(X=None, z=None, a=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, activation=ACTIVATIONS[state["activation"]])

    def parameters(self) -> list[np.ndarray]:
        """The live arrays ``[W, b]``."""
        return [self.W, self.b]

    def bind(self, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray) -> None:
        """Move the parameters and gradient buffers into the given arrays (views of a network's flat
        storage), copying the current values of W and b. Shapes must match."""
        for name, new, old in (("W", W, self.W), ("b", b, self.b), ("dW", dW, self.dW), ("db", db, self.db)):
            if new.shape != old.shape or new.dtype != old.dtype:
                raise ValueError(f"bind: {name} must be {old.shape} {old.dtype}, got {new.shape} {new.dtype}")
        W[...] = self.W
        b[...] = self.b
        self.W, self.b, self.dW, self.db = W, b, dW, db

    def feedforward(self, X: np.ndarray) -> np.ndarray:
        """a = f(X @ W + b). X: (N, D_in) -> (N, D_out); caches X, z and a for :meth:`backprop`."""
        z = X @ self.W
        z += self.b
        # No shortcut for ReLU or the identity here: at the report's sizes one saved 1-7% of a step
        # (benchmarks/bench_scratch.py, 2 loaded cores), under the 10% that would pay for it.
        self.X, self.z = X, z
        self.a = self.activation.forward(z)
        return self.a

    def backprop(self, delta: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backward step: delta = dL/da (N, D_out) -> dL/dX (N, D_in), or None if ``input_grad`` is false.

        Stores ``dW = X.T @ dz`` and ``db = sum_n dz`` (dz = dL/dz) in :attr:`dW`, :attr:`db`.
        Must follow a :meth:`feedforward` on the same inputs. ``delta`` is not modified.
        """
        if self.X is None:
            raise ValueError("Layer.backprop needs the cache of a feedforward call; call feedforward(X) first")
        dz = delta * self.activation.derivative(self.z, self.a)
        np.matmul(self.X.T, dz, out=self.dW)
        # column_sum rather than dz.sum(axis=0): it gains only ~0-6% here, but it keeps a one-hidden-layer
        # DeepNeuralNetwork bit-identical to the three-layer network, where it pays (see reductions.py).
        column_sum(dz, out=self.db)
        if not input_grad:
            return None
        return dz @ self.W.T
