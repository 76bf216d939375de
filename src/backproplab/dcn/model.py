"""The deep convolutional network of "Deep MNIST for Experts", in PyTorch.

    x (N, 1, 28, 28)
    conv1  5x5, 1 -> 32, stride 1, SAME  -> act -> maxpool 2x2   (N, 32, 14, 14)
    conv2  5x5, 32 -> 64, SAME           -> act -> maxpool 2x2   (N, 64, 7, 7)
    fc1    7*7*64 -> 1024                -> act -> dropout        (N, 1024)
    fc2    1024 -> 10                                             (N, 10) logits

3,274,634 parameters with a one-piece nonlinearity. With ``maxout`` (two pieces) every hidden layer
computes twice its channels or units and keeps the larger of each adjacent pair, so conv1, conv2
and fc1 have twice the weights and biases (fc2 is unchanged): 6,539,018 parameters.

The four building blocks the course asks for are here by name: :func:`weight_variable`,
:func:`bias_variable`, :func:`conv2d` and :func:`max_pool_2x2`. Weight layouts are PyTorch's:
conv ``(out, in, kh, kw)``, linear ``(out, in)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from backproplab.errors import UsageError
from backproplab.mnist_net.choices import ACTIVATIONS, INITS, WeightInit, fans
from backproplab.mnist_net.contract import BIAS_INIT

# ----------------------------------------------------------------------------- initialisers


def fill_weight(w: torch.Tensor, init: WeightInit) -> None:
    """Fill ``w`` in place as ``init`` says (an entry of :data:`INITS`)."""
    if init.distribution == "orthogonal":
        nn.init.orthogonal_(w)  # rows of the (out, in*kh*kw) matrix orthonormal (or columns if out > rest)
        return
    scale = init.scale(*fans(tuple(w.shape)))
    if init.distribution == "truncated_normal":
        nn.init.trunc_normal_(w, mean=0.0, std=scale, a=-2 * scale, b=2 * scale)  # tf.truncated_normal
    elif init.distribution == "normal":
        nn.init.normal_(w, 0.0, scale)
    elif init.distribution == "uniform":
        nn.init.uniform_(w, -scale, scale)
    else:
        raise ValueError(f"unknown weight distribution {init.distribution!r}")


def weight_variable(shape: tuple[int, ...], init: str = "truncated_normal") -> nn.Parameter:
    """A trainable weight of ``shape``, filled by the initialiser ``init`` (see :data:`INITS`)."""
    w = torch.empty(shape)
    fill_weight(w, INITS[init])
    return nn.Parameter(w)


def bias_variable(shape: tuple[int, ...]) -> nn.Parameter:
    """A trainable bias of ``shape``, every entry 0.1."""
    return nn.Parameter(torch.full(shape, BIAS_INIT))


def conv2d(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """Stride-1 convolution with SAME padding: (N, C, H, W) -> (N, out, H, W) for an odd kernel."""
    return F.conv2d(x, W, b, stride=1, padding=W.shape[-1] // 2)


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """2x2 max-pooling with stride 2: (N, C, H, W) -> (N, C, H/2, W/2)."""
    return F.max_pool2d(x, kernel_size=2, stride=2)


def dropout(a: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout: in training, zero each entry with probability ``p`` and scale the rest by
    1 / (1 - p); the identity otherwise. Same as ``F.dropout``, with the mask drawn by
    ``torch.rand`` (F.dropout's ``bernoulli_`` takes twice as long on a CPU at this size)."""
    if not training or p == 0.0:
        return a
    keep = (torch.rand(a.shape, device=a.device) >= p).to(a.dtype).mul_(1.0 / (1.0 - p))
    return a * keep


# ----------------------------------------------------------------------------- nonlinearities


