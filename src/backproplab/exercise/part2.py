"""The checks of part 2 (2a, 2a-step, 2b): the learner's PyTorch DCN against :mod:`backproplab.dcn`.

Networks are compared in float64 and in eval mode (no dropout: both draw no random masks), with the
reference's parameters copied into the learner's network, so every difference is the learner's code.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from backproplab.dcn import model as reference
from backproplab.dcn.training import forward_backward
from backproplab.exercise.diagnoses import Failed, check_arrays, scaled_variants
from backproplab.mnist_net.choices import INITS, fans
from backproplab.mnist_net.contract import LAYERS

Modules = dict[str, ModuleType]
N = 5


def _np(t: Any, name: str) -> np.ndarray:
    if not isinstance(t, torch.Tensor):
        raise Failed(f"{name} is not a tensor (got {type(t).__name__}): a missing return statement?")
    return t.detach().double().numpy()


def _parameter(value: Any, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    if not isinstance(value, torch.nn.Parameter):
        raise Failed(
            f"{name} returned {type(value).__name__}, not an nn.Parameter",
            diagnosis="wrap the tensor in nn.Parameter so that the network registers it and the optimizer trains it",
        )
    if tuple(value.shape) != shape:
        raise Failed(f"{name} has shape {tuple(value.shape)}, expected {shape}")
    return value


@functools.cache
def _reference_network() -> reference.DCN:
    torch.manual_seed(0)
    return reference.DCN()


def _pair(mods: Modules) -> tuple[Any, reference.DCN]:
    """The learner's DCN and the reference's, the reference's parameters in both, float64, eval mode."""
    ref = copy.deepcopy(_reference_network())
    yours = mods["dcn_mnist"].DCN()
    for layer in LAYERS:
        for mine, theirs, part in zip(yours.parameters_of(layer), ref.parameters_of(layer), ("w", "b"), strict=True):
            if tuple(mine.shape) != tuple(theirs.shape):
                raise Failed(
                    f"your {layer}_{part} has shape {tuple(mine.shape)}, the reference's {tuple(theirs.shape)}"
                )
            with torch.no_grad():
                mine.copy_(theirs)
    return yours.double().eval(), ref.double().eval()


def _images(n: int = N, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g, dtype=torch.float64), torch.randint(0, 10, (n,), generator=g)


def check_2a(mods: Modules) -> list[str]:
    m = mods["dcn_mnist"]
    torch.manual_seed(0)
    shape = (64, 32, 5, 5)
    w = _parameter(m.weight_variable(shape), "weight_variable", shape).detach()
    drawn = reference.weight_variable(shape).detach()
    bound = 2 * INITS["truncated_normal"].scale(*fans(shape))
    lines = [
        f"weight_variable{shape}: std {w.std():.4f} (a reference draw: {drawn.std():.4f}), max |w| {w.abs().max():.4f}"
    ]
    if w.abs().max() > bound * (1 + 1e-6):
        raise Failed(
            f"weight_variable has values up to {w.abs().max():.3f}, beyond two standard deviations ({bound:g})",
            lines,
            "not truncated: draw from a normal of std 0.1 cut at +-0.2 "
            "(nn.init.trunc_normal_(w, std=0.1, a=-0.2, b=0.2))",
        )
    if abs(float(w.std() / drawn.std()) - 1) > 0.05:  # 51,200 draws: a std is within 1% of its expectation
        raise Failed(
            f"weight_variable's values have std {w.std():.4f}, the reference's {drawn.std():.4f}",
            lines,
            "the course draws from a normal of std 0.1 truncated at two standard deviations",
        )
    b = _parameter(m.bias_variable((10,)), "bias_variable", (10,))
    lines += check_arrays(
        "bias_variable",
        ["bias_variable((10,))"],
        [_np(b, "bias_variable")],
        [_np(reference.bias_variable((10,)), "bias")],
        variants={"the biases start at 0.1 (a small positive constant against dead ReLUs), not 0": [np.zeros(10)]},
    )
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 12, 12, generator=g, dtype=torch.float64)
    W = torch.randn(4, 3, 5, 5, generator=g, dtype=torch.float64)
    bias = torch.randn(4, generator=g, dtype=torch.float64)
    for args, label in (((x, W, bias), "conv2d(x, W, b)"), ((x, W), "conv2d(x, W)")):
        out, expected = m.conv2d(*args), reference.conv2d(*args)
        if isinstance(out, torch.Tensor) and out.shape != expected.shape:
            raise Failed(
                f"{label} gives shape {tuple(out.shape)}, expected {tuple(expected.shape)}",
                diagnosis="no SAME padding: pad by kernel_size // 2 (padding=2 for 5x5) so that H and W stay"
                if out.shape[-1] == expected.shape[-1] - 4
                else "stride 1 and SAME padding keep H and W",
            )
        lines += check_arrays(label, [label], [_np(out, label)], [expected.numpy()])
    pooled, expected = m.max_pool_2x2(x), reference.max_pool_2x2(x)
    if isinstance(pooled, torch.Tensor) and pooled.shape != expected.shape:
        raise Failed(
            f"max_pool_2x2 gives shape {tuple(pooled.shape)}, expected {tuple(expected.shape)}",
            diagnosis="the window moves by 2 (stride=2): H and W halve" if pooled.shape[-1] == 11 else None,
        )
    lines += check_arrays("max_pool_2x2", ["max_pool_2x2(x)"], [_np(pooled, "max_pool_2x2")], [expected.numpy()])
    yours, ref = _pair(mods)
    images, _ = _images()
    with torch.no_grad():
        logits, expected = yours(images), ref(images)
        if isinstance(logits, torch.Tensor) and tuple(logits.shape) != (N, 10):
            raise Failed(f"DCN.forward gives shape {tuple(logits.shape)} for {N} images, expected ({N}, 10)")
        lines += check_arrays("DCN.forward (eval mode)", ["logits"], [_np(logits, "logits")], [expected.numpy()])
        flat = yours(images.reshape(N, 784))
        lines += check_arrays(
            "DCN.forward on (N, 784)",
            ["logits of (N, 784) images"],
            [_np(flat, "logits")],
            [expected.numpy()],
        )
    return lines


