"""The NumPy engine's trainer: numbers pinned to the loops before it existed (tests/reference_training.py),
divergence, callbacks."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import pytest

from backproplab.datasets import make_moons
from backproplab.divergence import DivergenceWatch
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.scratch import DeepNeuralNetwork, NeuralNetwork, Trainer
from handout_numbers import HANDOUT_LOSS, HANDOUT_LOSS_SPREAD
from reference_training import fit_deep, fit_three_layer


def xor_data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Data from RandomState alone (its stream is frozen), so the pins below depend on no data set code."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 2)
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def pinned_config(name: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """``(fresh network, positional and keyword arguments of fit_model)`` of one pinned run."""
    X, y = xor_data()
    if name == "three_tanh":
        return NeuralNetwork(2, 3, 2, "tanh", seed=0), (X, y), {"num_passes": 2000, "record_every": 50}
    if name == "three_relu":
        net = NeuralNetwork(2, 10, 2, "relu", reg_lambda=0.001, seed=3)
        return net, (X, y), {"epsilon": 0.005, "num_passes": 1500, "print_loss": False}
    if name == "deep_full_sgd":
        return DeepNeuralNetwork(2, [5, 5], 2, "tanh", seed=1), (X, y, 0.01, 1200, True), {}
    if name == "deep_adam_minibatch_early_stop":
        net = DeepNeuralNetwork(2, [16, 16, 16], 2, "relu", seed=2, init="he")
        options = {"batch_size": 32, "optimizer": "adam", "validation_split": 0.25, "patience": 10}
        return net, (X, y, 0.01, 400, False), options
    if name == "deep_lr_decay_momentum":
        net = DeepNeuralNetwork(2, [8, 8], 2, ["sigmoid", "relu"], reg_lambda=0.005, seed=4, init="xavier")
        options = {
            "batch_size": 50,
            "optimizer": "momentum",
            "optimizer_options": {"momentum": 0.8},
            "lr_decay": 0.98,
            "record_every": 7,
        }
        return net, (X, y, 0.005, 150, False), options
    assert name == "deep_float32_rmsprop_valdata"
    net = DeepNeuralNetwork(2, [12], 2, "tanh", seed=5, dtype=np.float32)
    options = {
        "batch_size": 40,
        "optimizer": "rmsprop",
        "validation_data": xor_data(60, seed=9),
        "patience": 20,
        "restore_best": False,
        "shuffle": False,
    }
    return net, (X, y, 0.002, 120, False), options


def pinned_run(name: str, reference: bool) -> tuple[Any, dict[str, Any], str]:
    """One pinned run, through ``fit_model`` (the Trainer) or through the loop of 8ea1841."""
    net, args, kwargs = pinned_config(name)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if not reference:
            history = net.fit_model(*args, **kwargs)
        elif isinstance(net, DeepNeuralNetwork):  # before NeuralNetwork: the deep network is one too
            history = fit_deep(net, *args, **kwargs)
        else:
            history = fit_three_layer(net, *args, **kwargs)
    return net, history, out.getvalue()


# What each pinned run exercises, from the reference: records, passes_run, best_pass, stopped_early.
COVERS = {
    "three_tanh": (41, 2000, None, False),
    "three_relu": (16, 1500, None, False),
    "deep_full_sgd": (201, 1200, None, False),
    "deep_adam_minibatch_early_stop": (13, 24, 14, True),
    "deep_lr_decay_momentum": (23, 150, None, False),
    "deep_float32_rmsprop_valdata": (121, 120, 120, False),
}


@pytest.mark.parametrize("name", sorted(COVERS))
def test_same_seed_same_numbers_as_before_the_trainer(name: str) -> None:
    """The Trainer reproduces the loops of 8ea1841 (tests/reference_training.py) bit for bit, on
    whatever machine: parameters, every history curve and the printed lines."""
    net, hist, printed = pinned_run(name, reference=False)
    ref_net, ref_hist, ref_printed = pinned_run(name, reference=True)
    for p, ref in zip(net.parameters(), ref_net.parameters(), strict=True):
        assert p.dtype == ref.dtype and np.array_equal(p, ref)
    assert {k: v for k, v in hist.items() if isinstance(v, list)} == {
        k: v for k, v in ref_hist.items() if isinstance(v, list)
    }
    assert printed == ref_printed
    # the scalars: 8ea1841's deep loop had them; the three-layer history gained them with the trainer
    assert {k: hist[k] for k, v in ref_hist.items() if not isinstance(v, list)} == {
        k: v for k, v in ref_hist.items() if not isinstance(v, list)
    }
    n_records, passes_run, best_pass, stopped_early = COVERS[name]
    assert len(ref_hist["loss"]) == n_records
    assert (hist["passes_run"], hist["best_pass"], hist["stopped_early"]) == (passes_run, best_pass, stopped_early)


@pytest.mark.pins_numbers
def test_the_reference_loop_trains_the_handout_network_as_the_handout_did() -> None:
    """The reference itself: the handout's run (make_moons(200, noise 0.2, seed 0), 3 tanh units,
    epsilon 0.01, reg_lambda 0.01, 20,000 passes) ends near the handout's 0.0708 per example (within the
    spread of numpy's vector paths) and at 0.975 accuracy."""
    X, y = make_moons(200, 0.2, seed=0)
    net = NeuralNetwork(2, 3, 2, "tanh", seed=0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = fit_three_layer(net, X, y)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [f"Loss after iteration {k}" for k in range(0, 20001, 1000)]
    assert history["loss_per_example"][-1] == pytest.approx(HANDOUT_LOSS, abs=HANDOUT_LOSS_SPREAD)
    printed = float(lines[-1].removeprefix("Loss after iteration 20000: ").split()[0])
    assert printed == pytest.approx(history["loss_per_example"][-1], abs=5e-7)  # printed with 6 decimals
    assert history["accuracy"][-1] == 0.975 == np.mean(net.predict(X) == y)


def test_the_reference_loop_takes_the_handouts_steps() -> None:
    """The reference against the handout's own loop, written out here in plain NumPy (np.sum, no
    BLAS reductions): the same losses to rounding, pass by pass."""
    X, y = make_moons(200, 0.2, seed=0)
    N, eps, lam = X.shape[0], 0.01, 0.01
    rng = np.random.RandomState(0)
    W1, b1 = rng.randn(2, 3) / np.sqrt(2), np.zeros((1, 3))
    W2, b2 = rng.randn(3, 2) / np.sqrt(3), np.zeros((1, 2))

    def handout_loss() -> float:
        scores = np.tanh(X.dot(W1) + b1).dot(W2) + b2
        probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
        data_loss = np.sum(-np.log(probs[range(N), y])) + lam / 2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)))
        return float(data_loss)

    losses = [handout_loss()]
    for _ in range(300):
        a1 = np.tanh(X.dot(W1) + b1)
        scores = a1.dot(W2) + b2
        delta3 = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
        delta3[range(N), y] -= 1
        dW2, db2 = a1.T.dot(delta3) + lam * W2, np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1, db1 = X.T.dot(delta2) + lam * W1, np.sum(delta2, axis=0)
        W1, b1, W2, b2 = W1 - eps * dW1, b1 - eps * db1, W2 - eps * dW2, b2 - eps * db2
        losses.append(handout_loss())

    net = NeuralNetwork(2, 3, 2, "tanh", seed=0)
    history = fit_three_layer(net, X, y, num_passes=300, print_loss=False, record_every=1)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-10)
    for p, q in zip(net.parameters(), (W1, b1.ravel(), W2, b2.ravel()), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_one_exception_for_both_engines_carries_what_was_recorded() -> None:
    assert issubclass(TrainingDiverged, UsageError) and issubclass(TrainingDiverged, ArithmeticError)
    from backproplab.dcn import TrainingDiverged as DCNDiverged
    from backproplab.scratch import TrainingDiverged as ScratchDiverged

    assert DCNDiverged is ScratchDiverged is TrainingDiverged
    exc = TrainingDiverged("boom", {"status": "diverged"})
    assert exc.metrics == {"status": "diverged"} and exc.history is None


def test_a_nan_loss_ends_training_with_the_history_up_to_the_blow_up() -> None:
    X, y = make_moons(200, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [10, 10], 2, "relu", seed=0)
    trainer = Trainer(net, X, y, epsilon=1e6, num_passes=50, record_every=1, diverge_factor=None)
    with pytest.raises(TrainingDiverged, match=r"the loss became nan after \d+ passes .*smaller learning rate") as info:
        trainer.train()
    history = info.value.history
    assert history["pass"] == list(range(len(history["pass"])))  # every record before the blow-up
    assert all(np.isfinite(history["loss"]))
    assert history["diverged_at_pass"] == history["pass"][-1] + 1
    # an independent replay: the same net trained for the recorded passes has the recorded loss
    replay = DeepNeuralNetwork(2, [10, 10], 2, "relu", seed=0)
    last = history["pass"][-1]
    if last > 0:
        Trainer(replay, X, y, epsilon=1e6, num_passes=last, diverge_factor=None).train()
    assert replay.calculate_loss(X, y) == history["loss"][-1]


def test_a_loss_that_stays_far_above_its_start_is_divergence_too() -> None:
    # Adam at a huge rate: the loss stays finite (~1e9) at chance accuracy -- it used to "complete"
    X, y = make_moons(200, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [10, 10], 2, "relu", seed=0)
    with pytest.raises(TrainingDiverged, match=r"stayed above 10 times its first value .* for 2 records") as info:
        net.fit_model(X, y, 1e6, 100, False, batch_size=50, optimizer="adam", record_every=5)
    h = info.value.history
    # the one rule set: the DCN's watch, fed the same records, says the same thing at the same record
    watch = DivergenceWatch(window=2, unit="records")
    reasons = [watch.loss(loss) for loss in h["loss"]]
    assert reasons[:-1] == [None] * (len(h["loss"]) - 1) and str(info.value).startswith(reasons[-1])
    assert np.isfinite(h["loss"]).all() and h["loss"][-1] > 10 * h["loss"][0] and h["loss"][-2] > 10 * h["loss"][0]
    assert all(loss <= 10 * h["loss"][0] for loss in h["loss"][:-2]) or len(h["loss"]) == 3
    assert h["diverged_at_pass"] == h["pass"][-1] < 100
    # the same run with the check switched off completes, its losses where they were
    other = DeepNeuralNetwork(2, [10, 10], 2, "relu", seed=0)
    trainer = Trainer(
        other, X, y, epsilon=1e6, num_passes=h["pass"][-1], batch_size=50, optimizer="adam", record_every=5,
        diverge_factor=None,
    )  # fmt: skip
    assert trainer.train()["loss"] == h["loss"]


def test_a_diverged_run_still_writes_its_curves(tmp_path) -> None:
    from backproplab.monitoring import read_scalars

    X, y = make_moons(200, 0.2, seed=0)
    net = DeepNeuralNetwork(2, [10, 10], 2, "relu", seed=0)
    with pytest.raises(TrainingDiverged) as info:
        net.fit_model(X, y, 1e6, 100, False, batch_size=50, optimizer="adam", record_every=5, logdir=tmp_path)
    steps = [step for step, _ in read_scalars(tmp_path)["train/loss"]]
    assert steps == info.value.history["pass"]


def test_a_callback_sees_every_record_and_can_take_snapshots() -> None:
    X, y = make_moons(100, 0.2, seed=1)
    net = NeuralNetwork(2, 4, 2, "tanh", seed=0)
    snapshots: dict[int, np.ndarray] = {}

    def on_record(model: Any, history: dict[str, Any]) -> None:
        if history["pass"][-1] in (30, 60):
            snapshots[history["pass"][-1]] = model.W1.copy()

    history = Trainer(net, X, y, num_passes=90, record_every=10, on_record=on_record).train()
    assert history["pass"] == list(range(0, 91, 10))
    for passes, W1 in snapshots.items():  # the weights of a fresh net trained that far
        fresh = NeuralNetwork(2, 4, 2, "tanh", seed=0)
        fresh.fit_model(X, y, num_passes=passes, print_loss=False)
        np.testing.assert_array_equal(W1, fresh.W1)
    assert sorted(snapshots) == [30, 60]


def test_the_three_layer_net_trains_on_mini_batches_like_its_deep_twin() -> None:
    X, y = make_moons(120, 0.2, seed=2)
    three = NeuralNetwork(2, 5, 2, "tanh", seed=3)
    deep = DeepNeuralNetwork(2, [5], 2, "tanh", seed=3)
    kwargs = {"epsilon": 0.01, "num_passes": 20, "batch_size": 16, "optimizer": "adam", "validation_split": 0.2}
    h3 = Trainer(three, X, y, **kwargs).train()
    hd = Trainer(deep, X, y, **kwargs).train()
    np.testing.assert_allclose(h3["loss"], hd["loss"], rtol=1e-12)
    np.testing.assert_allclose(h3["val_loss"], hd["val_loss"], rtol=1e-12)
    for p3, pd in zip(three.parameters(), deep.parameters(), strict=True):
        np.testing.assert_allclose(p3, pd, rtol=1e-10, atol=1e-14)


def test_the_three_layer_net_logs_the_same_tags_as_the_deep_one(tmp_path) -> None:
    from backproplab.monitoring import read_histogram_tags

    X, y = make_moons(60, 0.2, seed=0)
    Trainer(NeuralNetwork(2, 3, 2), X, y, num_passes=4, record_every=2, logdir=tmp_path / "three").train()
    Trainer(DeepNeuralNetwork(2, [3], 2), X, y, num_passes=4, record_every=2, logdir=tmp_path / "deep").train()
    three, deep = read_histogram_tags(tmp_path / "three"), read_histogram_tags(tmp_path / "deep")
    assert three == deep
    assert set(three) == {
        "layer1/weights",
        "layer1/biases",
        "layer1/net_input",
        "layer1/activation",
        "layer2/weights",
        "layer2/biases",
        "layer2/net_input",
    }


def test_layer_tags_are_checked() -> None:
    from backproplab.monitoring import layer_tag

    assert layer_tag("conv1", "pooled") == "conv1/pooled"
    with pytest.raises(ValueError, match="unknown monitored quantity 'weight'; valid ones are: weights"):
        layer_tag("layer1", "weight")
    with pytest.raises(ValueError, match="one non-empty tag component"):
        layer_tag("a/b", "weights")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"print_every": 0}, "print_every must be a positive whole number"),
        ({"diverge_factor": -1.0}, "diverge_factor"),
        ({"optimizer": "adamw"}, "unknown optimizer 'adamw'"),
    ],
)
def test_bad_trainer_settings_are_refused(kwargs: dict[str, Any], match: str) -> None:
    X, y = make_moons(20, 0.2, seed=0)
    with pytest.raises(ValueError, match=match):
        Trainer(NeuralNetwork(2, 3, 2), X, y, **kwargs)


