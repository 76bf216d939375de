"""The activation registry: values, derivatives against numeric derivatives, names, stability."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from backproplab.scratch import ACTIVATIONS, NeuralNetwork

NAMES = list(ACTIVATIONS)


def numeric_derivative(f, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (f(z + h) - f(z - h)) / (2 * h)


def points_away_from_kinks(seed: int = 0) -> np.ndarray:
    z = np.random.default_rng(seed).uniform(-6, 6, size=200)
    return z[np.abs(z) > 1e-3]  # relu/leaky_relu/elu have a kink at 0: no central difference there


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_numeric_derivative(name: str) -> None:
    act = ACTIVATIONS[name]
    z = points_away_from_kinks()
    np.testing.assert_allclose(act.grad(z), numeric_derivative(act.forward, z), rtol=1e-6, atol=1e-8)


# Independent closed forms, written with the math module one scalar at a time.
REFERENCE = {
    "identity": (lambda z: z, lambda z: 1.0),
    "tanh": (math.tanh, lambda z: 1 - math.tanh(z) ** 2),
    "sigmoid": (lambda z: 1 / (1 + math.exp(-z)), lambda z: math.exp(-z) / (1 + math.exp(-z)) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
    "leaky_relu": (lambda z: z if z > 0 else 0.01 * z, lambda z: 1.0 if z > 0 else 0.01),
    "elu": (lambda z: z if z > 0 else math.exp(z) - 1, lambda z: 1.0 if z > 0 else math.exp(z)),
    "softplus": (lambda z: math.log1p(math.exp(z)), lambda z: 1 / (1 + math.exp(-z))),
}


@pytest.mark.parametrize("name", NAMES)
def test_values_and_derivatives_match_closed_forms(name: str) -> None:
    f, df = REFERENCE[name]
    z = np.linspace(-5, 5, 41)
    act = ACTIVATIONS[name]
    np.testing.assert_allclose(act.forward(z), [f(v) for v in z], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(act.grad(z), [df(v) for v in z], rtol=1e-12, atol=1e-14)


def test_relu_derivative_at_zero_is_zero() -> None:
    assert ACTIVATIONS["relu"].grad(np.array([0.0]))[0] == 0.0
    assert NeuralNetwork(2, 3, 2).diff_actFun(np.zeros(3), "ReLU").tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("spelling", ["tanh", "Tanh", "TANH", " tanh "])
def test_names_are_case_insensitive(spelling: str) -> None:
    net = NeuralNetwork(2, 3, 2)
    z = np.array([-1.0, 0.5])
    np.testing.assert_array_equal(net.actFun(z, spelling), np.tanh(z))


@pytest.mark.parametrize("spelling,name", [("ReLU", "relu"), ("Leaky-ReLU", "leaky_relu"), ("linear", "identity")])
def test_common_spellings(spelling: str, name: str) -> None:
    assert ACTIVATIONS[spelling].name == name


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*tanh.*sigmoid.*relu"):
        ACTIVATIONS["swish"]
    with pytest.raises(ValueError, match="choose one of: identity, tanh"):
        NeuralNetwork(2, 3, 2, actFun_type="swish")


@pytest.mark.parametrize("name", NAMES)
def test_no_overflow_or_warning_for_huge_inputs(name: str) -> None:
    z = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4])
    act = ACTIVATIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.forward(z)
        d = act.grad(z)
    assert np.isfinite(a).all() and np.isfinite(d).all()


def test_sigmoid_saturates_exactly() -> None:
    s = ACTIVATIONS["sigmoid"].forward(np.array([-1e4, 1e4]))
    assert s[0] == 0.0 and s[1] == 1.0


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_an_activation_called_like_a_function_is_its_forward_pass(name: str) -> None:
    z = np.linspace(-3.0, 3.0, 13)
    np.testing.assert_array_equal(ACTIVATIONS[name](z), ACTIVATIONS[name].forward(z))