def _grads(net: Any, name: str) -> list[np.ndarray]:
    out = []
    for layer in LAYERS:
        for p, part in zip(net.parameters_of(layer), ("w", "b"), strict=True):
            if p.grad is None:
                raise Failed(
                    f"{name}: {layer}_{part}.grad is None after forward_backward", diagnosis="call loss.backward()"
                )
            out.append(p.grad.detach().double().numpy().copy())
    return out


def check_2a_step(mods: Modules) -> list[str]:
    m = mods["dcn_mnist"]
    yours, ref = _pair(mods)
    x, y = _images()
    opt = torch.optim.SGD(yours.parameters(), lr=0.1)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    before = [p.detach().clone() for p in yours.parameters()]
    out = m.forward_backward(yours, opt, x, y, contextlib.nullcontext)
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise Failed("forward_backward must return (logits, loss)")
    logits, loss = out
    ref_logits, ref_loss = forward_backward(ref, ref_opt, x, y, contextlib.nullcontext)
    if any(not torch.equal(a, b) for a, b in zip(before, yours.parameters(), strict=True)):
        raise Failed(
            "forward_backward changed the parameters",
            diagnosis="take no step here: the training loop calls optimizer.step() after it (not on a NaN loss)",
        )
    with torch.no_grad():
        softmax_first = F.cross_entropy(F.softmax(ref_logits, dim=1), y).numpy()
    lines = check_arrays(
        "forward_backward's loss",
        ["loss"],
        [_np(loss, "loss")],
        [ref_loss.detach().numpy()],
        variants={
            "softmax applied before F.cross_entropy, which takes the logits (it applies log-softmax itself)": [
                softmax_first
            ],
            **scaled_variants([ref_loss.detach().numpy()], N, "loss"),
        },
    )
    lines += check_arrays(
        "forward_backward's logits", ["logits"], [_np(logits, "logits")], [ref_logits.detach().numpy()]
    )
    names = [f"{layer}_{p}.grad" for layer in LAYERS for p in ("w", "b")]
    expected = _grads(ref, "the reference")
    lines += check_arrays(
        "the gradients",
        names,
        _grads(yours, "yours"),
        expected,
        variants=lambda: scaled_variants(expected, N, "gradient"),
    )
    m.forward_backward(yours, opt, x, y, contextlib.nullcontext)  # the same batch again: the same gradients
    lines += check_arrays(
        "the gradients of a second call",
        [f"{n} (second call)" for n in names],
        _grads(yours, "yours"),
        expected,
        variants=lambda: {
            "the gradients add up over calls: clear them first (optimizer.zero_grad())": [2 * e for e in expected]
        },
    )
    return lines


def check_2b(mods: Modules) -> list[str]:
    yours, ref = _pair(mods)
    x, _ = _images()
    capture: dict[str, Any] = {}
    expected: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        yours(x, capture)
        ref(x, expected)
    missing = [tag for tag in expected if tag not in capture]
    if missing:
        raise Failed(
            f"forward(x, capture) did not capture {', '.join(missing)}",
            diagnosis="put every inner tensor into the capture dict under its TensorBoard tag <layer>/<quantity>: "
            f"{', '.join(expected)}",
        )
    extra = sorted(set(capture) - set(expected))
    lines = check_arrays(
        "the captured tensors",
        list(expected),
        [_np(capture[tag], tag) for tag in expected],
        [t.numpy() for t in expected.values()],
    )
    if extra:
        lines.append(f"also captured (not monitored by the reference): {', '.join(extra)}")
    return lines


CHECKS: dict[str, Callable[[Modules], list[str]]] = {"2a": check_2a, "2a-step": check_2a_step, "2b": check_2b}