def test_one_settings_object_flows_from_the_command_to_the_trainer() -> None:
    from backproplab.experiments.mlp_run import MLPConfig
    from backproplab.scratch.trainer import DEFAULTS, TrainSettings

    X, y = xor_data(80)
    settings = TrainSettings(epsilon=0.02, num_passes=12, batch_size=16, optimizer="adam", record_every=3)
    by_object = Trainer(DeepNeuralNetwork(2, [4], 2, seed=1), X, y, settings)
    by_words = Trainer(DeepNeuralNetwork(2, [4], 2, seed=1), X, y, **vars(settings))
    assert by_object.settings == by_words.settings == settings
    assert by_object.train()["loss"] == by_words.train()["loss"]
    # every default is declared once, in TrainSettings: the handout's signatures and the command read it
    assert NeuralNetwork.fit_model.__defaults__[:2] == DeepNeuralNetwork.fit_model.__defaults__[:2]
    assert NeuralNetwork.fit_model.__defaults__[:2] == (DEFAULTS.epsilon, DEFAULTS.num_passes)
    config = MLPConfig(lr_decay=0.5, batch_size=8)
    assert config.train_settings() == TrainSettings(
        epsilon=DEFAULTS.epsilon, num_passes=DEFAULTS.num_passes, batch_size=8, lr_decay=0.5, seed=0
    )


