"""The checks of part 1 (1b-1f): the learner's classes against the reference's, run in a child process.

Each check gets the learner's modules (already imported from the workspace) and returns the lines
to show when the item passes; it raises :class:`~backproplab.exercise.diagnoses.Failed` saying what
is wrong. Sizes are small and distinct (N=7 rows, D=3, H=5, C=4) so that a transposed or wrongly
reduced array shows in its shape, and every number comes from the reference classes of
:mod:`backproplab.scratch` (never a second copy of the maths).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from backproplab.exercise.diagnoses import (
    PASS_TOLERANCE,
    Failed,
    as_array,
    check_arrays,
    scaled_variants,
)
from backproplab.scratch import DeepNeuralNetwork, Layer, NeuralNetwork, activations
from backproplab.scratch.activations import Activation
from backproplab.scratch.gradcheck import layer_gradient_check, numerical_gradients

Modules = dict[str, ModuleType]
N, D, H, C = 7, 3, 5, 4
REG = 0.1
ACTIVATIONS = ("tanh", "sigmoid", "relu")


def _data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    return rng.randn(N, D), rng.randint(0, C, size=N)


def _pair(mods: Modules, activation: str = "tanh", reg: float = REG) -> tuple[Any, NeuralNetwork]:
    """The learner's network and the reference's, same settings, same (non-zero) biases."""
    yours = mods["three_layer_neural_network"].NeuralNetwork(D, H, C, actFun_type=activation, reg_lambda=reg, seed=0)
    ref = NeuralNetwork(D, H, C, actFun_type=activation, reg_lambda=reg, seed=0)
    names = ("W1", "b1", "W2", "b2")
    for name in names:
        if not np.array_equal(np.asarray(getattr(yours, name, None), dtype=float), getattr(ref, name)):
            raise Failed(
                f"your __init__ gives {name} other starting values than the reference",
                diagnosis="keep the starter's __init__: the checks compare your numbers with the reference's",
            )
    rng = np.random.RandomState(2)
    for name in ("b1", "b2"):  # non-zero biases: a mistake involving them must show
        shift = 0.1 + 0.2 * rng.rand(*getattr(ref, name).shape)
        getattr(ref, name)[...] += shift
        setattr(yours, name, getattr(yours, name) + shift)
    return yours, ref


def _numeric(net: Any, X: np.ndarray, y: np.ndarray) -> list[np.ndarray] | None:
    """Finite differences of the learner's own calculate_loss (None when it is not usable yet)."""
    try:
        params = net.parameters()
        if not all(isinstance(p, np.ndarray) and p.dtype == np.float64 for p in params):
            return None
        return numerical_gradients(net, X, y)
    except NotImplementedError:
        return None


def _variant_activation(name: str, how: str) -> Activation:
    """The activation ``name`` with a common mistake in its derivative (how: "at_activation", "formula_on_z")."""
    base = activations.ACTIVATIONS[name]
    if how == "at_activation":  # backprop evaluates f' at a = f(z) instead of at z
        derivative = lambda z, a: base.grad(a)  # noqa: E731
    else:  # f' written in terms of the activation (1 - a**2) but applied to z
        derivative = lambda z, a: base.derivative(z, z)  # noqa: E731
    return Activation(name, base.forward, derivative, base.formula)


# -- 1b --------------------------------------------------------------------------------------------


