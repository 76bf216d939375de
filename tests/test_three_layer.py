"""The three-layer network: exact gradients (finite differences and torch.autograd), training, errors."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.datasets import make_moons
from backproplab.scratch import ACTIVATIONS, NeuralNetwork, TrainingDiverged
from handout_numbers import HANDOUT_LOSS, HANDOUT_LOSS_SPREAD
from torch_reference import torch_activations

NAMES = list(ACTIVATIONS)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """cs231n's relative error: max |a - b| / max(1e-8, |a| + |b|)."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def norm_rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / max(1e-4, ||a|| + ||b||). The floor: a gradient that is exactly 0 comes out of backprop as
    round-off (~1e-16) and out of the finite difference as 0 or its round-off (~1e-11), so near 0 the error is
    measured against 1e-4 (an absolute 1e-10 under the tests' 1e-6) instead of dividing round-off by round-off."""
    return float(np.linalg.norm(a - b) / max(1e-4, np.linalg.norm(a) + np.linalg.norm(b)))


def numeric_gradients(net: NeuralNetwork, X: np.ndarray, y: np.ndarray, h: float = 1e-5) -> list[np.ndarray]:
    """Central differences of calculate_loss with respect to every parameter, one entry at a time."""
    grads = []
    for p in net.parameters():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            plus = net.calculate_loss(X, y)
            p[idx] = old - h
            minus = net.calculate_loss(X, y)
            p[idx] = old
            g[idx] = (plus - minus) / (2 * h)
        grads.append(g)
    return grads


def random_problem(seed: int, n: int, d: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, c, size=n)


def kink_free(net: NeuralNetwork, X: np.ndarray) -> bool:
    """True when no hidden pre-activation sits so close to 0 that a finite difference crosses a kink."""
    return bool(np.min(np.abs(X @ net.W1 + net.b1)) > 1e-4)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    seed=st.integers(0, 10_000),
    n=st.integers(1, 12),
    d=st.integers(1, 4),
    h=st.integers(1, 6),
    c=st.integers(2, 4),
    reg=st.sampled_from([0.0, 0.01, 3.14]),
)
def test_backprop_matches_finite_differences(name, seed, n, d, h, c, reg) -> None:
    X, y = random_problem(seed, n, d, c)
    net = NeuralNetwork(d, h, c, actFun_type=name, reg_lambda=reg, seed=seed)
    net.b1 += np.random.default_rng(seed + 1).normal(size=h)  # non-zero biases exercise db
    if not kink_free(net, X):
        return
    analytic = net.backprop(X, y)
    for a, num in zip(analytic, numeric_gradients(net, X, y), strict=True):
        assert a.shape == num.shape
        # relative error of each gradient as a whole: tiny single entries are dominated by the
        # finite difference's round-off (~1e-16 * |L| / h), not by backprop
        assert norm_rel_error(a, num) < 1e-6


