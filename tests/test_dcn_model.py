"""The DCN itself: building blocks, shapes, parameter counts, initialisers, optimizers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backproplab.dcn.model import (
    ACTIVATIONS,
    BIAS_INIT,
    DCN,
    bias_variable,
    conv2d,
    count_parameters,
    dropout,
    flops_per_step,
    max_pool_2x2,
    weight_variable,
)
from backproplab.dcn.optim import OPTIMIZERS, make_optimizer
from backproplab.errors import UsageError

torch.set_num_threads(1)


def _expected_parameters(pieces: int) -> int:
    # Counted from the architecture, layer by layer: weights + biases.
    conv1 = 5 * 5 * 1 * 32 * pieces + 32 * pieces
    conv2 = 5 * 5 * 32 * 64 * pieces + 64 * pieces
    fc1 = 7 * 7 * 64 * 1024 * pieces + 1024 * pieces
    fc2 = 1024 * 10 + 10
    return conv1 + conv2 + fc1 + fc2


def test_course_network_has_3274634_parameters() -> None:
    assert count_parameters(DCN()) == 3_274_634 == _expected_parameters(1)


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
def test_shapes_and_parameter_count_for_every_nonlinearity(activation: str) -> None:
    torch.manual_seed(0)
    model = DCN(activation=activation)
    pieces = 2 if activation == "maxout" else 1
    assert count_parameters(model) == _expected_parameters(pieces)
    capture: dict[str, torch.Tensor] = {}
    logits = model(torch.rand(3, 784), capture)
    assert logits.shape == (3, 10)
    # SAME padding keeps 28 and 14; the pools halve them: 28 -> 14 -> 7.
    expected = {
        "conv1/net_input": (3, 32 * pieces, 28, 28),
        "conv1/activation": (3, 32, 28, 28),
        "conv1/pooled": (3, 32, 14, 14),
        "conv2/net_input": (3, 64 * pieces, 14, 14),
        "conv2/activation": (3, 64, 14, 14),
        "conv2/pooled": (3, 64, 7, 7),
        "fc1/net_input": (3, 1024 * pieces),
        "fc1/activation": (3, 1024),
        "fc2/net_input": (3, 10),
    }
    assert {k: tuple(v.shape) for k, v in capture.items()} == expected


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
def test_fast_path_equals_monitored_path(activation: str) -> None:
    # Without capture, monotone nonlinearities are applied after pooling (4x less work); the
    # result and its gradients must be those of the course's order (activation, then pool).
    torch.manual_seed(1)
    model = DCN(activation=activation, dropout=0.0)
    x = torch.rand(4, 1, 28, 28)
    fast = model(x)
    grads_fast = torch.autograd.grad(fast.square().sum(), list(model.parameters()))
    slow = model(x, {})
    grads_slow = torch.autograd.grad(slow.square().sum(), list(model.parameters()))
    torch.testing.assert_close(fast, slow)
    for a, b in zip(grads_fast, grads_slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_conv2d_is_same_padded_cross_correlation() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 7))
    w = rng.standard_normal((5, 5))
    padded = np.pad(x, 2)
    expected = np.array([[(padded[i : i + 5, j : j + 5] * w).sum() for j in range(7)] for i in range(6)])
    got = conv2d(torch.tensor(x).view(1, 1, 6, 7), torch.tensor(w).view(1, 1, 5, 5))
    np.testing.assert_allclose(got.view(6, 7).numpy(), expected, rtol=1e-10)


def test_max_pool_2x2_takes_block_maxima() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert max_pool_2x2(x).view(2, 2).tolist() == [[5.0, 7.0], [13.0, 15.0]]


def test_dropout_drops_with_probability_p_and_rescales() -> None:
    torch.manual_seed(0)
    a = torch.ones(200, 1000)
    out = dropout(a, 0.5, training=True)
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert (out == 0).double().mean().item() == pytest.approx(0.5, abs=0.005)
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)  # expectation kept
    assert (dropout(a, 0.25, training=True) == 0).double().mean().item() == pytest.approx(0.25, abs=0.005)
    assert dropout(a, 0.5, training=False) is a and dropout(a, 0.0, training=True) is a
    # Gradients flow through the kept units only, scaled alike.
    x = torch.ones(10, 100, requires_grad=True)
    y = dropout(x, 0.5, training=True)
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())


def test_maxout_keeps_the_larger_of_each_adjacent_pair() -> None:
    z = torch.tensor([[1.0, -2.0, 3.0, 4.0, -5.0, -6.0]])
    assert ACTIVATIONS["maxout"].fn(z).tolist() == [[1.0, 4.0, -5.0]]
    z4 = torch.randn(2, 6, 3, 3)
    expected = torch.maximum(z4[:, 0::2], z4[:, 1::2])
    torch.testing.assert_close(ACTIVATIONS["maxout"].fn(z4), expected)


def test_activations_are_the_named_functions() -> None:
    z = torch.linspace(-3, 3, 13)
    torch.testing.assert_close(ACTIVATIONS["relu"].fn(z), z.clamp(min=0))
    torch.testing.assert_close(ACTIVATIONS["tanh"].fn(z), torch.tanh(z))
    torch.testing.assert_close(ACTIVATIONS["sigmoid"].fn(z), 1 / (1 + torch.exp(-z)))
    torch.testing.assert_close(ACTIVATIONS["leaky_relu"].fn(z), torch.where(z > 0, z, 0.01 * z))
    torch.testing.assert_close(ACTIVATIONS["elu"].fn(z), torch.where(z > 0, z, torch.exp(z) - 1))
    gelu = z * 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    torch.testing.assert_close(ACTIVATIONS["gelu"].fn(z), gelu)


# fan_in, fan_out of a (64, 32, 5, 5) conv weight: 32*25 and 64*25.
FAN_IN, FAN_OUT = 800, 1600
INIT_STD = {
    "truncated_normal": 0.1 * 0.87962566,  # std of N(0, 1) truncated to [-2, 2], times 0.1
    "xavier_uniform": math.sqrt(6 / (FAN_IN + FAN_OUT)) / math.sqrt(3),
    "xavier_normal": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "he_normal": math.sqrt(2 / FAN_IN),
    "he_uniform": math.sqrt(6 / FAN_IN) / math.sqrt(3),
    "lecun_normal": math.sqrt(1 / FAN_IN),
}


@pytest.mark.parametrize("init", sorted(INIT_STD))
def test_initialisers_have_the_requested_statistics(init: str) -> None:
    torch.manual_seed(0)
    w = weight_variable((64, 32, 5, 5), init).detach().double()
    assert abs(w.mean().item()) < 3 * INIT_STD[init] / math.sqrt(w.numel())
    assert w.std().item() == pytest.approx(INIT_STD[init], rel=0.02)
    if init == "truncated_normal":
        assert w.abs().max().item() <= 0.2
    if init.endswith("uniform"):
        bound = INIT_STD[init] * math.sqrt(3)
        assert w.abs().max().item() <= bound and w.abs().max().item() > 0.99 * bound
    if init.endswith("normal") and init != "truncated_normal":
        # Gaussian tails: about 0.27% beyond 3 std.
        assert 0.001 < (w.abs() > 3 * INIT_STD[init]).double().mean().item() < 0.005


def test_orthogonal_init_has_orthonormal_rows() -> None:
    torch.manual_seed(0)
    w = weight_variable((64, 32, 5, 5), "orthogonal").detach().reshape(64, -1).double()
    torch.testing.assert_close(w @ w.T, torch.eye(64, dtype=torch.float64), atol=1e-5, rtol=0)


def test_biases_start_at_0_1() -> None:
    assert torch.equal(bias_variable((7,)).detach(), torch.full((7,), BIAS_INIT))
    model = DCN(init="he_normal")
    assert all(torch.all(b == 0.1) for name, b in model.named_parameters() if name.endswith("_b"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "swish"}, "unknown activation 'swish'; choose one of: relu, tanh"),
        ({"init": "zeros"}, "unknown initialisation 'zeros'; choose one of: truncated_normal"),
        ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    ],
)
def test_bad_model_options_are_usage_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError) as info:
        DCN(**kwargs)
    assert message in str(info.value)


def test_unknown_optimizer_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="unknown optimizer 'lbfgs'; choose one of: sgd, momentum"):
        make_optimizer("lbfgs", DCN().parameters())


def test_flops_match_the_issue() -> None:
    # 22.9 TFLOP for 5,500 steps of batch 50.
    assert flops_per_step(50) * 5500 / 1e12 == pytest.approx(22.9, abs=0.05)


@pytest.fixture(scope="module")
def fixed_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(40) % 10
    # Learnable: each class lights up its own band of rows, plus noise.
    images = torch.rand(40, 1, 28, 28, generator=generator) * 0.3
    for i, c in enumerate(labels.tolist()):
        images[i, 0, 2 * c + 4 : 2 * c + 7, 4:24] += 0.7
    return images, labels


@pytest.mark.parametrize("optimizer", OPTIMIZERS.names())
def test_one_step_lowers_the_loss_for_every_optimizer(optimizer: str, fixed_batch) -> None:
    x, y = fixed_batch
    torch.manual_seed(0)
    model = DCN(dropout=0.0)
    assert make_optimizer(optimizer, DCN().parameters()).param_groups[0]["lr"] == OPTIMIZERS[optimizer].default_lr
    # A tenth of the default rate: small enough that a first step from the course's large
    # initial loss is a descent step for every method (the sign-like ones move every weight).
    opt = make_optimizer(optimizer, model.parameters(), lr=OPTIMIZERS[optimizer].default_lr / 10)
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        after = F.cross_entropy(model(x), y)
    assert after.item() < loss.item()


@pytest.mark.parametrize("activation", ["relu", "maxout"])
def test_flops_are_two_per_multiply_add_of_every_layer_three_times(activation) -> None:
    """Counted from the network's own weights: a convolution does one multiply-add per weight entry at each
    output position (28 x 28 for conv1, 14 x 14 after the first pool), a dense layer one per weight entry;
    forward, input gradient and weight gradient make three."""
    model = DCN(activation)
    positions = {"conv1_w": 28 * 28, "conv2_w": 14 * 14, "fc1_w": 1, "fc2_w": 1}
    per_example = sum(positions[name] * p.numel() for name, p in model.named_parameters() if name in positions)
    assert flops_per_step(50, 2 if activation == "maxout" else 1) == 3 * 2 * 50 * per_example


@pytest.mark.parametrize("init", ["he_normal", "xavier_normal"])
def test_every_layer_is_drawn_by_the_init_asked_for_and_the_default_is_the_truncated_normal(init) -> None:
    torch.manual_seed(0)
    model = DCN("relu", init)
    for name, p in model.named_parameters():
        if name.endswith("_w"):
            fan_in, fan_out = p[0].numel(), p[:, 0].numel()  # (out, in, k, k) or (out, in), as torch counts
            expected = math.sqrt(2 / fan_in) if init == "he_normal" else math.sqrt(2 / (fan_in + fan_out))
            assert float(p.detach().std()) == pytest.approx(expected, rel=0.25), name
    w = weight_variable((300, 200)).detach()
    assert float(w.abs().max()) <= 0.2 and float(w.std()) == pytest.approx(0.088, rel=0.05)


def test_a_training_forward_pass_drops_units_and_an_evaluation_pass_does_not() -> None:
    torch.manual_seed(0)
    model = DCN("relu", dropout=0.5)
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        evaluated = model.eval()(x)
        trained = model.train()(x)
    assert not torch.equal(trained, evaluated)
    assert torch.equal(model.eval()(x), evaluated)