def test_a_stratified_split_holds_out_a_rounded_share_of_each_class_but_never_a_whole_class() -> None:
    from backproplab.scratch.trainer import stratified_split

    # classes of 1, 2, 3 and 10 rows at 20%: round(0.2, 0.4, 0.6, 2.0) = 0, 0, 1, 2 rows held out, raised to
    # one row for a class of two or more and capped at all rows but one
    y = np.repeat([0, 1, 2, 3], [1, 2, 3, 10])
    keep, held = stratified_split(y, 0.2, np.random.RandomState(0))
    assert [int(np.sum(y[held] == c)) for c in range(4)] == [0, 1, 1, 2]
    assert np.array_equal(np.sort(np.concatenate([keep, held])), np.arange(y.size))
    assert np.all(np.diff(keep) > 0) and np.all(np.diff(held) > 0)
    # 95% of a class of two rounds to both rows: one stays
    keep, held = stratified_split(np.array([0, 0, 1, 1]), 0.95, np.random.RandomState(0))
    assert keep.size == held.size == 2
    # no rows: two empty index arrays that can index
    keep, held = stratified_split(np.zeros(0, dtype=np.int64), 0.2, np.random.RandomState(0))
    assert keep.shape == held.shape == (0,)
    assert keep.dtype.kind == held.dtype.kind == "i"


