"""The NumPy CNN layers: finite differences in float64 over many shapes, and PyTorch autograd to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.dcn.model import ACTIVATIONS as TORCH_DCN_ACTIVATIONS
from backproplab.numpy_dcn.conv import (
    ActivationLayer,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Maxout,
    MaxPool2x2,
    make_activation,
)
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.gradcheck import numerical_gradient, rel_error
from torch_reference import torch_activations

FAST = settings(max_examples=15, deadline=None)


def nchw(x: np.ndarray) -> torch.Tensor:
    """An (N, H, W, C) array as a float64 NCHW tensor that requires grad."""
    return torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)


def nhwc(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1)


def leaf(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, requires_grad=True)


def distinct_values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Values at least 0.01 apart: no two within the finite-difference step, so every max is differentiable."""
    size = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(size) * 0.01 - size * 0.005).reshape(shape)


def check_finite_differences(
    forward, backward, arrays: dict[str, np.ndarray], grads_after, seed: int, h: float = 1e-5
) -> None:
    """Check ``backward`` against centred differences of ``sum(forward() * G)`` for every array.

    For a layer linear in each array (conv, dense) the differences are exact whatever ``h``: pass a
    large one, which keeps the rounding error of the two sums small."""
    rng = np.random.default_rng(seed)
    out, cache = forward()
    G = rng.normal(size=out.shape)
    analytic = {"x": backward(G, cache), **grads_after()}
    for name, array in arrays.items():
        numeric = numerical_gradient(lambda: float(np.sum(forward()[0] * G)), array, h=h)
        # Relative 1e-6 where the gradient is not tiny; saturated units (tanh' ~ 1e-6) get an absolute floor.
        assert np.allclose(analytic[name], numeric, rtol=1e-6, atol=1e-9), (name, rel_error(analytic[name], numeric))


conv_shapes = st.tuples(
    st.integers(1, 3),  # N
    st.integers(1, 7),  # H
    st.integers(1, 7),  # W
    st.integers(1, 3),  # C
    st.integers(1, 3),  # F
    st.sampled_from([1, 3, 5]),  # k
    st.integers(0, 2**31 - 1),
)


