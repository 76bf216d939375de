r"""Gradient-descent update rules in NumPy, all behind one interface.

    opt = make_optimizer("adam", params, lr=1e-3)     # params: list of arrays, updated in place
    for ...:
        grads = ...                                     # same shapes as params
        opt.step(grads)

Each optimizer keeps its state (velocity, squared-gradient averages, the step count) per parameter,
like cs231n's ``optim.py``. ``step`` changes the parameter arrays *in place* and allocates nothing
after the first call, so a training loop pays only for the arithmetic. The rules are written to
match ``torch.optim`` exactly (with ``weight_decay=0``: our L2 term is already in the gradient), with
``g`` the gradient, ``t`` the step count starting at 1 and every operation element-wise:

==========  ==========================================================  ==========================
name        update                                                      defaults
==========  ==========================================================  ==========================
sgd         p -= lr g                                                   lr 0.01
momentum    v = mu v + g;  p -= lr v              (torch SGD, momentum)  lr 0.01, mu 0.9
nesterov    v = mu v + g;  p -= lr (g + mu v)     (torch SGD, nesterov)  lr 0.01, mu 0.9
adagrad     G += g^2;  p -= lr g / (sqrt(G) + eps)                      lr 0.01, eps 1e-10
rmsprop     s = a s + (1-a) g^2;  p -= lr g / (sqrt(s) + eps)           lr 0.01, a 0.99, eps 1e-8
adam        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;                lr 0.001, b1 0.9,
            p -= (lr / (1-b1^t)) m / (sqrt(v) / sqrt(1-b2^t) + eps)     b2 0.999, eps 1e-8
==========  ==========================================================  ==========================

Note where ``eps`` sits: outside the square root, and for Adam *after* the bias correction of
``v`` -- that is torch's (and the Adam paper's) placement, and it changes the step when ``v`` is
tiny. Momentum and Nesterov start from ``v = 0``, so the first step is ``v = g``, as in torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from backproplab.checks import check_non_negative_float, check_positive_float
from backproplab.registry import Registry


class Optimizer:
    """Base class: holds the parameter arrays, the learning rate and per-parameter state.

    ``params``: the arrays to update in place (e.g. ``net.parameters()``). Subclasses implement
    :meth:`_update` for one parameter; :meth:`step` applies it to every parameter.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, float]] = {}

    def __init__(self, params: Sequence[np.ndarray], lr: float | None = None, **hyper: float) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{self.name}: there are no parameters to optimise")
        for i, p in enumerate(params):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise ValueError(f"{self.name}: parameter {i} must be a floating-point NumPy array")
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            valid = ", ".join(sorted(self.defaults)) or "none"
            raise ValueError(f"{self.name}: unknown option(s) {', '.join(sorted(unknown))}; valid options are: {valid}")
        self.params = params
        self.lr = check_positive_float(self.default_lr if lr is None else lr, "learning rate")
        self.hyper = {**self.defaults, **{k: check_non_negative_float(v, k) for k, v in hyper.items()}}
        self._check_hyper()
        self.t = 0
        self.state: list[dict[str, np.ndarray]] = [{} for _ in params]

    default_lr: ClassVar[float] = 0.01

    def _check_hyper(self) -> None:
        for key in ("momentum", "beta1", "beta2", "alpha"):
            if key in self.hyper and not 0.0 <= self.hyper[key] < 1.0:
                raise ValueError(f"{self.name}: {key} must be in [0, 1), got {self.hyper[key]}")

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v:g}" for k, v in self.hyper.items())
        return f"{type(self).__name__}(lr={self.lr:g}{', ' if opts else ''}{opts})"

    def _buffer(self, i: int, key: str) -> np.ndarray:
        buf = self.state[i].get(key)
        if buf is None:
            buf = self.state[i][key] = np.zeros_like(self.params[i])
        return buf

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place with its gradient (``grads`` in the order of ``params``).

        The gradients are read, never modified. No shape checks here (this is the inner loop):
        :meth:`check_grads` does them once, if wanted.
        """
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            self._update(i, p, g)

    def check_grads(self, grads: Sequence[np.ndarray]) -> None:
        """Raise ValueError unless ``grads`` match ``params`` in number and shapes."""
        if len(grads) != len(self.params):
            raise ValueError(f"{self.name}: got {len(grads)} gradients for {len(self.params)} parameters")
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if np.shape(g) != p.shape:
                raise ValueError(f"{self.name}: gradient {i} has shape {np.shape(g)}, its parameter {p.shape}")

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Plain gradient descent: ``p -= lr * g``."""

    name = "sgd"

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        tmp = self._buffer(i, "tmp")
        np.multiply(g, self.lr, out=tmp)
        p -= tmp