def check_1b(mods: Modules) -> list[str]:
    net = mods["three_layer_neural_network"].NeuralNetwork(D, H, C)
    z = np.concatenate([np.linspace(-6, 6, 24), [0.0, -0.0, 1e-3, -1e-3]]).reshape(4, 7)
    wide = np.array([[-1000.0, -40.0, 40.0, 1000.0]])
    lines = []
    for name in ACTIVATIONS:
        act = activations.ACTIVATIONS[name]
        with np.errstate(all="ignore"):
            yours = as_array(net.actFun(z.copy(), type=name), f"actFun(z, {name!r})")
            yours_wide = as_array(net.actFun(wide.copy(), type=name), f"actFun(z, {name!r})")
        if not np.all(np.isfinite(yours_wide)):
            bad = wide[~np.isfinite(yours_wide)][0]
            raise Failed(
                f"actFun(z, {name!r}) is not finite at z = {bad:g}",
                diagnosis="overflow in exp: write it so that exp only sees non-positive numbers "
                "(e.g. sigmoid(z) = exp(z) / (1 + exp(z)) for z < 0)",
            )
        lines += check_arrays(
            f"actFun(z, {name!r})",
            [f"{name}(z)", f"{name}(z) at |z| up to 1000"],
            [yours, yours_wide],
            [act.forward(z), act.forward(wide)],
        )
        yours_d = as_array(net.diff_actFun(z.copy(), type=name), f"diff_actFun(z, {name!r})")
        reference_d = act.grad(z)
        in_terms_of_a = {"tanh": "1 - a**2", "sigmoid": "a * (1 - a)"}.get(name, "f'(a)")
        variants = {
            f"your {name} derivative is its formula in terms of the activation, {in_terms_of_a}, applied to the net "
            f"input z: compute a = {name}(z) first": [_variant_activation(name, "formula_on_z").grad(z)],
            f"your {name} derivative is computed on the activation instead of the net input: "
            f"f'({name}(z)) instead of f'(z)": [_variant_activation(name, "at_activation").grad(z)],
            f"your {name} derivative has the wrong sign": [-reference_d],
        }
        if name == "relu":
            at_zero = np.where(z == 0, 1.0, reference_d)
            variants = {
                "ReLU's derivative at 0 is 1 in yours: it has none there; use 0 (z > 0), as PyTorch does": [at_zero],
                "your ReLU derivative returns relu(z) itself, not 0/1": [act.forward(z)],
                **variants,
            }
        lines += check_arrays(f"diff_actFun(z, {name!r})", [f"{name}'(z)"], [yours_d], [reference_d], variants=variants)
    return lines


# -- 1c --------------------------------------------------------------------------------------------


def _softmax_axis_diagnosis(probs: np.ndarray) -> str | None:
    if probs.ndim == 2 and not np.allclose(probs.sum(axis=1), 1) and np.allclose(probs.sum(axis=0), 1):
        return "softmax over the wrong axis: your columns sum to 1; each row (one example) must (axis=1)"
    return None


def check_1c(mods: Modules) -> list[str]:
    X, y = _data()
    yours, ref = _pair(mods)
    act = activations.ACTIVATIONS["tanh"]
    probs = as_array(yours.feedforward(X, lambda z: yours.actFun(z, type="tanh")), "feedforward(X, actFun)")
    expected = ref.feedforward(X, act.forward)
    try:
        lines = check_arrays("feedforward", ["probs"], [probs], [expected])
    except Failed as failed:
        failed.diagnosis = failed.diagnosis or _softmax_axis_diagnosis(probs)
        raise
    # Large scores: exp overflows unless the row maximum is subtracted first.
    for net in (yours, ref):
        net.W2 = net.W2 * 400.0
    with np.errstate(all="ignore"):
        big = as_array(yours.feedforward(X, lambda z: yours.actFun(z, type="tanh")), "feedforward(X, actFun)")
    if not np.all(np.isfinite(big)):
        raise Failed(
            "feedforward gives NaN when the scores are large (W2 x 400)",
            diagnosis="overflow in exp: subtract each row's max from the scores before exp (softmax is unchanged)",
        )
    lines += check_arrays("feedforward at large scores", ["probs (W2 x 400)"], [big], [ref.feedforward(X, act.forward)])
    for net in (yours, ref):
        net.W2 = net.W2 / 400.0

    loss = yours.calculate_loss(X, y)
    expected_loss = ref.calculate_loss(X, y)
    no_l2 = NeuralNetwork(D, H, C, reg_lambda=0.0, seed=0)
    for name in ("W1", "b1", "W2", "b2"):
        getattr(no_l2, name)[...] = getattr(ref, name)
    data = no_l2.calculate_loss(X, y)
    l2 = expected_loss - data
    variants = {
        "the L2 term is missing from the loss: add (reg_lambda / 2) * (||W1||^2 + ||W2||^2)": [np.array(data)],
        "the L2 term is reg_lambda * ||W||^2 in yours; it is (reg_lambda / 2) * ||W||^2": [np.array(data + 2 * l2)],
        f"your data term is the mean over the N = {N} examples: this project's loss is their sum": [
            np.array(data / N + l2)
        ],
        **scaled_variants([np.array(expected_loss)], N, "loss"),
    }
    return lines + check_arrays(
        "calculate_loss", ["calculate_loss"], [loss], [np.array(expected_loss)], variants=variants
    )


