"""DeepNeuralNetwork: exact gradients (finite differences and torch.autograd), the three-layer
network as its special case, mini-batch scaling, training, early stopping, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backproplab.datasets import make_moons
from backproplab.scratch import (
    ACTIVATIONS,
    DeepNeuralNetwork,
    Layer,
    NeuralNetwork,
    TrainingDiverged,
    gradient_check,
)
from backproplab.scratch.gradcheck import numerical_gradients, rel_error
from torch_reference import torch_activations

NAMES = list(ACTIVATIONS)
KINKED = {"relu", "leaky_relu"}


@st.composite
def configs(draw):
    depth = draw(st.integers(1, 5))
    return {
        "hidden": draw(st.lists(st.integers(1, 6), min_size=depth, max_size=depth)),
        "acts": draw(st.lists(st.sampled_from(NAMES), min_size=depth, max_size=depth)),
        "reg": draw(st.sampled_from([0.0, 0.1, 3.14])),
        "d": draw(st.integers(1, 4)),
        "c": draw(st.integers(2, 4)),
        "n": draw(st.integers(1, 6)),
        "seed": draw(st.integers(0, 10_000)),
    }


def build(cfg):
    rng = np.random.RandomState(cfg["seed"])
    net = DeepNeuralNetwork(cfg["d"], cfg["hidden"], cfg["c"], cfg["acts"], cfg["reg"], seed=cfg["seed"])
    for b in net.parameters()[1::2]:
        b[...] = 0.1 * rng.randn(*b.shape)  # non-zero biases, so db is exercised
    X = rng.randn(cfg["n"], cfg["d"])
    y = rng.randint(0, cfg["c"], size=cfg["n"])
    return net, X, y


def away_from_kinks(net: DeepNeuralNetwork, X: np.ndarray) -> bool:
    """True when no ReLU-type net input is within 1e-3 of its kink (where differences are meaningless)."""
    net.feedforward(X)
    kinked = [np.abs(layer.z).min() for layer in net.layers if layer.activation.name in KINKED]
    return not kinked or min(kinked) > 1e-3


@settings(max_examples=25, deadline=None)
@given(configs())
def test_backprop_matches_finite_differences(cfg) -> None:
    net, X, y = build(cfg)
    assume(away_from_kinks(net, X))
    analytic = net.backprop(X, y)
    numeric = numerical_gradients(net, X, y, h=1e-6)
    for a, n, p in zip(analytic, numeric, net.parameters(), strict=True):
        assert a.shape == p.shape
        # relative error, with an absolute floor for entries whose gradient is ~0
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(configs())
def test_backprop_matches_torch_autograd(cfg) -> None:
    import torch.nn.functional as F

    act = torch_activations()
    net, X, y = build(cfg)
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in net.parameters()]
    a = torch.from_numpy(X)
    for i, name in enumerate(cfg["acts"]):
        a = act[name](a @ params[2 * i] + params[2 * i + 1])
    scores = a @ params[-2] + params[-1]
    loss = F.cross_entropy(scores, torch.from_numpy(y), reduction="sum")
    loss = loss + cfg["reg"] / 2 * sum((W * W).sum() for W in params[0::2])
    loss.backward()
    assert net.calculate_loss(X, y) == pytest.approx(loss.item(), rel=1e-12, abs=1e-12)
    for ours, theirs in zip(net.backprop(X, y), params, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_check_helper_is_small_for_a_right_net_and_large_for_a_wrong_one(monkeypatch) -> None:
    net = DeepNeuralNetwork(3, [5, 4], 3, ["tanh", "sigmoid"], reg_lambda=3.14, seed=1)
    rng = np.random.RandomState(0)
    X, y = rng.randn(6, 3), rng.randint(0, 3, 6)
    assert gradient_check(net, X, y) < 1e-6
    # the same helper works for the three-layer network
    assert gradient_check(NeuralNetwork(3, 4, 3, "tanh", 0.5), X, y) < 1e-6
    # drop the L2 term from the gradient: the check must notice
    monkeypatch.setattr(net, "reg_lambda", 0.0)
    net_calc = net.calculate_loss
    monkeypatch.setattr(net, "calculate_loss", lambda X, y: net_calc(X, y) + 0.5 * 3.14 * net._l2())
    assert gradient_check(net, X, y) > 1e-3


def test_one_hidden_layer_is_the_three_layer_network() -> None:
    X, y = make_moons(200, 0.2, seed=0)
    for act in ("tanh", "relu", "sigmoid"):
        three = NeuralNetwork(2, 7, 2, act, reg_lambda=0.05, seed=3)
        deep = DeepNeuralNetwork(2, [7], 2, act, reg_lambda=0.05, seed=3)
        for p, q in zip(three.parameters(), deep.parameters(), strict=True):
            np.testing.assert_array_equal(p, q)
        assert deep.calculate_loss(X, y) == pytest.approx(three.calculate_loss(X, y), rel=1e-14)
        for g3, gd in zip(three.backprop(X, y), deep.backprop(X, y), strict=True):
            np.testing.assert_allclose(gd, g3, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(deep.feedforward(X), three.feedforward(X), rtol=1e-13)
    # and trains the same way: the handout's 0.975 on moons with 3 tanh units
    three = NeuralNetwork(2, 3, 2, "tanh")
    deep = DeepNeuralNetwork(2, [3], 2, "tanh")
    h3 = three.fit_model(X, y, num_passes=2000, print_loss=False)
    hd = deep.fit_model(X, y, num_passes=2000, print_loss=False)
    assert hd["loss"][-1] == pytest.approx(h3["loss"][-1], rel=1e-10)


def test_handout_layer_count_parameters() -> None:
    a = DeepNeuralNetwork(2, n_layers=5, layer_size=10, nn_output_dim=2, actFun_type="tanh")
    b = DeepNeuralNetwork(2, [10, 10, 10], 2, "tanh")
    assert a.nn_hidden_dims == [10, 10, 10] and a.n_layers == 5 and len(a.layers) == 4
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert DeepNeuralNetwork(2, n_layers=3, layer_size=4).nn_hidden_dims == [4]


def test_structure_and_live_parameters() -> None:
    net = DeepNeuralNetwork(3, [5, 4], 2, ["relu", "tanh"], seed=0)
    assert all(isinstance(layer, Layer) for layer in net.layers)
    assert [layer.activation.name for layer in net.layers] == ["relu", "tanh", "identity"]
    shapes = [p.shape for p in net.parameters()]
    assert shapes == [(3, 5), (5,), (5, 4), (4,), (4, 2), (2,)]
    assert net.W2 is net.layers[1].W and net.b3 is net.layers[2].b  # the handout's names
    X, y = np.ones((2, 3)), np.array([0, 1])
    before = net.calculate_loss(X, y)
    net.parameters()[4] *= 2.0  # in place: the network sees it
    assert net.calculate_loss(X, y) != before
    assert net.n_parameters == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(AttributeError):
        _ = net.W4


def test_backprop_returns_fresh_arrays() -> None:
    net = DeepNeuralNetwork(2, [3], 2)
    X, y = np.random.RandomState(0).randn(4, 2), np.array([0, 1, 0, 1])
    g1 = net.backprop(X, y)
    g1_copy = [g.copy() for g in g1]
    net.backprop(X[:2], y[:2])
    for g, c in zip(g1, g1_copy, strict=True):
        np.testing.assert_array_equal(g, c)


def test_minibatch_objectives_add_up_to_the_full_loss_gradient() -> None:
    net = DeepNeuralNetwork(2, [6, 5], 3, "tanh", reg_lambda=0.7, seed=2)
    rng = np.random.RandomState(1)
    X, y = rng.randn(23, 2), rng.randint(0, 3, 23)
    full = net.backprop(X, y)
    total = [np.zeros_like(g) for g in full]
    for start in range(0, 23, 5):  # batches 5, 5, 5, 5, 3
        yb = y[start : start + 5]
        net._fill_gradients(X[start : start + 5], yb, yb.shape[0] / 23)
        for t, g in zip(total, net._grad_views(), strict=True):
            t += g
    for t, g in zip(total, full, strict=True):
        np.testing.assert_allclose(t, g, rtol=1e-12, atol=1e-12)


@pytest.mark.pins_numbers
def test_deep_relu_net_reaches_096_on_fresh_moons() -> None:
    X, y = make_moons(1000, 0.2, seed=0)
    X_test, y_test = make_moons(1000, 0.2, seed=1)
    net = DeepNeuralNetwork(2, [16, 16, 16], 2, "relu", reg_lambda=0.01, seed=0, init="he")
    # Adam with a learning rate that decays 10% a pass: the last passes settle instead of jittering
    history = net.fit_model(X, y, 0.01, 30, False, batch_size=32, optimizer="adam", lr_decay=0.9)
    accuracy = float(np.mean(net.predict(X_test) == y_test))
    assert accuracy >= 0.96, accuracy
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_every_optimizer_lowers_the_loss(optimizer: str) -> None:
    X, y = make_moons(200, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [8, 8], 2, "tanh", seed=0)
    lr = {"sgd": 0.005, "momentum": 0.001, "nesterov": 0.001}.get(optimizer, 0.01)
    history = net.fit_model(X, y, lr, 30, False, batch_size=20, optimizer=optimizer)
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["accuracy"][-1] > 0.8


def test_training_is_reproducible_and_float32_works() -> None:
    X, y = make_moons(300, 0.2, seed=0)
    runs = []
    for _ in range(2):
        net = DeepNeuralNetwork(2, [8, 8], 2, "relu", seed=4)
        runs.append(net.fit_model(X, y, 0.01, 5, False, batch_size=16, optimizer="adam")["loss"])
    assert runs[0] == runs[1]
    net32 = DeepNeuralNetwork(2, [8, 8], 2, "relu", seed=4, dtype=np.float32)
    h32 = net32.fit_model(X, y, 0.01, 5, False, batch_size=16, optimizer="adam")
    assert all(p.dtype == np.float32 for p in net32.parameters())
    assert h32["loss"][-1] == pytest.approx(runs[0][-1], rel=1e-3)


def test_history_with_validation_and_early_stopping() -> None:
    X, y = make_moons(400, 0.3, seed=0)
    net = DeepNeuralNetwork(2, [32, 32], 2, "relu", reg_lambda=0.0, seed=0)
    # a large learning rate with plain SGD overfits and oscillates: the validation loss stops improving
    history = net.fit_model(
        X, y, 0.05, 400, False, batch_size=8, optimizer="momentum", validation_split=0.25, patience=10
    )
    assert history["stopped_early"] and history["passes_run"] < 400
    assert len(history["val_loss"]) == len(history["pass"]) == len(history["accuracy"])
    best = history["best_pass"]
    best_val = history["val_loss"][history["pass"].index(best)]
    assert best_val == min(history["val_loss"])
    # the best parameters were restored: the validation rows (a stratified quarter) score best_val again
    _keep, held = _split(y)
    assert net.calculate_loss(X[held], y[held]) == pytest.approx(best_val, rel=1e-12)
    assert history["pass"][-1] - best >= 10


def _split(y):
    from backproplab.scratch.trainer import stratified_split

    return stratified_split(y, 0.25, np.random.RandomState(0))


def test_stratified_split_keeps_class_shares() -> None:
    y = np.array([0] * 40 + [1] * 20 + [2] * 8)
    keep, held = _split(y)
    assert np.bincount(y[held]).tolist() == [10, 5, 2]
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(68))


def test_validation_data_is_recorded() -> None:
    X, y = make_moons(200, 0.2, seed=0)
    Xv, yv = make_moons(100, 0.2, seed=5)
    net = DeepNeuralNetwork(2, [6], 2, "tanh")
    h = net.fit_model(X, y, 0.01, 50, False, validation_data=(Xv, yv), record_every=10)
    assert h["pass"] == [0, 10, 20, 30, 40, 50]
    assert h["val_accuracy"][-1] == pytest.approx(np.mean(net.predict(Xv) == yv))
    assert h["val_loss"][-1] == pytest.approx(net.calculate_loss(Xv, yv))
    assert h["best_pass"] is not None and not h["stopped_early"]


def test_logdir_writes_per_layer_summaries(tmp_path) -> None:
    from backproplab.monitoring import read_histogram_tags, read_scalars

    X, y = make_moons(100, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [4, 3], 2, "relu")
    net.fit_model(X, y, 0.01, 4, False, batch_size=25, validation_split=0.2, record_every=2, logdir=tmp_path)
    scalars = read_scalars(tmp_path)
    hists = read_histogram_tags(tmp_path)
    for i in (1, 2, 3):
        for kind in ("weights", "biases", "net_input"):
            assert hists[f"layer{i}/{kind}"] == [0, 2, 4]
            for stat in ("min", "max", "mean", "std"):
                assert f"layer{i}/{kind}/{stat}" in scalars
    assert "layer1/activation" in hists and "layer3/activation" not in hists  # output: identity
    for tag in ("train/loss", "train/accuracy", "validation/loss", "validation/accuracy"):
        assert [s for s, _ in scalars[tag]] == [0, 2, 4]
    # the logged weight statistics are those of the trained network
    assert scalars["layer1/weights/max"][-1][1] == pytest.approx(net.W1.max(), rel=1e-6)
    # and the logged loss and accuracy are those of the final network on the training and validation rows
    from backproplab.scratch.trainer import stratified_split

    keep, held = stratified_split(y, 0.2, np.random.RandomState(0))
    assert scalars["train/accuracy"][-1][1] == pytest.approx(np.mean(net.predict(X[keep]) == y[keep]), rel=1e-6)
    assert scalars["validation/accuracy"][-1][1] == pytest.approx(np.mean(net.predict(X[held]) == y[held]), rel=1e-6)
    val_loss = net.calculate_loss(X[held], y[held]) / held.size
    assert scalars["validation/loss"][-1][1] == pytest.approx(val_loss, rel=1e-6)
    net.feedforward(X[keep])  # the net inputs are logged over the training rows
    assert scalars["layer2/net_input/mean"][-1][1] == pytest.approx(np.mean(net.layers[1].z), rel=1e-5)


def test_divergence_stops_with_a_clear_error() -> None:
    X, y = make_moons(200, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [10, 10], 2, "relu", seed=0)
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        net.fit_model(X, y, 1e6, 50, False)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"nn_hidden_dims": []}, "nn_hidden_dims is empty"),
        ({"nn_hidden_dims": [4, 0]}, "hidden layer 2 width must be a positive whole number"),
        ({"nn_hidden_dims": None}, "give the hidden layer widths"),
        ({"n_layers": 2, "layer_size": 4}, "n_layers counts input"),
        ({"n_layers": 4, "layer_size": 0}, "layer_size must be a positive whole number"),
        ({"nn_hidden_dims": [3], "n_layers": 3, "layer_size": 3}, "not both"),
        ({"nn_hidden_dims": [3, 3], "actFun_type": ["tanh"]}, "1 names for 2 hidden layers"),
        ({"nn_hidden_dims": [3], "actFun_type": "swish"}, "unknown activation 'swish'"),
        ({"nn_hidden_dims": [3], "init": "zeros"}, "unknown weight initialisation"),
        ({"nn_hidden_dims": [3], "reg_lambda": -1}, "reg_lambda must be"),
    ],
)
def test_bad_configurations_give_clear_errors(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        DeepNeuralNetwork(nn_input_dim=2, nn_output_dim=2, **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'; choose one of: sgd, momentum"),
        ({"batch_size": 11}, "batch_size=11 is larger than the 10 training rows"),
        ({"batch_size": 0}, "batch_size must be a positive whole number"),
        ({"patience": 3}, "early stopping \\(patience\\) needs validation"),
        ({"validation_split": 1.5}, "validation_split is a fraction"),
        ({"optimizer": "adam", "optimizer_options": {"momentum": 0.9}}, "adam: unknown option"),
        ({"epsilon": 0}, "epsilon must be a positive"),
        ({"lr_decay": 1.5}, "lr_decay multiplies"),
    ],
)
def test_bad_training_arguments_give_clear_errors(kwargs, match) -> None:
    net = DeepNeuralNetwork(2, [3], 2)
    X, y = np.random.RandomState(0).randn(10, 2), np.arange(10) % 2
    with pytest.raises(ValueError, match=match):
        net.fit_model(X, y, num_passes=2, print_loss=False, **kwargs)


def test_bad_data_names_the_problem() -> None:
    net = DeepNeuralNetwork(3, [3], 2)
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        net.predict(np.ones((4, 2)))
    with pytest.raises(ValueError, match="labels must be in"):
        net.calculate_loss(np.ones((2, 3)), np.array([0, 2]))


def test_training_does_not_import_torch(tmp_path) -> None:
    code = (
        "import sys\n"
        "from backproplab.scratch import DeepNeuralNetwork\n"
        "from backproplab.datasets import load\n"
        "d = load('moons', n_samples=100)\n"
        "net = DeepNeuralNetwork(2, [4, 4], 2, 'relu')\n"
        "net.fit_model(d.X_train, d.y_train, 0.01, 3, False, batch_size=10, optimizer='adam')\n"
        "assert 'torch' not in sys.modules, 'the NumPy engine imported torch'\n"
        "assert 'tensorboard' not in sys.modules, 'tensorboard imported without a logdir'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_visualize_decision_boundary_saves_a_png(tmp_path) -> None:
    X, y = make_moons(100, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [5, 5], 2, ["relu", "tanh"])
    net.visualize_decision_boundary(X, y, path=tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes().startswith(b"\x89PNG")


def test_rel_error_known_values() -> None:
    # cs231n's max |a - b| / max(1e-8, |a| + |b|), worked by hand
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, -2.0]), np.array([1.0, -1.0])) == pytest.approx(1 / 3)
    assert rel_error(np.array([0.0]), np.array([1e-10])) == pytest.approx(1e-2)  # the 1e-8 floor
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


def test_early_stopping_honours_patience_at_the_default_record_interval() -> None:
    # 4,000 passes record every 20 by default; patience=5 must still mean 5 passes, not 20.
    X, y = make_moons(80, 0.35, seed=0)
    net = DeepNeuralNetwork(2, [32, 32], 2, "relu", reg_lambda=0.0, init="he")
    h = net.fit_model(X, y, 0.01, 4000, False, optimizer="adam", validation_split=0.5, patience=5)
    assert h["stopped_early"]
    assert h["passes_run"] - h["best_pass"] == 5
    assert np.all(np.diff(h["pass"]) <= 5)


def test_minibatch_training_matches_torch_sgd_on_the_scaled_batch_objective() -> None:
    # An independent reference for fit_model's mini-batch path: torch autograd on
    # sum_batch NLL + (lambda/2)(B/N) sum ||W||^2, plain SGD, the rate decayed after every pass.
    import torch.nn.functional as F

    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 3), rng.randint(0, 3, 20)
    net = DeepNeuralNetwork(3, [5, 4], 3, ["tanh", "relu"], reg_lambda=0.3, seed=2)
    params = [torch.tensor(p.copy(), requires_grad=True) for p in net.parameters()]
    lr, decay, batch = 0.05, 0.5, 7  # batches of 7, 7 and 6 rows
    net.fit_model(X, y, lr, 2, False, batch_size=batch, shuffle=False, lr_decay=decay)
    for _ in range(2):
        for start in range(0, 20, batch):
            xb, yb = torch.from_numpy(X[start : start + batch]), torch.from_numpy(y[start : start + batch])
            a = torch.tanh(xb @ params[0] + params[1])
            a = torch.relu(a @ params[2] + params[3])
            loss = F.cross_entropy(a @ params[4] + params[5], yb, reduction="sum")
            loss = loss + 0.3 / 2 * (len(yb) / 20) * sum((W * W).sum() for W in params[0::2])
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p -= lr * g
        lr *= decay
    for ours, theirs in zip(net.parameters(), params, strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_copies_and_pickles_train_like_the_original() -> None:
    import copy
    import pickle

    X, y = make_moons(100, 0.2, seed=0)
    # deepcopy first: it used to give a network whose layers the optimizer no longer updated
    for make in (copy.deepcopy, lambda n: pickle.loads(pickle.dumps(n))):
        net = DeepNeuralNetwork(2, [6, 5], 2, ["relu", "tanh"], seed=1)
        net.fit_model(X, y, 0.01, 5, False)
        other = make(net)
        expected = net.fit_model(X, y, 0.01, 20, False, batch_size=10)["loss"]
        assert other.fit_model(X, y, 0.01, 20, False, batch_size=10)["loss"] == expected
        for p, q in zip(other.parameters(), net.parameters(), strict=True):
            np.testing.assert_array_equal(p, q)
            assert not np.shares_memory(p, q)


def test_assigning_a_handout_name_changes_the_network() -> None:
    # net.W1 = net.W1 - epsilon * dW1 (the handout's style) updates the layer, not a shadow attribute
    X, y = make_moons(50, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [4, 4], 2, "tanh", seed=0)
    before = net.calculate_loss(X, y)
    grads = net.backprop(X, y)
    for name, g in zip(("W1", "b1", "W2", "b2", "W3", "b3"), grads, strict=True):
        setattr(net, name, getattr(net, name) - 0.01 * g)
    assert "W1" not in vars(net) and net.W1 is net.layers[0].W
    assert net.calculate_loss(X, y) < before
    with pytest.raises(ValueError, match=r"W2 has shape \(4, 4\)"):
        net.W2 = np.zeros((3, 3))


def test_print_loss_reports_about_every_thousand_passes_whatever_the_record_interval(capsys) -> None:
    X, y = make_moons(50, 0.2, seed=0)
    DeepNeuralNetwork(2, [3], 2).fit_model(X, y, 0.01, 2100, True, record_every=7)
    printed = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]
    assert printed == [f"Loss after iteration {k}" for k in (0, 1001, 2002, 2100)]


def test_an_activation_of_your_own_is_used_and_gradient_checked() -> None:
    from backproplab.scratch import Activation

    def sigma(z):
        return 1.0 / (1.0 + np.exp(-z))

    swish = Activation("swish", lambda z: z * sigma(z), lambda z, a: sigma(z) * (1 + z * (1 - sigma(z))), "z sigma(z)")
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 2), rng.randint(0, 2, 5)
    for act in (swish, ["tanh", swish]):
        net = DeepNeuralNetwork(2, [4, 3], 2, act, reg_lambda=0.1)
        assert net.layers[1].activation is swish
        assert gradient_check(net, X, y) < 1e-6
        np.testing.assert_allclose(net.layers[1].a, net.layers[1].z * sigma(net.layers[1].z))
    with pytest.raises(ValueError, match="actFun_type must be an activation name or a list of names, got 3"):
        DeepNeuralNetwork(2, [3], 2, 3)


def test_monitored_tensors_are_each_layers_arrays_under_their_tags() -> None:
    """Every layer's weights and biases; after a pass its net input, and its activation except at the
    output (the identity there): recomputed by hand from the weights."""
    net = DeepNeuralNetwork(3, [4, 5], 2, ["tanh", "relu"], seed=2)
    weights = [(layer.W, layer.b) for layer in net.layers]
    assert set(net.monitored_tensors()) == {f"layer{i}/{q}" for i in (1, 2, 3) for q in ("weights", "biases")}
    X = np.random.default_rng(2).normal(size=(6, 3))
    net.feedforward(X)
    expected, a = {}, X
    for i, ((W, b), act) in enumerate(zip(weights, [np.tanh, lambda z: np.maximum(z, 0), None], strict=True), 1):
        z = a @ W + b
        expected |= {f"layer{i}/weights": W, f"layer{i}/biases": b, f"layer{i}/net_input": z}
        if act is not None:
            a = expected[f"layer{i}/activation"] = act(z)
    got = net.monitored_tensors()
    assert got.keys() == expected.keys()
    for tag, values in expected.items():
        np.testing.assert_allclose(got[tag], values, rtol=1e-12, err_msg=tag)


def test_fit_model_prints_the_loss_every_thousand_passes_by_default_and_shows_progress_only_when_asked(
    capsys,
) -> None:
    X, y = make_moons(50, 0.2, seed=0)
    DeepNeuralNetwork(2, [3], 2).fit_model(X, y, 0.01, 2100, record_every=1)
    out, err = capsys.readouterr()
    assert [line.split(":")[0] for line in out.splitlines()] == [
        f"Loss after iteration {k}" for k in (0, 1000, 2000, 2100)
    ]
    assert err == ""  # no progress unless asked for
    DeepNeuralNetwork(2, [3], 2).fit_model(X, y, 0.01, 20, False, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "training: 20/20" in err


def test_a_network_classifies_two_classes_unless_told_otherwise() -> None:
    net = DeepNeuralNetwork(2, [3])
    assert net.nn_output_dim == 2 and net.predict(np.zeros((4, 2))).shape == (4,)
    assert net.layers[-1].W.shape == (3, 2)


def test_the_three_layer_net_shows_progress_only_when_asked_and_names_its_activations(capsys) -> None:
    X, y = make_moons(50, 0.2, seed=0)
    NeuralNetwork(2, 3, 2).fit_model(X, y, 0.01, 20, False)
    assert capsys.readouterr().err == ""
    NeuralNetwork(2, 3, 2).fit_model(X, y, 0.01, 20, False, progress=True)
    assert "training: 20/20" in capsys.readouterr().err
    assert DeepNeuralNetwork(2, [3, 3], actFun_type="relu").actFun_type == "relu"
    assert DeepNeuralNetwork(2, [3, 3], actFun_type=["relu", "tanh"]).actFun_type == ["relu", "tanh"]