@FAST
@given(conv_shapes)
def test_conv2d_gradients_match_finite_differences(shape) -> None:
    n, h, w, c, f, k, seed = shape
    rng = np.random.default_rng(seed)
    x, W, b = rng.normal(size=(n, h, w, c)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
    conv = Conv2D(W, b)
    check_finite_differences(
        lambda: conv.forward(x),
        conv.backward,
        {"x": x, "W": W, "b": b},
        lambda: {"W": conv.dW, "b": conv.db},
        seed,
        h=1e-2,
    )


@FAST
@given(conv_shapes)
def test_conv2d_matches_torch_autograd(shape) -> None:
    n, h, w, c, f, k, seed = shape
    rng = np.random.default_rng(seed)
    x, W, b = rng.normal(size=(n, h, w, c)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
    conv = Conv2D(W, b)
    z, cache = conv.forward(x)
    xt, Wt, bt = nchw(x), leaf(W), leaf(b)
    zt = F.conv2d(xt, Wt, bt, stride=1, padding=k // 2)
    G = rng.normal(size=z.shape)
    zt.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    dx = conv.backward(G, cache)
    assert np.abs(z - nhwc(zt)).max() < 1e-10
    assert np.abs(dx - nhwc(xt.grad)).max() < 1e-10
    assert np.abs(conv.dW - Wt.grad.numpy()).max() < 1e-10
    assert np.abs(conv.db - bt.grad.numpy()).max() < 1e-10
    assert conv.backward(G, cache, input_grad=False) is None


def test_conv2d_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="k odd"):
        Conv2D(np.zeros((2, 1, 4, 4)), np.zeros(2))
    with pytest.raises(ValueError, match="channels"):
        Conv2D(np.zeros((2, 3, 3, 3)), np.zeros(2)).forward(np.zeros((1, 5, 5, 2)))
    with pytest.raises(ValueError, match=r"x \(N, H, W, C\)"):
        Conv2D(np.zeros((2, 3, 3, 3)), np.zeros(2)).forward(np.zeros((5, 5, 3)))


pool_shapes = st.tuples(
    st.integers(1, 3), st.integers(2, 9), st.integers(2, 9), st.integers(1, 4), st.integers(0, 2**31)
)


@FAST
@given(pool_shapes)
def test_maxpool_gradients_match_finite_differences(shape) -> None:
    n, h, w, c, seed = shape
    x = distinct_values((n, h, w, c), seed)
    pool = MaxPool2x2()
    check_finite_differences(lambda: pool.forward(x), pool.backward, {"x": x}, dict, seed)


@FAST
@given(pool_shapes, st.booleans(), st.booleans())
def test_maxpool_matches_torch_including_ties(shape, ties, channels_last) -> None:
    n, h, w, c, seed = shape
    rng = np.random.default_rng(seed)
    # Small integers make many windows with tied maxima: the gradient must go where PyTorch sends it.
    x = rng.integers(-2, 3, size=(n, h, w, c)).astype(np.float64) if ties else rng.normal(size=(n, h, w, c))
    pool = MaxPool2x2()
    out, cache = pool.forward(x)
    xt = nchw(x)
    source = xt.contiguous(memory_format=torch.channels_last) if channels_last else xt
    ot = F.max_pool2d(source, kernel_size=2, stride=2)
    G = rng.normal(size=out.shape)
    ot.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    assert np.array_equal(out, nhwc(ot))
    assert np.abs(pool.backward(G, cache) - nhwc(xt.grad)).max() < 1e-12


def test_maxpool_sends_a_tie_to_the_first_entry_in_scan_order() -> None:
    x = np.ones((1, 2, 2, 1))
    _out, cache = MaxPool2x2().forward(x)
    dx = MaxPool2x2().backward(np.full((1, 1, 1, 1), 5.0), cache)
    assert dx[0, :, :, 0].tolist() == [[5.0, 0.0], [0.0, 0.0]]


@FAST
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**31))
def test_flatten_orders_features_as_torch_flattens_nchw(n, h, w, c, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h, w, c))
    out, cache = Flatten().forward(x)
    assert np.array_equal(out, torch.tensor(x.transpose(0, 3, 1, 2)).flatten(1).numpy())
    G = rng.normal(size=out.shape)
    # The adjoint of a permutation is its inverse: <Flatten(x), G> = <x, Flatten^T(G)>.
    assert np.sum(out * G) == pytest.approx(np.sum(x * Flatten().backward(G, cache)), rel=1e-12)


@FAST
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**31))
def test_dense_matches_torch_and_finite_differences(n, d_in, d_out, seed) -> None:
    rng = np.random.default_rng(seed)
    x, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_out, d_in)), rng.normal(size=d_out)
    dense = Dense(W, b)
    check_finite_differences(
        lambda: dense.forward(x),
        dense.backward,
        {"x": x, "W": W, "b": b},
        lambda: {"W": dense.dW, "b": dense.db},
        seed,
        h=1e-2,
    )
    z, cache = dense.forward(x)
    xt, Wt, bt = leaf(x), leaf(W), leaf(b)
    zt = F.linear(xt, Wt, bt)
    G = rng.normal(size=z.shape)
    zt.backward(torch.tensor(G))
    dx = dense.backward(G, cache)
    for ours, theirs in ((z, zt), (dx, xt.grad), (dense.dW, Wt.grad), (dense.db, bt.grad)):
        assert np.abs(ours - theirs.detach().numpy()).max() < 1e-10