def test_gradient_check_catches_a_wrong_derivative(monkeypatch) -> None:
    """The finite-difference check is able to fail: break tanh' the way a student copy did (1/cosh(2z))."""
    from backproplab.scratch import activations

    X, y = random_problem(0, 8, 2, 2)
    broken = activations.Activation("tanh", np.tanh, lambda z, a: 1 / np.cosh(2 * z), "broken")
    monkeypatch.setitem(activations.ACTIVATIONS, "tanh", broken)
    net = NeuralNetwork(2, 4, 2, actFun_type="tanh")
    dW1 = net.backprop(X, y)[0]
    assert rel_error(dW1, numeric_gradients(net, X, y)[0]) > 1e-3


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_backprop_matches_torch_autograd(name: str, reg: float) -> None:
    import torch.nn.functional as F

    X, y = random_problem(7, 16, 3, 3)
    net = NeuralNetwork(3, 5, 3, actFun_type=name, reg_lambda=reg, seed=3)
    net.b1 += 0.3
    torch_act = torch_activations()[name]
    W1, b1, W2, b2 = (torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in net.parameters())
    scores = torch_act(torch.from_numpy(X) @ W1 + b1) @ W2 + b2
    loss = F.cross_entropy(scores, torch.from_numpy(y), reduction="sum") + reg / 2 * ((W1**2).sum() + (W2**2).sum())
    loss.backward()
    assert net.calculate_loss(X, y) == pytest.approx(loss.item(), rel=1e-12)
    for ours, theirs in zip(net.backprop(X, y), (W1.grad, b1.grad, W2.grad, b2.grad), strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_loss_at_initialisation_is_near_log_c() -> None:
    """With small random weights the softmax is near uniform: mean loss ~ log(C)."""
    X, y = random_problem(0, 500, 2, 2)
    net = NeuralNetwork(2, 3, 2, reg_lambda=0.0)
    net.W2 *= 1e-3
    assert net.calculate_loss(X, y) / 500 == pytest.approx(np.log(2), abs=1e-3)


def test_feedforward_returns_probabilities_and_keeps_them() -> None:
    X, _ = make_moons()
    net = NeuralNetwork(2, 3, 2)
    probs = net.feedforward(X, lambda z: net.actFun(z, type=net.actFun_type))
    assert probs.shape == (200, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs is net.probs
    np.testing.assert_array_equal(net.predict(X), probs.argmax(axis=1))


def test_parameters_are_the_live_arrays() -> None:
    net = NeuralNetwork(2, 3, 2)
    W1, b1, W2, b2 = net.parameters()
    assert W1 is net.W1 and b1 is net.b1 and W2 is net.W2 and b2 is net.b2
    assert [p.shape for p in net.parameters()] == [g.shape for g in net.backprop(*random_problem(0, 4, 2, 2))]


@pytest.mark.pins_numbers
def test_classic_training_reproduces_the_handout() -> None:
    """tanh, 3 hidden units, the default moons and schedule: the handout's curved boundary, ~0.975 accuracy."""
    X, y = make_moons()
    net = NeuralNetwork(2, 3, 2, actFun_type="tanh")
    history = net.fit_model(X, y, print_loss=False)
    assert history["loss"][-1] < history["loss"][0] / 5
    assert history["loss_per_example"][-1] == pytest.approx(HANDOUT_LOSS, abs=HANDOUT_LOSS_SPREAD)
    assert np.mean(net.predict(X) == y) >= 0.95


@pytest.mark.pins_numbers
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu"])
def test_loss_decreases_for_each_activation(name: str) -> None:
    X, y = make_moons()
    net = NeuralNetwork(2, 5, 2, actFun_type=name)
    history = net.fit_model(X, y, num_passes=2000, print_loss=False)
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    assert np.mean(net.predict(X) == y) > 0.85


def test_training_is_bit_for_bit_reproducible() -> None:
    X, y = make_moons()
    runs = []
    for _ in range(2):
        net = NeuralNetwork(2, 4, 2, actFun_type="relu", seed=5)
        runs.append((net.fit_model(X, y, num_passes=300, print_loss=False), net.parameters()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        assert np.array_equal(a, b)
    other = NeuralNetwork(2, 4, 2, actFun_type="relu", seed=6)
    assert not np.array_equal(other.W1, runs[0][1][0])


def test_print_loss_prints_every_thousand_passes(capsys) -> None:
    X, y = make_moons(n_samples=20)
    NeuralNetwork(2, 3, 2).fit_model(X, y, num_passes=2000, print_loss=True, record_every=300)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Loss after iteration")]
    assert [line.split()[3].rstrip(":") for line in lines] == ["0", "1000", "2000"]


def test_softmax_and_loss_stay_finite_for_huge_scores() -> None:
    X = np.array([[1e4, -1e4], [-1e4, 1e4]])
    y = np.array([1, 1])
    net = NeuralNetwork(2, 3, 2, actFun_type="identity", reg_lambda=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = net.feedforward(X)
        loss = net.calculate_loss(X, y)
        grads = net.backprop(X, y)
    assert np.isfinite(probs).all() and np.isfinite(loss) and all(np.isfinite(g).all() for g in grads)
    # one of the two examples is confidently wrong: its probability underflows, its loss stays exact
    assert loss > 1000


def test_divergence_stops_with_a_clear_error() -> None:
    X, y = make_moons()
    net = NeuralNetwork(2, 10, 2, actFun_type="relu")
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        net.fit_model(X, y, epsilon=1e6, num_passes=1000, print_loss=False)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(nn_input_dim=0, nn_hidden_dim=3, nn_output_dim=2), "nn_input_dim"),
        (dict(nn_input_dim=2, nn_hidden_dim=-1, nn_output_dim=2), "nn_hidden_dim"),
        (dict(nn_input_dim=2, nn_hidden_dim=3, nn_output_dim=0), "nn_output_dim"),
        (dict(nn_input_dim=2, nn_hidden_dim=2.5, nn_output_dim=2), "nn_hidden_dim"),
        (dict(nn_input_dim=2, nn_hidden_dim=3, nn_output_dim=2, reg_lambda=-1), "reg_lambda"),
    ],
)
def test_bad_sizes_name_the_argument(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        NeuralNetwork(**kwargs)


@pytest.mark.parametrize(
    "X,y,match",
    [
        (np.zeros((4, 3)), np.zeros(4, int), r"X must have shape \(N, 2\)"),
        (np.zeros(4), np.zeros(4, int), r"X must have shape"),
        (np.zeros((4, 2)), np.zeros(5, int), r"y must have shape \(4,\)"),
        (np.zeros((4, 2)), np.array([0, 1, 2, 0]), r"labels must be in \[0, 1\]"),
        (np.zeros((4, 2)), np.array([0, -1, 1, 0]), r"labels must be in"),
        (np.zeros((4, 2)), np.array([0.5, 1, 1, 0]), "integer class labels"),
        (np.array([[0.0, np.nan], [1, 1]]), np.array([0, 1]), "NaN or infinite"),
        (np.array([[0.0, np.inf], [1, 1]]), np.array([0, 1]), "NaN or infinite"),
        (np.zeros((0, 2)), np.zeros(0, int), "N >= 1"),
    ],
)
def test_bad_data_names_the_argument(X, y, match) -> None:
    net = NeuralNetwork(2, 3, 2)
    for call in (net.calculate_loss, net.backprop, lambda X, y: net.fit_model(X, y, num_passes=1)):
        with pytest.raises(ValueError, match=match):
            call(X, y)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"epsilon": 0}, "epsilon"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"num_passes": 0}, "num_passes"),
        ({"epsilon": float("nan")}, "epsilon"),
    ],
)
def test_bad_rates_name_the_argument(kwargs, match) -> None:
    X, y = make_moons(n_samples=10)
    with pytest.raises(ValueError, match=match):
        NeuralNetwork(2, 3, 2).fit_model(X, y, print_loss=False, **kwargs)