def test_patience_counts_from_the_last_strict_improvement() -> None:
    """A learning rate decayed to nothing after the first pass freezes the weights: the validation loss
    then repeats exactly, and a repeat is no improvement, so training stops ``patience`` passes later."""
    X, y = xor_data(80)
    net = DeepNeuralNetwork(2, [4], 2, seed=1)
    history = Trainer(
        net, X, y, validation_data=xor_data(40, seed=3), num_passes=10, patience=3, record_every=1, lr_decay=1e-300
    ).train()
    assert history["val_loss"][1] < history["val_loss"][0]
    assert history["val_loss"][2:] == [history["val_loss"][1]] * 3
    assert (history["best_pass"], history["passes_run"], history["stopped_early"]) == (1, 4, True)


def test_without_patience_the_last_weights_are_kept_even_when_validation_was_better_before() -> None:
    """Validation labels flipped: as training learns the task the validation loss rises, so its best pass
    is early; without patience the network keeps the weights of its last pass (the last recorded loss)."""
    X, y = xor_data(80)
    net = DeepNeuralNetwork(2, [4], 2, seed=1)
    history = Trainer(net, X, y, validation_data=(X, 1 - y), num_passes=20, record_every=1, epsilon=0.05).train()
    assert history["best_pass"] < 20
    assert net.evaluate(X, y)[0] == history["loss"][-1]