# -- 1d --------------------------------------------------------------------------------------------


def _gradient_variants(
    reference: list[np.ndarray], make: Callable[..., Any], activation: str, reg: float, X: np.ndarray, y: np.ndarray
) -> dict[str, list[np.ndarray]]:
    """What the reference's gradient would be under each common mistake (computed by the reference)."""
    variants = dict(scaled_variants(reference, N, "gradient"))
    if reg:
        no_l2 = make(activation, 0.0).backprop(X, y)
        variants["the L2 term is missing from the gradient: add reg_lambda * W to each dW"] = list(no_l2)
        variants["the L2 term of the gradient is doubled: it is reg_lambda * W"] = [
            2 * r - n for r, n in zip(reference, no_l2, strict=True)
        ]
    if activation != "relu":
        for how, text in (
            ("at_activation", "the tanh derivative is computed on the activation a1 instead of the net input z1"),
            ("formula_on_z", "the tanh derivative is 1 - z**2 (its formula in a, applied to z): use 1 - a**2"),
        ):
            variants[text] = list(make(_variant_activation(activation, how), reg).backprop(X, y))
    return variants


def _deep_like(hidden: list[int], pair_ref: Any) -> Callable[..., Any]:
    """A maker of reference networks equal to ``pair_ref`` but for the activation and reg_lambda.

    DeepNeuralNetwork takes an Activation object, so a mistake's variant is the reference itself
    with a changed derivative."""

    def make(activation: str | Activation, reg: float) -> Any:
        net = DeepNeuralNetwork(D, hidden, C, actFun_type=activation, reg_lambda=reg, seed=0)
        for p, q in zip(net.parameters(), pair_ref.parameters(), strict=True):
            p[...] = q
        return net

    return make


def check_1d(mods: Modules) -> list[str]:
    X, y = _data()
    lines = []
    for activation, reg in (("tanh", 0.0), ("tanh", REG), ("relu", REG)):
        yours, ref = _pair(mods, activation, reg)
        grads = yours.backprop(X, y)
        if not isinstance(grads, tuple | list):
            raise Failed(f"backprop returned {type(grads).__name__}; return the tuple (dW1, db1, dW2, db2)")
        reference = list(ref.backprop(X, y))
        variants = _gradient_variants(reference, _deep_like([H], ref), activation, reg, X, y)
        label = f"backprop ({activation}, reg_lambda={reg})"
        got = check_arrays(
            label,
            ["dW1", "db1", "dW2", "db2"],
            list(grads),
            reference,
            numeric=_numeric(yours, X, y),
            variants=variants,
        )
        lines += [f"{label} {line}" for line in got]
    return lines


# -- 1e --------------------------------------------------------------------------------------------


def check_1e(mods: Modules) -> list[str]:
    rng = np.random.RandomState(0)  # 60 points in an XOR pattern (no scikit-learn: a second's import per check)
    X = rng.randn(60, 2)
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    settings = {"epsilon": 0.01, "num_passes": 300, "print_loss": False}
    make_yours = mods["three_layer_neural_network"].NeuralNetwork
    yours = make_yours(2, 4, 2, actFun_type="tanh", reg_lambda=0.01, seed=0)
    start = [np.array(p, dtype=float) for p in yours.parameters()]
    yours.fit_model(X, y, **settings)
    trained = [as_array(getattr(yours, n, None), n) for n in ("W1", "b1", "W2", "b2")]

    def reference(**changes: Any) -> list[np.ndarray]:
        net = NeuralNetwork(2, 4, 2, actFun_type="tanh", reg_lambda=0.01, seed=0)
        net.fit_model(X, y, **{**settings, **changes})
        return net.parameters()

    n = X.shape[0]
    after = NeuralNetwork(2, 4, 2, actFun_type="tanh", reg_lambda=0.01, seed=0)
    before = after.calculate_loss(X, y)
    for p, q in zip(after.parameters(), trained, strict=True):
        if p.shape == q.shape:
            p[...] = q
    if after.calculate_loss(X, y) > before:
        raise Failed(
            f"the loss went up during training, from {before:.4f} to {after.calculate_loss(X, y):.4f}",
            diagnosis="the parameters moved up the gradient: step W -= epsilon * dW, not +=",
        )
    variants = {
        "fit_model left the parameters as they were: update self.W1 etc. (W -= epsilon * dW, or assign)": start,
        f"your steps are epsilon / N (N = {n}): step on the summed loss's gradient, W -= epsilon * dW": reference(
            epsilon=settings["epsilon"] / n
        ),
        "one pass short: run exactly num_passes steps": reference(num_passes=settings["num_passes"] - 1),
        "one pass too many: run exactly num_passes steps": reference(num_passes=settings["num_passes"] + 1),
    }
    lines = check_arrays(
        "the trained parameters (300 passes, epsilon 0.01, 60 XOR points)",
        ["W1", "b1", "W2", "b2"],
        trained,
        reference(),
        variants=variants,
    )
    return [f"after 300 passes {line}" for line in lines]