class Momentum(Optimizer):
    """Heavy-ball momentum (torch.optim.SGD with ``momentum``): ``v = mu v + g; p -= lr v``."""

    name = "momentum"
    defaults: ClassVar[dict[str, float]] = {"momentum": 0.9}

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        v = self._buffer(i, "velocity")
        tmp = self._buffer(i, "tmp")
        v *= self.hyper["momentum"]
        v += g
        np.multiply(v, self.lr, out=tmp)
        p -= tmp


class Nesterov(Optimizer):
    """Nesterov momentum as torch writes it: ``v = mu v + g; p -= lr (g + mu v)``."""

    name = "nesterov"
    defaults: ClassVar[dict[str, float]] = {"momentum": 0.9}

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        mu = self.hyper["momentum"]
        v = self._buffer(i, "velocity")
        tmp = self._buffer(i, "tmp")
        v *= mu
        v += g
        np.multiply(v, mu, out=tmp)
        tmp += g
        tmp *= self.lr
        p -= tmp


def _root_scaled_step(
    p: np.ndarray, g: np.ndarray, squares: np.ndarray, tmp: np.ndarray, lr: float, eps: float
) -> None:
    """``p -= lr * g / (sqrt(squares) + eps)`` in place, using ``tmp`` as scratch (Adagrad and RMSProp)."""
    np.sqrt(squares, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    p -= tmp


class Adagrad(Optimizer):
    """Adagrad: ``G += g^2; p -= lr g / (sqrt(G) + eps)`` (torch's default ``lr_decay=0``)."""

    name = "adagrad"
    defaults: ClassVar[dict[str, float]] = {"eps": 1e-10}

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        G = self._buffer(i, "sum_sq")
        tmp = self._buffer(i, "tmp")
        np.multiply(g, g, out=tmp)
        G += tmp
        _root_scaled_step(p, g, G, tmp, self.lr, self.hyper["eps"])


class RMSProp(Optimizer):
    """RMSProp (torch's, not centred): ``s = a s + (1-a) g^2; p -= lr g / (sqrt(s) + eps)``."""

    name = "rmsprop"
    defaults: ClassVar[dict[str, float]] = {"alpha": 0.99, "eps": 1e-8}

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        alpha = self.hyper["alpha"]
        s = self._buffer(i, "square_avg")
        tmp = self._buffer(i, "tmp")
        s *= alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - alpha
        s += tmp
        _root_scaled_step(p, g, s, tmp, self.lr, self.hyper["eps"])


class Adam(Optimizer):
    """Adam with torch's bias correction and eps placement (see the module docstring)."""

    name = "adam"
    default_lr = 0.001
    defaults: ClassVar[dict[str, float]] = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def step(self, grads: Sequence[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.hyper["beta1"], self.hyper["beta2"]
        # Per-step scalars computed once for all parameters.
        self._step_size = self.lr / (1.0 - b1**self.t)
        self._inv_sqrt_bc2 = 1.0 / np.sqrt(1.0 - b2**self.t)
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            self._update(i, p, g)

    def _update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        b1, b2 = self.hyper["beta1"], self.hyper["beta2"]
        m = self._buffer(i, "m")
        v = self._buffer(i, "v")
        tmp = self._buffer(i, "tmp")
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= self._inv_sqrt_bc2
        tmp += self.hyper["eps"]
        np.divide(m, tmp, out=tmp)
        tmp *= self._step_size
        p -= tmp


OPTIMIZERS: Registry[type[Optimizer]] = Registry(
    "optimizer",
    {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam)},
    aliases={"sgd_momentum": "momentum", "nag": "nesterov"},
)


def make_optimizer(name: str, params: Sequence[np.ndarray], lr: float | None = None, **hyper: float) -> Optimizer:
    """Build the optimizer called ``name`` (any spelling :data:`OPTIMIZERS` knows) over ``params``.

    ``lr=None`` takes the optimizer's default learning rate; ``hyper`` sets its options
    (``momentum``; ``eps``; ``alpha``; ``beta1``, ``beta2``). Unknown names or options raise
    ValueError listing the valid ones.
    """
    return OPTIMIZERS[name](params, lr, **hyper)
