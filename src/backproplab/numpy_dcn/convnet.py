r"""The course's deep convolutional network, built from the NumPy layers of :mod:`backproplab.numpy_dcn.conv`.

    x (N, 784) or (N, 28, 28, 1)
    conv1  5x5, 1 -> 32, SAME   -> act -> maxpool 2x2    (N, 14, 14, 32)
    conv2  5x5, 32 -> 64, SAME  -> act -> maxpool 2x2    (N, 7, 7, 64)
    flatten (C, H, W order)                              (N, 3136)
    fc1    3136 -> 1024         -> act -> dropout        (N, 1024)
    fc2    1024 -> 10                                    (N, 10) logits; loss: mean cross-entropy

The same network as the PyTorch :class:`backproplab.dcn.model.DCN`, parameter for parameter: the
same names (``conv1_w``, ``conv1_b``, ..., ``fc2_b``), shapes and layouts (conv ``(out, in, kh, kw)``,
dense ``(out, in)``), so ``net.load_state_dict(dcn.state_dict())`` (as NumPy arrays) gives both
engines the same weights. With ``maxout`` every hidden layer computes two pieces per output.

The weight initialisations carry the DCN's names (:data:`INITS`); biases start at 0.1. They are drawn
from ``np.random.default_rng(seed)``, which then also draws the dropout masks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backproplab.mnist_net.choices import INITS, WeightInit, fans
from backproplab.mnist_net.contract import BIAS_INIT, LAYERS
from backproplab.numpy_dcn.conv import Conv2D, Dense, Dropout, Flatten, MaxPool2x2, make_activation
from backproplab.scratch.losses import cross_entropy_sum, softmax

_MONOTONE = {"identity", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus", "maxout"}


def _truncated_normal(shape: tuple[int, ...], rng: np.random.Generator, std: float) -> np.ndarray:
    # tf.truncated_normal(stddev=std): N(0, std^2), values beyond 2 std drawn again.
    w = rng.normal(0.0, std, shape)
    while True:
        outside = np.abs(w) > 2 * std
        if not outside.any():
            return w
        w[outside] = rng.normal(0.0, std, int(outside.sum()))


def _orthogonal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    # As torch.nn.init.orthogonal_: QR of a Gaussian (rows, rest) matrix, signs fixed by diag(R).
    rows = shape[0]
    cols = math.prod(shape[1:])
    a = rng.normal(size=(rows, cols))
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


def draw_weight(shape: tuple[int, ...], init: WeightInit, rng: np.random.Generator) -> np.ndarray:
    """A float64 weight of ``shape`` drawn from ``rng`` as ``init`` (an entry of :data:`INITS`) says."""
    if init.distribution == "orthogonal":
        return _orthogonal(shape, rng)
    scale = init.scale(*fans(shape))
    if init.distribution == "truncated_normal":
        return _truncated_normal(shape, rng, scale)
    if init.distribution == "normal":
        return rng.normal(0.0, scale, shape)
    if init.distribution == "uniform":
        return rng.uniform(-scale, scale, shape)
    raise ValueError(f"unknown weight distribution {init.distribution!r}")


def weight_variable(shape: tuple[int, ...], init: str, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """A weight of ``shape`` drawn by the initialiser named ``init`` (see :data:`INITS`)."""
    return draw_weight(shape, INITS[init], rng).astype(dtype)


def bias_variable(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A bias of ``shape``, every entry 0.1 (against dead ReLUs)."""
    return np.full(shape, BIAS_INIT, dtype=dtype)