# -- 1f --------------------------------------------------------------------------------------------


def check_1f(mods: Modules) -> list[str]:
    module = mods.get("n_layer_neural_network")
    if module is None:
        raise Failed("n_layer_neural_network.py is missing from the workspace")
    X, y = _data()
    lines = []
    # One layer: against the reference Layer and finite differences (the reference's layer check).
    for activation in ("tanh", "identity"):
        yours = module.Layer(D, H, activation, rng=np.random.RandomState(3))
        ref = Layer(D, H, activation, rng=np.random.RandomState(3))
        G = np.random.RandomState(4).randn(N, H)
        a = yours.feedforward(X.copy())
        lines += check_arrays(
            f"Layer({activation}).feedforward", [f"Layer({activation}) a"], [a], [ref.feedforward(X.copy())]
        )
        dX = yours.backprop(G)
        expected = [ref.backprop(G), ref.dW, ref.db]
        variants = dict(scaled_variants(expected, N, "layer gradient"))
        if activation == "tanh":
            wrong = Layer(D, H, _variant_activation("tanh", "at_activation"), rng=np.random.RandomState(3))
            wrong.feedforward(X.copy())
            variants["the tanh derivative is computed on the activation a instead of the net input z"] = [
                wrong.backprop(G),
                wrong.dW,
                wrong.db,
            ]
        lines += check_arrays(
            f"Layer({activation}).backprop",
            [f"Layer({activation}) {n}" for n in ("dX", "dW", "db")],
            [dX, getattr(yours, "dW", None), getattr(yours, "db", None)],
            expected,
            variants=variants,
        )
        fd = layer_gradient_check(yours, X)
        lines.append(f"Layer({activation}): relative error {fd:.1e} vs finite differences")
        if not fd < PASS_TOLERANCE * 10:
            raise Failed(f"Layer({activation}).backprop disagrees with finite differences ({fd:.1e})", lines)
    # The network: loss and gradients with L2, two hidden layers.
    hidden = [H, 6]
    yours = module.DeepNeuralNetwork(D, hidden, C, actFun_type="tanh", reg_lambda=REG, seed=0)
    ref = DeepNeuralNetwork(D, hidden, C, actFun_type="tanh", reg_lambda=REG, seed=0)
    make = _deep_like(hidden, ref)
    loss, expected_loss = yours.calculate_loss(X, y), ref.calculate_loss(X, y)
    data = make("tanh", 0.0).calculate_loss(X, y)
    lines += check_arrays(
        "DeepNeuralNetwork.calculate_loss",
        ["DeepNeuralNetwork loss"],
        [loss],
        [np.array(expected_loss)],
        variants={
            "the L2 term is missing from the loss: add (reg_lambda / 2) * sum of ||W||^2 over the layers": [
                np.array(data)
            ],
            **scaled_variants([np.array(expected_loss)], N, "loss"),
        },
    )
    names = [f"d{p}{i}" for i in range(1, len(hidden) + 2) for p in ("W", "b")]
    grads = yours.backprop(X, y)
    reference = list(ref.backprop(X, y))
    lines += check_arrays(
        "DeepNeuralNetwork.backprop",
        names,
        list(grads) if isinstance(grads, tuple | list) else [grads],
        reference,
        numeric=_numeric(yours, X, y),
        variants=_gradient_variants(reference, make, "tanh", REG, X, y),
    )
    return lines


CHECKS: dict[str, Callable[[Modules], list[str]]] = {
    "1b": check_1b,
    "1c": check_1c,
    "1d": check_1d,
    "1e": check_1e,
    "1f": check_1f,
}
