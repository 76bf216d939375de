r"""The layers of a convolutional network, each a forward and a backward step side by side.

Contract (cs231n's): ``out, cache = layer.forward(x)`` computes the layer and returns what the
backward step needs; ``dx = layer.backward(dout, cache)`` takes dL/d(out) and returns dL/dx. A layer
with parameters also stores their gradients in ``layer.dW`` and ``layer.db`` (preallocated, written
in place, so an optimizer can hold on to them).

Layouts. Images flow **channels-last**, ``(N, H, W, C)`` -- the memory format the PyTorch DCN runs
in (``torch.channels_last``) and the one in which im2col is a single matrix product whose result
needs no transpose. Parameters keep **PyTorch's layouts**, so a state dict moves between the two
engines unchanged: conv weights ``(F, C, kh, kw)``, dense weights ``(out, in)``. :class:`Flatten`
orders features as ``(C, H, W)``, like ``torch.flatten`` of an NCHW tensor, so fc1's weights mean
the same thing in both engines.

=================  ===================================  ==========================================
layer              forward                              backward
=================  ===================================  ==========================================
Conv2D             cols = im2col(pad(x)); z = cols W^T  dW = dz^T cols, db = sum dz,
                   + b (stride 1, SAME, odd kernel)     dx = col2im(dz W)
MaxPool2x2         max of each 2x2 window, stride 2     dout to the window's first maximum
Flatten            (N, H, W, C) -> (N, C*H*W)           reshape back
Dropout            x * mask, mask = [u >= p] / (1 - p)  dout * mask
Dense              x W^T + b                            dW = dout^T x, db = sum dout, dx = dout W
ActivationLayer    f(z) from the activation registry    dout * f'(z)
Maxout             max of adjacent channel pairs        dout to the larger one (half each on a tie)
=================  ===================================  ==========================================

Ties: max-pooling sends the gradient to the first maximum of the window in row-major order, as
PyTorch's ``max_pool2d`` does; maxout splits it evenly between equal pieces, as ``torch.amax`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from backproplab.scratch.activations import ACTIVATIONS, Activation
from backproplab.scratch.reductions import column_sum

Cache = Any


def _check_ndim(x: np.ndarray, ndim: int, layer: str, shape: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{layer} expects {shape}, got an array of shape {x.shape}")


class Conv2D:
    """Stride-1 convolution with SAME padding: x (N, H, W, C) -> z (N, H, W, F).

    W: (F, C, k, k) with k odd (PyTorch's layout), b: (F,); the arrays are used, not copied.
    ``z[n, h, w, f] = b[f] + sum_{c, i, j} W[f, c, i, j] * xpad[n, h + i, w + j, c]`` with k // 2
    zeros of padding on each side (cross-correlation, as ``F.conv2d``).
    """

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        if W.ndim != 4 or W.shape[2] != W.shape[3] or W.shape[2] % 2 == 0 or b.shape != (W.shape[0],):
            raise ValueError(f"Conv2D needs W (F, C, k, k) with k odd and b (F,), got {W.shape} and {b.shape}")
        self.W, self.b = W, b
        self.dW, self.db = np.zeros_like(W), np.zeros_like(b)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        """x (N, H, W, C) -> (z (N, H, W, F), cache)."""
        _check_ndim(x, 4, "Conv2D", "x (N, H, W, C)")
        F, C, k, _ = self.W.shape
        N, H, Wd, Cx = x.shape
        if Cx != C:
            raise ValueError(f"Conv2D: x has {Cx} channels (last axis), the weights expect {C}")
        p = k // 2
        xpad = np.zeros((N, H + 2 * p, Wd + 2 * p, C), dtype=x.dtype)
        xpad[:, p : p + H, p : p + Wd, :] = x
        # im2col: one row per output pixel, its k*k*C inputs in (i, j, c) order -- one strided copy.
        cols = np.empty((N, H, Wd, k, k, C), dtype=x.dtype)
        np.copyto(cols, sliding_window_view(xpad, (k, k), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3))
        cols = cols.reshape(N * H * Wd, k * k * C)
        Wmat = np.ascontiguousarray(self.W.transpose(0, 2, 3, 1)).reshape(F, k * k * C)
        z = cols @ Wmat.T
        z += self.b
        return z.reshape(N, H, Wd, F), (cols, Wmat, x.shape)

    def backward(self, dz: np.ndarray, cache: Cache, input_grad: bool = True) -> np.ndarray | None:
        """dz (N, H, W, F) -> dx (N, H, W, C), or None when ``input_grad`` is false (a first layer).

        Stores dW (F, C, k, k) and db (F,) in :attr:`dW` and :attr:`db`.
        """
        cols, Wmat, (N, H, Wd, C) = cache
        F, _, k, _ = self.W.shape
        d = np.ascontiguousarray(dz).reshape(N * H * Wd, F)
        dWmat = d.T @ cols
        self.dW[...] = dWmat.reshape(F, k, k, C).transpose(0, 3, 1, 2)
        column_sum(d, out=self.db)
        if not input_grad:
            return None
        # col2im: each column block (i, j) adds back onto the input window it was read from.
        dcols = (d @ Wmat).reshape(N, H, Wd, k, k, C)
        p = k // 2
        dxpad = np.zeros((N, H + 2 * p, Wd + 2 * p, C), dtype=dcols.dtype)
        for i in range(k):
            for j in range(k):
                dxpad[:, i : i + H, j : j + Wd, :] += dcols[:, :, :, i, j, :]
        return dxpad[:, p : p + H, p : p + Wd, :]


class MaxPool2x2:
    """2x2 max-pooling with stride 2: x (N, H, W, C) -> (N, H // 2, W // 2, C).

    An odd last row or column is dropped (PyTorch's floor mode) and gets zero gradient.
    """

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        """x (N, H, W, C) -> (out (N, H//2, W//2, C), cache (x, out))."""
        _check_ndim(x, 4, "MaxPool2x2", "x (N, H, W, C)")
        c = _corners(x)
        out = np.maximum(c[0], c[1])
        np.maximum(out, np.maximum(c[2], c[3]), out=out)
        return out, (x, out)

    def backward(self, dout: np.ndarray, cache: Cache) -> np.ndarray:
        """dout (N, H//2, W//2, C) -> dx (N, H, W, C): each window's gradient goes to its first maximum."""
        x, out = cache
        dx = np.zeros(x.shape, dtype=dout.dtype)
        # Finding the winner again costs less than recording it in the forward pass, which also
        # serves inference. Corners are visited in PyTorch's scan order; the first maximum wins.
        taken = np.zeros(out.shape, dtype=bool)
        for corner, dx_corner in zip(_corners(x), _corners(dx), strict=True):
            wins = corner == out
            np.greater(wins, taken, out=wins)  # wins and not taken
            np.multiply(dout, wins, out=dx_corner)
            taken |= wins
        return dx


def _corners(x: np.ndarray) -> list[np.ndarray]:
    """The four entries of every 2x2 window of x (N, H, W, C) as (N, H//2, W//2, C) views, in the
    scan order (0, 0), (0, 1), (1, 0), (1, 1)."""
    H2, W2 = x.shape[1] // 2, x.shape[2] // 2
    return [x[:, i : 2 * H2 : 2, j : 2 * W2 : 2, :] for i in (0, 1) for j in (0, 1)]


class Flatten:
    """x (N, H, W, C) -> (N, C*H*W) in (C, H, W) order, the order of ``torch.flatten`` on NCHW."""

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        _check_ndim(x, 4, "Flatten", "x (N, H, W, C)")
        return x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1), x.shape

    def backward(self, dout: np.ndarray, cache: Cache) -> np.ndarray:
        """dout (N, C*H*W) -> dx (N, H, W, C) (a view)."""
        N, H, W, C = cache
        return dout.reshape(N, C, H, W).transpose(0, 2, 3, 1)


class Dropout:
    """Inverted dropout: in training ``out = x * mask`` with ``mask = [u >= p] / (1 - p)``, u ~ U[0, 1).

    ``p`` is the probability of *dropping* a unit. The mask comes from ``rng`` (a seeded
    ``np.random.Generator``) unless one is passed in (same shape as x); outside training the
    layer is the identity.
    """

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p is the probability of dropping a unit, in [0, 1); got {p}")
        self.p, self.rng = float(p), rng

    def make_mask(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A fresh mask of ``shape``: 0 with probability p, else 1 / (1 - p)."""
        keep = self.rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64) >= self.p
        return keep.astype(dtype) * dtype.type(1.0 / (1.0 - self.p))

    def forward(self, x: np.ndarray, training: bool = True, mask: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, D) -> (x * mask, mask); (x, None) when not training or p == 0 (and no mask is given)."""
        if mask is None:
            if not training or self.p == 0.0:
                return x, None
            mask = self.make_mask(x.shape, x.dtype)
        elif mask.shape != x.shape:
            raise ValueError(f"Dropout: the mask has shape {mask.shape}, the input {x.shape}")
        return x * mask, mask

    def backward(self, dout: np.ndarray, cache: Cache) -> np.ndarray:
        """dout (N, D) -> dout * mask."""
        return dout if cache is None else dout * cache


class Dense:
    """Fully connected: x (N, D_in) -> x @ W.T + b (N, D_out); W (D_out, D_in) as ``F.linear``, b (D_out,)."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(f"Dense needs W (D_out, D_in) and b (D_out,), got {W.shape} and {b.shape}")
        self.W, self.b = W, b
        self.dW, self.db = np.zeros_like(W), np.zeros_like(b)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        """x (N, D_in) -> (z (N, D_out), cache x)."""
        _check_ndim(x, 2, "Dense", "x (N, D_in)")
        z = x @ self.W.T
        z += self.b
        return z, x

    def backward(self, dz: np.ndarray, cache: Cache, input_grad: bool = True) -> np.ndarray | None:
        """dz (N, D_out) -> dx (N, D_in); stores dW = dz^T x (D_out, D_in) and db = sum_n dz (D_out,)."""
        np.matmul(dz.T, cache, out=self.dW)
        column_sum(dz, out=self.db)
        return dz @ self.W if input_grad else None


class ActivationLayer:
    """An element-wise activation from :mod:`backproplab.scratch.activations`: any shape -> same shape."""

    pieces = 1

    def __init__(self, activation: str | Activation) -> None:
        self.activation = ACTIVATIONS[activation]
        self._relu = self.activation.name == "relu"

    def forward(self, z: np.ndarray) -> tuple[np.ndarray, Cache]:
        """z -> (f(z), cache (z, f(z)))."""
        a = np.maximum(z, 0.0, dtype=z.dtype) if self._relu else self.activation.forward(z).astype(z.dtype, copy=False)
        return a, (z, a)

    def backward(self, da: np.ndarray, cache: Cache) -> np.ndarray:
        """da -> da * f'(z)."""
        z, a = cache
        if self._relu:
            return da * (z > 0)
        return da * self.activation.derivative(z, a).astype(da.dtype, copy=False)


class Maxout:
    """Maxout with two pieces: z (..., 2C) -> (..., C), ``out[..., c] = max(z[..., 2c], z[..., 2c + 1])``.

    The pairs are adjacent channels (last axis), as the PyTorch DCN's ``reshape(n, C, 2, ...).amax(2)``.
    """

    pieces = 2

    def forward(self, z: np.ndarray) -> tuple[np.ndarray, Cache]:
        """z (..., 2C) -> (out (..., C), cache: weight of the first piece, 1, 0 or 1/2 on a tie)."""
        if z.shape[-1] % 2:
            raise ValueError(f"Maxout needs an even number of channels (last axis), got shape {z.shape}")
        first, second = z[..., 0::2], z[..., 1::2]
        out = np.maximum(first, second)
        w_first = (first > second).astype(z.dtype)
        w_first += 0.5 * (first == second)
        return out, w_first

    def backward(self, dout: np.ndarray, cache: Cache) -> np.ndarray:
        """dout (..., C) -> dz (..., 2C)."""
        w_first = cache
        dz = np.empty((*dout.shape[:-1], 2 * dout.shape[-1]), dtype=dout.dtype)
        np.multiply(dout, w_first, out=dz[..., 0::2])
        np.subtract(dout, dz[..., 0::2], out=dz[..., 1::2])
        return dz


def make_activation(name: str) -> ActivationLayer | Maxout:
    """The activation layer called ``name``: ``"maxout"`` (two pieces) or a registry name."""
    if isinstance(name, str) and name.strip().lower() == "maxout":
        return Maxout()
    return ActivationLayer(name)