class ConvNet:
    """conv1 - pool - conv2 - pool - fc1 - dropout - fc2 on MNIST images, backprop by hand.

    ``activation``: a name from :mod:`backproplab.scratch.activations` or ``"maxout"``; ``init``:
    a name from :data:`INITS`; ``dropout``: probability of dropping an fc1 unit in training;
    ``dtype``: float32 (training) or float64 (gradient checks).
    """

    def __init__(
        self,
        activation: str = "relu",
        init: str = "truncated_normal",
        dropout: float = 0.5,
        seed: int = 0,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.act = make_activation(activation)
        self.activation_name = "maxout" if self.act.pieces == 2 else self.act.activation.name
        self.init_name = init
        self.rng = np.random.default_rng(seed)
        k = self.act.pieces
        shapes = {"conv1": (32 * k, 1, 5, 5), "conv2": (64 * k, 32, 5, 5), "fc1": (1024 * k, 7 * 7 * 64)}
        shapes["fc2"] = (10, 1024)
        self.params: dict[str, np.ndarray] = {}
        for layer in LAYERS:
            self.params[f"{layer}_w"] = weight_variable(shapes[layer], init, self.rng, self.dtype)
            self.params[f"{layer}_b"] = bias_variable(shapes[layer][:1], self.dtype)
        p = self.params
        self.conv1 = Conv2D(p["conv1_w"], p["conv1_b"])
        self.conv2 = Conv2D(p["conv2_w"], p["conv2_b"])
        self.fc1 = Dense(p["fc1_w"], p["fc1_b"])
        self.fc2 = Dense(p["fc2_w"], p["fc2_b"])
        self.pool = MaxPool2x2()
        self.flatten = Flatten()
        self.dropout = Dropout(dropout, self.rng)
        # max(f(a), f(b)) == f(max(a, b)) for non-decreasing f: activate after pooling, a quarter of the work.
        self._pool_first = self.activation_name in _MONOTONE

    # ------------------------------------------------------------------ parameters

    def parameters(self) -> list[np.ndarray]:
        """The live parameter arrays, in the DCN's order: conv1_w, conv1_b, ..., fc2_b."""
        return list(self.params.values())

    def gradients(self) -> list[np.ndarray]:
        """The gradient buffers of the last :meth:`backward`, in the order of :meth:`parameters`."""
        return [g for layer in self._param_layers() for g in (layer.dW, layer.db)]

    def parameters_of(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """(weights, biases) of ``layer`` in :data:`LAYERS`."""
        return self.params[f"{layer}_w"], self.params[f"{layer}_b"]

    def _param_layers(self) -> tuple[Conv2D | Dense, ...]:
        return (self.conv1, self.conv2, self.fc1, self.fc2)

    def parameter_count(self) -> int:
        return sum(p.size for p in self.params.values())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by the DCN's names."""
        return {name: p.copy() for name, p in self.params.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy ``state`` (arrays by the DCN's names, e.g. a DCN's state dict as NumPy) into the parameters."""
        missing = set(self.params) - set(state)
        if missing:
            raise ValueError(f"the state lacks {', '.join(sorted(missing))}")
        for name, p in self.params.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(f"{name}: the state has shape {value.shape}, the network {p.shape}")
            p[...] = value

    def flops_per_step(self, batch_size: int) -> float:
        """Floating-point operations of one training step: 2 per multiply-add, three matrix products
        per layer (forward, input gradient, weight gradient) -- the DCN's convention."""
        conv = sum(
            28 // 2**i * 28 // 2**i * layer.W[0].size * layer.W.shape[0]
            for i, layer in enumerate((self.conv1, self.conv2))
        )
        dense = self.fc1.W.size + self.fc2.W.size
        return 3 * 2 * batch_size * float(conv + dense)

    # ------------------------------------------------------------------ forward and backward

    def _conv_block(self, conv: Conv2D, x: np.ndarray, name: str, capture: dict | None) -> tuple[np.ndarray, list]:
        z, conv_cache = conv.forward(x)
        if capture is None and self._pool_first:
            pooled_z, pool_cache = self.pool.forward(z)
            a, act_cache = self.act.forward(pooled_z)
            return a, [conv_cache, pool_cache, act_cache, True]
        a, act_cache = self.act.forward(z)
        p, pool_cache = self.pool.forward(a)
        if capture is not None:
            capture[f"{name}/net_input"], capture[f"{name}/activation"], capture[f"{name}/pooled"] = z, a, p
        return p, [conv_cache, pool_cache, act_cache, False]

    def _conv_block_backward(self, conv: Conv2D, dout: np.ndarray, cache: list, input_grad: bool) -> np.ndarray | None:
        conv_cache, pool_cache, act_cache, pool_first = cache
        if pool_first:
            dz = self.pool.backward(self.act.backward(dout, act_cache), pool_cache)
        else:
            dz = self.act.backward(self.pool.backward(dout, pool_cache), act_cache)
        return conv.backward(dz, conv_cache, input_grad=input_grad)

    def forward(
        self,
        x: np.ndarray,
        training: bool = True,
        dropout_mask: np.ndarray | None = None,
        capture: dict[str, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, list]:
        """Logits (N, 10) for images x (N, 784) or (N, 28, 28, 1), and the cache for :meth:`backward`.

        ``dropout_mask`` (N, 1024): the fc1 dropout mask to use (values 0 or 1 / (1 - p)); None draws
        one from the network's generator (in training). Pass a dict as ``capture`` to receive the inner
        tensors under their TensorBoard names (``conv1/net_input``, ..., ``fc2/net_input``).
        """
        x = np.asarray(x, dtype=self.dtype).reshape(-1, 28, 28, 1)
        h, c1 = self._conv_block(self.conv1, x, "conv1", capture)
        h, c2 = self._conv_block(self.conv2, h, "conv2", capture)
        flat, flat_cache = self.flatten.forward(h)
        z, fc1_cache = self.fc1.forward(flat)
        a, act_cache = self.act.forward(z)
        dropped, drop_cache = self.dropout.forward(a, training, dropout_mask)
        logits, fc2_cache = self.fc2.forward(dropped)
        if capture is not None:
            capture["fc1/net_input"], capture["fc1/activation"], capture["fc2/net_input"] = z, a, logits
        return logits, [c1, c2, flat_cache, fc1_cache, act_cache, drop_cache, fc2_cache]

    def backward(self, dlogits: np.ndarray, cache: list) -> None:
        """dL/dlogits (N, 10) -> the parameter gradients, into :meth:`gradients`' buffers."""
        c1, c2, flat_cache, fc1_cache, act_cache, drop_cache, fc2_cache = cache
        d = self.fc2.backward(dlogits, fc2_cache)
        d = self.act.backward(self.dropout.backward(d, drop_cache), act_cache)
        d = self.flatten.backward(self.fc1.backward(d, fc1_cache), flat_cache)
        d = self._conv_block_backward(self.conv2, d, c2, input_grad=True)
        self._conv_block_backward(self.conv1, d, c1, input_grad=False)  # no one needs dL/dx

    def loss_and_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        dropout_mask: np.ndarray | None = None,
        capture: dict[str, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, float]:
        """One training pass on x (N, 784), y (N,) ints: returns (logits (N, 10), mean cross-entropy)
        and leaves the gradients of that loss in :meth:`gradients`."""
        logits, cache = self.forward(x, True, dropout_mask, capture)
        n = logits.shape[0]
        loss = cross_entropy_sum(logits, y) / n
        dlogits = softmax(logits)
        dlogits[np.arange(n), y] -= 1.0
        dlogits /= n
        self.backward(dlogits, cache)
        return logits, loss

    def predict(self, x: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """Class predictions (N,) for images x (N, 784), dropout off, in batches (im2col needs memory)."""
        out = [self.forward(x[i : i + batch_size], training=False)[0].argmax(1) for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