def test_engine_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "from backproplab.scratch import NeuralNetwork\n"
        "from backproplab.datasets import make_moons\n"
        "X, y = make_moons()\n"
        "NeuralNetwork(2, 3, 2).fit_model(X, y, num_passes=10, print_loss=False)\n"
        "assert 'torch' not in sys.modules, 'the NumPy engine imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_visualize_decision_boundary_saves_a_png(tmp_path) -> None:
    X, y = make_moons(n_samples=50)
    net = NeuralNetwork(2, 3, 2)
    net.fit_model(X, y, num_passes=100, print_loss=False)
    path = tmp_path / "boundary.png"
    net.visualize_decision_boundary(X, y, path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", NAMES)
def test_actfun_and_its_derivative_work_in_float64_whatever_they_are_given(name: str) -> None:
    """The handout's network computes in float64: float32 input is widened first, not rounded on the way
    (torch autograd in float64 is the reference)."""
    net = NeuralNetwork(2, 3, 2, actFun_type=name)
    z32 = np.random.default_rng(0).normal(0, 2, (4, 5)).astype(np.float32)
    z = torch.tensor(z32, dtype=torch.float64, requires_grad=True)
    a = torch_activations()[name](z)
    a.sum().backward()
    out, slope = net.actFun(z32, type=name), net.diff_actFun(z32, type=name)
    assert out.dtype == slope.dtype == np.float64
    np.testing.assert_allclose(out, a.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(slope, z.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_monitored_tensors_are_the_last_passs_arrays_under_their_tags() -> None:
    """TensorBoard's tags and arrays, recomputed by hand from the weights: before any pass only the
    parameters, after one also the net inputs and the hidden activation."""
    net = NeuralNetwork(3, 4, 2, actFun_type="tanh", seed=1)
    params = {"layer1/weights": net.W1, "layer1/biases": net.b1, "layer2/weights": net.W2, "layer2/biases": net.b2}
    assert net.monitored_tensors().keys() == params.keys()
    X = np.random.default_rng(1).normal(size=(5, 3))
    net.feedforward(X, lambda z: net.actFun(z, type="tanh"))
    z1 = X @ net.W1 + net.b1
    expected = {**params, "layer1/net_input": z1, "layer1/activation": np.tanh(z1)}
    expected["layer2/net_input"] = np.tanh(z1) @ net.W2 + net.b2
    got = net.monitored_tensors()
    assert got.keys() == expected.keys()
    for tag, values in expected.items():
        np.testing.assert_allclose(got[tag], values, rtol=1e-12, err_msg=tag)


def test_step_gradients_scale_only_the_l2_term_as_asked() -> None:
    """A mini-batch step weighs L2 by ``reg_scale``: the gradients differ from the data-only ones
    (reg_scale 0) by exactly reg_lambda * reg_scale * W for the weights, and not at all for the biases."""
    X, y = random_problem(5, 6, 3, 3)
    net = NeuralNetwork(3, 4, 3, actFun_type="tanh", reg_lambda=0.3, seed=2)
    data = net.step_gradients(X, y, 0.0)
    scaled = net.step_gradients(X, y, 0.25)
    for ours, plain, extra in zip(scaled, data, (0.3 * 0.25 * net.W1, 0, 0.3 * 0.25 * net.W2, 0), strict=True):
        np.testing.assert_allclose(ours - plain, extra, rtol=1e-12, atol=1e-15)
