"""The Layer building block: its backward step against finite differences, initialisations, errors."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.scratch import ACTIVATIONS, Layer, layer_gradient_check
from backproplab.scratch.gradcheck import numerical_gradient, rel_error


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_layer_backprop_matches_finite_differences(name: str) -> None:
    rng = np.random.RandomState(3)
    layer = Layer(4, 5, name, rng=rng)
    layer.b[...] = rng.randn(5)
    X = rng.randn(6, 4)
    assert layer_gradient_check(layer, X) < 1e-7


def test_layer_gradient_check_catches_a_wrong_backprop(monkeypatch) -> None:
    layer = Layer(3, 4, "tanh")
    original = Layer.backprop

    def wrong(self, delta, input_grad=True):  # drops the activation's derivative
        out = original(self, delta, input_grad)
        np.matmul(self.X.T, delta, out=self.dW)
        return out

    monkeypatch.setattr(Layer, "backprop", wrong)
    assert layer_gradient_check(layer, np.random.RandomState(0).randn(5, 3)) > 1e-3


def test_feedforward_shapes_and_cache() -> None:
    layer = Layer(3, 7, "relu")
    X = np.random.RandomState(1).randn(10, 3)
    a = layer.feedforward(X)
    assert a.shape == (10, 7)
    np.testing.assert_allclose(layer.z, X @ layer.W + layer.b)
    np.testing.assert_array_equal(a, np.maximum(layer.z, 0))
    dX = layer.backprop(np.ones((10, 7)))
    assert dX.shape == (10, 3) and layer.dW.shape == (3, 7) and layer.db.shape == (7,)
    assert layer.backprop(np.ones((10, 7)), input_grad=False) is None


def test_backprop_does_not_modify_delta() -> None:
    layer = Layer(3, 4, "sigmoid")
    layer.feedforward(np.random.RandomState(2).randn(5, 3))
    delta = np.random.RandomState(3).randn(5, 4)
    before = delta.copy()
    layer.backprop(delta)
    np.testing.assert_array_equal(delta, before)


def test_identity_layer_passes_delta_as_dz() -> None:
    layer = Layer(2, 3, "identity")
    X = np.random.RandomState(0).randn(4, 2)
    layer.feedforward(X)
    delta = np.random.RandomState(1).randn(4, 3)
    dX = layer.backprop(delta)
    np.testing.assert_allclose(layer.dW, X.T @ delta)
    np.testing.assert_allclose(layer.db, delta.sum(axis=0))
    np.testing.assert_allclose(dX, delta @ layer.W.T)


@pytest.mark.parametrize(
    "init,std",
    [
        ("scaled_normal", lambda i, o: 1 / np.sqrt(i)),
        ("xavier", lambda i, o: np.sqrt(2 / (i + o))),
        ("glorot", lambda i, o: np.sqrt(2 / (i + o))),
        ("he", lambda i, o: np.sqrt(2 / i)),
        ("kaiming", lambda i, o: np.sqrt(2 / i)),
    ],
)
def test_initialisation_scales(init, std) -> None:
    fan_in, fan_out = 400, 100
    layer = Layer(fan_in, fan_out, "tanh", init=init, rng=np.random.RandomState(0))
    # 40,000 draws: the sample std is within 2% of the target.
    assert layer.W.std() == pytest.approx(std(fan_in, fan_out), rel=0.02)
    assert abs(layer.W.mean()) < 0.05 * std(fan_in, fan_out)
    assert np.all(layer.b == 0)


def test_scaled_normal_is_the_handouts_draw() -> None:
    layer = Layer(2, 3, "tanh", rng=np.random.RandomState(0))
    np.testing.assert_array_equal(layer.W, np.random.RandomState(0).randn(2, 3) / np.sqrt(2))


def test_float32_layer_keeps_its_dtype() -> None:
    layer = Layer(3, 4, "tanh", dtype=np.float32)
    a = layer.feedforward(np.ones((2, 3), dtype=np.float32))
    assert a.dtype == np.float32 and layer.W.dtype == np.float32
    assert layer.backprop(np.ones((2, 4), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"input_dim": 0, "output_dim": 3}, "input_dim must be a positive whole number"),
        ({"input_dim": 2, "output_dim": 0}, "output_dim must be a positive whole number"),
        ({"input_dim": 2, "output_dim": 3, "actFun_type": "swish"}, "unknown activation 'swish'"),
        ({"input_dim": 2, "output_dim": 3, "init": "orthogonal"}, "unknown weight initialisation 'orthogonal'"),
        ({"input_dim": 2, "output_dim": 3, "dtype": np.int32}, "dtype must be float32 or float64"),
    ],
)
def test_bad_layer_arguments(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        Layer(**kwargs)


def test_backprop_before_feedforward_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="call feedforward"):
        Layer(2, 2).backprop(np.ones((1, 2)))


def test_numerical_gradient_and_rel_error_helpers() -> None:
    x = np.array([1.0, -2.0, 3.0])
    g = numerical_gradient(lambda: float(np.sum(x**3)), x)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # restored
    assert rel_error(np.array([1.0]), np.array([1.0])) == 0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)


def test_numerical_gradients_are_centred_differences_of_step_h_per_parameter() -> None:
    """For a loss of sum(p**3) a centred difference of step h is exactly 3 p**2 + h**2 (up to rounding): the
    h**2 names the step used, the default 1e-5 or the one given. An empty pair of arrays differs by 0."""
    from backproplab.scratch.gradcheck import numerical_gradients

    class Cubic:
        def __init__(self) -> None:
            self.params = [np.array([1.0, -2.0]), np.array([[0.5]])]

        def parameters(self) -> list[np.ndarray]:
            return self.params

        def calculate_loss(self, X: object, y: object) -> float:
            return float(sum(np.sum(p**3) for p in self.params))

    net = Cubic()
    for h, grads in ((0.1, numerical_gradients(net, None, None, 0.1)), (1e-5, numerical_gradients(net, None, None))):
        for p, g in zip(net.params, grads, strict=True):
            np.testing.assert_allclose(g, 3 * p**2 + h**2, rtol=1e-9, atol=0)
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0


def test_a_layer_without_a_generator_draws_from_seed_0_and_binds_only_matching_arrays() -> None:
    from backproplab.scratch.layer import init_weights

    layer = Layer(3, 4)
    assert np.array_equal(layer.W, init_weights(3, 4, "scaled_normal", np.random.RandomState(0)))
    W, b, dW, db = np.zeros((3, 4)), np.zeros(4), np.zeros((3, 4)), np.zeros(4)
    with pytest.raises(ValueError, match="W must be"):
        layer.bind(np.zeros((4, 3)), b, dW, db)  # same dtype, wrong shape
    layer.bind(W, b, dW, db)
    assert layer.W is W and np.array_equal(W, init_weights(3, 4, "scaled_normal", np.random.RandomState(0)))