def test_dropout_is_inverted_seeded_and_takes_a_given_mask() -> None:
    x = np.ones((400, 250))
    layer = Dropout(0.3, np.random.default_rng(7))
    out, mask = layer.forward(x)
    assert np.unique(out) == pytest.approx([0.0, 1 / 0.7])
    assert abs(np.mean(out == 0) - 0.3) < 0.01  # 100,000 draws: 4 standard deviations is 0.006
    again, _ = Dropout(0.3, np.random.default_rng(7)).forward(x)
    assert np.array_equal(out, again)  # the same seed draws the same mask
    G = np.random.default_rng(0).normal(size=x.shape)
    assert np.array_equal(layer.backward(G, mask), G * mask)
    given_mask = np.where(np.random.default_rng(1).random(x.shape) < 0.5, 0.0, 2.0)
    out2, cache2 = layer.forward(x * 3, mask=given_mask)
    assert np.array_equal(out2, 3 * given_mask) and cache2 is given_mask
    assert layer.forward(x, training=False)[0] is x
    with pytest.raises(ValueError, match="mask has shape"):
        layer.forward(x, mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0, np.random.default_rng())


def test_dropout_mask_in_float32_keeps_float32() -> None:
    out, mask = Dropout(0.5, np.random.default_rng(0)).forward(np.ones((3, 4), dtype=np.float32))
    assert out.dtype == np.float32 and mask.dtype == np.float32


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_layers_match_torch_autograd(name) -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2, 3, 4, 5)) * 3
    layer = ActivationLayer(name)
    a, cache = layer.forward(z)
    zt = leaf(z)
    at = torch_activations()[name](zt)
    G = rng.normal(size=z.shape)
    at.backward(torch.tensor(G))
    assert np.abs(a - at.detach().numpy()).max() < 1e-10
    assert np.abs(layer.backward(G, cache) - zt.grad.numpy()).max() < 1e-10
    check_finite_differences(lambda: layer.forward(z), layer.backward, {"x": z}, dict, 0)


@FAST
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.booleans(), st.integers(0, 2**31))
def test_maxout_matches_the_torch_dcn_including_ties(n, h, w, c, ties, seed) -> None:
    rng = np.random.default_rng(seed)
    z = rng.integers(-1, 2, size=(n, h, w, 2 * c)).astype(float) if ties else distinct_values((n, h, w, 2 * c), seed)
    layer = Maxout()
    out, cache = layer.forward(z)
    zt = nchw(z)
    ot = TORCH_DCN_ACTIVATIONS["maxout"].fn(zt)  # the DCN's: channel pairs, torch.amax
    G = rng.normal(size=out.shape)
    ot.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    assert np.array_equal(out, nhwc(ot))
    assert np.abs(layer.backward(G, cache) - nhwc(zt.grad)).max() < 1e-12
    if not ties:
        check_finite_differences(lambda: layer.forward(z), layer.backward, {"x": z}, dict, seed)