def maxout(z: torch.Tensor) -> torch.Tensor:
    """Max over adjacent channel (or unit) pairs: (N, 2C, ...) -> (N, C, ...)."""
    n, c2 = z.shape[:2]
    return z.reshape(n, c2 // 2, 2, *z.shape[2:]).amax(dim=2)


# ----------------------------------------------------------------------------- the network


class DCN(nn.Module):
    """conv1 - pool - conv2 - pool - fc1 - dropout - fc2 on (N, 1, 28, 28) or (N, 784) images in [0, 1].

    ``activation`` and ``init`` are names from :data:`ACTIVATIONS` and :data:`INITS`; ``dropout``
    is the probability of *dropping* a unit of fc1 in training (the course keeps 0.5, so 0.5).
    ``forward(x)`` returns logits (N, 10).
    """

    def __init__(self, activation: str = "relu", init: str = "truncated_normal", dropout: float = 0.5) -> None:
        super().__init__()
        act = ACTIVATIONS[activation]
        if not 0.0 <= dropout < 1.0:
            raise UsageError(f"dropout must be in [0, 1), got {dropout}")
        self.activation_name, self.init_name = ACTIVATIONS.canonical(activation), INITS.canonical(init)
        self.dropout = dropout
        self.act = act
        k = act.pieces
        self.conv1_w = weight_variable((32 * k, 1, 5, 5), init)
        self.conv1_b = bias_variable((32 * k,))
        self.conv2_w = weight_variable((64 * k, 32, 5, 5), init)
        self.conv2_b = bias_variable((64 * k,))
        self.fc1_w = weight_variable((1024 * k, 7 * 7 * 64), init)
        self.fc1_b = bias_variable((1024 * k,))
        self.fc2_w = weight_variable((10, 1024), init)
        self.fc2_b = bias_variable((10,))

    def parameters_of(self, layer: str) -> tuple[nn.Parameter, nn.Parameter]:
        """(weights, biases) of ``layer`` in :data:`LAYERS`."""
        return getattr(self, f"{layer}_w"), getattr(self, f"{layer}_b")

    def _conv_block(self, x: torch.Tensor, layer: str, capture: dict[str, torch.Tensor] | None) -> torch.Tensor:
        w, b = self.parameters_of(layer)
        z = conv2d(x, w, b)
        if capture is None and self.act.monotone:
            # max(f(a), f(b)) == f(max(a, b)) for non-decreasing f: apply f to a quarter of the values.
            return self.act.fn(max_pool_2x2(z))
        a = self.act.fn(z)
        p = max_pool_2x2(a)
        if capture is not None:
            capture[f"{layer}/net_input"], capture[f"{layer}/activation"], capture[f"{layer}/pooled"] = z, a, p
        return p

    def forward(self, x: torch.Tensor, capture: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits (N, 10) for images ``x`` (N, 1, 28, 28) or (N, 784).

        Pass a dict as ``capture`` to receive the inner tensors under their TensorBoard names
        (``conv1/net_input``, ``conv1/activation``, ``conv1/pooled``, ..., ``fc2/net_input``); with
        ``capture=None`` nothing is kept beyond what autograd needs.
        """
        x = x.reshape(-1, 1, 28, 28)
        h = self._conv_block(x, "conv1", capture)
        h = self._conv_block(h, "conv2", capture)
        z = F.linear(h.flatten(1), self.fc1_w, self.fc1_b)
        a = self.act.fn(z)
        h = dropout(a, self.dropout, self.training)
        logits = F.linear(h, self.fc2_w, self.fc2_b)
        if capture is not None:
            capture["fc1/net_input"], capture["fc1/activation"], capture["fc2/net_input"] = z, a, logits
        return logits


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_step(batch_size: int, pieces: int = 1) -> float:
    """Floating-point operations of one training step: 2 per multiply-add, three matrix products per
    layer (forward, input gradient, weight gradient), element-wise work left out. This is the
    issue's convention (22.9 TFLOP for 5,500 steps of 50); conv1's input gradient, counted here,
    is in fact never computed (about 1.5% of the total)."""
    k = pieces
    conv1 = 2 * batch_size * 28 * 28 * 32 * k * 25
    conv2 = 2 * batch_size * 14 * 14 * 64 * k * 32 * 25
    fc1 = 2 * batch_size * 3136 * 1024 * k
    fc2 = 2 * batch_size * 1024 * 10
    return 3 * (conv1 + conv2 + fc1 + fc2)