def test_maxout_works_on_dense_features_and_needs_pairs() -> None:
    z = np.array([[1.0, 2.0, 5.0, -1.0]])
    out, cache = make_activation("maxout").forward(z)
    assert out.tolist() == [[2.0, 5.0]]
    assert Maxout().backward(np.array([[1.0, 1.0]]), cache).tolist() == [[0.0, 1.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="even number"):
        Maxout().forward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("swish")


def test_maxout_in_float32_stays_float32_as_the_torch_dcns_does() -> None:
    """The engine's float32 run: maxout's output and input gradient keep float32, as torch's maxout
    in float32 (the same values, ties included), so no layer behind it silently works in float64."""
    rng = np.random.default_rng(4)
    z = rng.integers(-1, 2, size=(2, 3, 3, 4)).astype(np.float32)  # many ties
    layer = Maxout()
    out, cache = layer.forward(z)
    zt = nchw(z)
    ot = TORCH_DCN_ACTIVATIONS["maxout"].fn(zt)
    G = rng.normal(size=out.shape).astype(np.float32)
    ot.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    dz = layer.backward(G, cache)
    assert (out.dtype, dz.dtype) == (np.float32, np.float32)
    np.testing.assert_array_equal(out, nhwc(ot))
    np.testing.assert_array_equal(dz, nhwc(zt.grad))


def test_conv2d_and_dense_in_float32_give_float32_input_gradients_as_torch() -> None:
    """The engine's float32 run: the input gradients keep float32 (torch autograd in float32 is the
    reference, to float32 rounding), and a layer asked for no input gradient returns none."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    W, b = rng.normal(size=(4, 3, 5, 5)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    conv = Conv2D(W, b)
    z, cache = conv.forward(x)
    xt = nchw(x)
    zt = F.conv2d(xt, torch.tensor(W), torch.tensor(b), padding=2)
    G = rng.normal(size=z.shape).astype(np.float32)
    zt.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    dx = conv.backward(G, cache)
    assert dx.dtype == np.float32
    np.testing.assert_allclose(dx, nhwc(xt.grad), rtol=1e-4, atol=1e-4)

    h = rng.normal(size=(3, 7)).astype(np.float32)
    Wd, bd = rng.normal(size=(5, 7)).astype(np.float32), np.zeros(5, np.float32)
    dense = Dense(Wd, bd)
    out, dense_cache = dense.forward(h)
    ht = torch.tensor(h, requires_grad=True)
    F.linear(ht, torch.tensor(Wd)).backward(torch.tensor(np.ones_like(out)))
    dh = dense.backward(np.ones_like(out), dense_cache)
    assert dh.dtype == np.float32
    np.testing.assert_allclose(dh, ht.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert dense.backward(np.ones_like(out), dense_cache, input_grad=False) is None


def test_maxpool_in_float32_gives_a_float32_input_gradient_as_torch() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 4, 6, 3)).astype(np.float32)
    pool = MaxPool2x2()
    out, cache = pool.forward(x)
    xt = nchw(x)
    ot = F.max_pool2d(xt, 2)
    G = rng.normal(size=out.shape).astype(np.float32)
    ot.backward(torch.tensor(G.transpose(0, 3, 1, 2).copy()))
    dx = pool.backward(G, cache)
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx, nhwc(xt.grad))


def test_dropout_off_passes_the_gradient_through_unchanged() -> None:
    """p = 0 in training, or any p outside it: the forward pass is the identity (no mask, cache None)
    and so is the backward pass."""
    x = np.random.default_rng(0).normal(size=(4, 6))
    G = np.random.default_rng(1).normal(size=x.shape)
    for layer, training in ((Dropout(0.0, np.random.default_rng(2)), True), (Dropout(0.5, None), False)):
        out, cache = layer.forward(x, training=training)
        assert out is x and cache is None
        assert layer.backward(G, cache) is G


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_layers_at_exactly_zero_and_in_float32_take_torchs_gradient(name, dtype) -> None:
    """Net inputs of exactly 0 (ReLU's kink, where torch's gradient is 0) among others, in float32 and
    float64: the gradient is torch autograd's, in the input's precision."""
    z = np.array([[-2.0, -0.5, 0.0, 0.0, 0.5, 2.0]], dtype=dtype)
    G = np.array([[0.3, -1.2, 0.7, -0.4, 1.1, 0.9]], dtype=dtype)
    layer = ActivationLayer(name)
    a, cache = layer.forward(z)
    dz = layer.backward(G, cache)
    zt = leaf(z)
    torch_activations()[name](zt).backward(torch.tensor(G))
    assert a.dtype == dz.dtype == dtype
    assert np.allclose(dz, zt.grad.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-12, atol=0)


def test_conv2d_and_dense_refuse_weights_they_cannot_use() -> None:
    """A square odd kernel (C_out, C_in, k, k) with one bias per output channel, a (D_out, D_in) matrix with
    one bias per output: anything else is refused when the layer is built, not inside a training step."""
    for W, b in (
        (np.zeros((2, 1, 3, 5)), np.zeros(2)),  # not square
        (np.zeros((2, 1, 5, 3)), np.zeros(2)),
        (np.zeros((2, 3, 3)), np.zeros(2)),  # not 4-d
        (np.zeros((2, 1, 3, 3)), np.zeros(3)),  # a bias per output channel
    ):
        with pytest.raises(ValueError):
            Conv2D(W, b)
    with pytest.raises(ValueError):
        Dense(np.zeros((3, 2)), np.zeros(2))
