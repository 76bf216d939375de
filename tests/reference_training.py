"""The training loops of the NumPy networks as they were before the Trainer (commit 8ea1841), kept as
the reference the Trainer is pinned to (tests/test_trainer.py): same seed, same numbers, bit for bit.

A plain transcription of ``NeuralNetwork.fit_model`` and ``DeepNeuralNetwork.fit_model`` of that
commit, driving a network through the arithmetic the models still expose (``_forward``,
``_loss_from_scores``, ``_gradients``; ``_loss``, ``_fill_gradients`` and the flat buffers) and the
optimizers of :mod:`backproplab.scratch.optimizers`. It never touches
:mod:`backproplab.scratch.trainer`. Left out: argument checks beyond those that convert the data,
the progress bar, TensorBoard and divergence detection (the pinned runs do not diverge).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.checks import check_features, check_labels
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.optimizers import make_optimizer


def fit_three_layer(
    net: Any,
    X: np.ndarray,
    y: np.ndarray,
    epsilon: float = 0.01,
    num_passes: int = 20000,
    print_loss: bool = True,
    *,
    record_every: int = 100,
) -> dict[str, list[float]]:
    """8ea1841's ``NeuralNetwork.fit_model``: ``num_passes`` full-batch steps ``p -= epsilon * g``;
    a record before the first pass, every ``record_every`` passes, after the last, and (with
    ``print_loss``) at every multiple of 1,000 passes, where the loss is printed."""
    X = check_features(X, net.nn_input_dim)
    y = check_labels(y, X.shape[0], net.nn_output_dim)
    rows = np.arange(X.shape[0])
    history: dict[str, list[float]] = {"pass": [], "loss": [], "loss_per_example": [], "accuracy": []}
    params = net.parameters()
    activation = ACTIVATIONS[net.actFun_type]

    def record(done: int) -> None:
        net._forward(X, activation.forward)
        loss = net._loss_from_scores(net.z2, y)
        history["pass"].append(done)
        history["loss"].append(loss)
        history["loss_per_example"].append(loss / X.shape[0])
        history["accuracy"].append(float(np.mean(np.argmax(net.z2, axis=1) == y)))
        if print_loss and done % 1000 == 0:
            print(f"Loss after iteration {done}: {loss / X.shape[0]:f} (sum {loss:f})")

    record(0)
    with np.errstate(over="ignore", invalid="ignore"):
        for done in range(1, num_passes + 1):
            # reg_scale 1.0: the gradient of the full loss, as 8ea1841's _gradients(X, y, rows, act)
            for p, g in zip(params, net._gradients(X, y, rows, activation, 1.0), strict=True):
                p -= epsilon * g
            if done % record_every == 0 or done == num_passes or (print_loss and done % 1000 == 0):
                record(done)
    return history


def stratified_split(y: np.ndarray, fraction: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """8ea1841's ``deep.stratified_split``: sorted row indices ``(keep, held_out)``, about ``fraction``
    of each class held out (at least one row of every class with two or more rows)."""
    held: list[np.ndarray] = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        k = round(fraction * rows.size)
        k = min(max(k, 1 if rows.size > 1 else 0), rows.size - 1)
        held.append(rng.permutation(rows)[:k])
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    keep = np.setdiff1d(np.arange(y.shape[0]), held_out)
    return keep, held_out


def fit_deep(
    net: Any,
    X: np.ndarray,
    y: np.ndarray,
    epsilon: float = 0.01,
    num_passes: int = 20000,
    print_loss: bool = True,
    *,
    batch_size: int | None = None,
    optimizer: str = "sgd",
    optimizer_options: dict[str, float] | None = None,
    lr_decay: float = 1.0,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_split: float | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    record_every: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
) -> dict[str, Any]:
    """8ea1841's ``DeepNeuralNetwork.fit_model`` (its arguments, less ``progress`` and ``logdir``):
    one optimizer over the flat parameter buffer, mini-batches of a fresh permutation every pass,
    the learning rate times ``lr_decay`` after every pass, validation and early stopping at records."""
    X = net._check_X(X)
    y = check_labels(y, X.shape[0], net.nn_output_dim)
    rng = np.random.RandomState(net.seed if seed is None else seed)

    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    if validation_data is not None:
        X_val = net._check_X(validation_data[0], "X_val")
        y_val = check_labels(validation_data[1], X_val.shape[0], net.nn_output_dim, "y_val")
    elif validation_split is not None:
        keep, held = stratified_split(y, validation_split, rng)
        X, y, X_val, y_val = X[keep], y[keep], X[held], y[held]

    N = X.shape[0]
    if record_every is None:
        record_every = max(1, num_passes // 200)
        if patience is not None:
            record_every = min(record_every, patience)
    opt = make_optimizer(optimizer, [net._flat_params], epsilon, **(optimizer_options or {}))

    history: dict[str, Any] = {"pass": [], "loss": [], "loss_per_example": [], "accuracy": []}
    if X_val is not None:
        history.update(val_loss=[], val_loss_per_example=[], val_accuracy=[])
    best: dict[str, Any] = {"loss": np.inf, "pass": None, "params": None}
    next_print = [0]

    def record(done: int) -> bool:
        """Append to the history; True when early stopping says stop."""
        loss = net._loss(X, y)
        acc = float(np.mean(np.argmax(net.layers[-1].a, axis=1) == y))
        history["pass"].append(done)
        history["loss"].append(loss)
        history["loss_per_example"].append(loss / N)
        history["accuracy"].append(acc)
        if print_loss and (done >= next_print[0] or done == num_passes):
            print(f"Loss after iteration {done}: {loss / N:f} (sum {loss:f})")
            next_print[0] = (done // 1000 + 1) * 1000
        stop = False
        if X_val is not None:
            val_loss = net._loss(X_val, y_val)
            val_acc = float(np.mean(np.argmax(net.layers[-1].a, axis=1) == y_val))
            history["val_loss"].append(val_loss)
            history["val_loss_per_example"].append(val_loss / X_val.shape[0])
            history["val_accuracy"].append(val_acc)
            if val_loss < best["loss"]:
                best["loss"], best["pass"] = val_loss, done
                if patience is not None and restore_best:
                    best["params"] = net._flat_params.copy()
            elif patience is not None and best["pass"] is not None and done - best["pass"] >= patience:
                stop = True
        return stop

    Xd = X.astype(net.dtype, copy=False)
    stopped_early = False
    done = 0
    grads = [net._flat_grads]
    record(0)
    with np.errstate(over="ignore", invalid="ignore"):
        for done in range(1, num_passes + 1):
            if batch_size is None:
                net._fill_gradients(Xd, y, 1.0)
                opt.step(grads)
            else:
                if shuffle:
                    order = rng.permutation(N)
                    Xs, ys = Xd[order], y[order]
                else:
                    Xs, ys = Xd, y
                for start in range(0, N, batch_size):
                    yb = ys[start : start + batch_size]
                    net._fill_gradients(Xs[start : start + batch_size], yb, yb.shape[0] / N)
                    opt.step(grads)
            opt.lr *= lr_decay
            if done % record_every == 0 or done == num_passes:
                stopped_early = record(done)
                if stopped_early:
                    break
    if best["params"] is not None:
        net._flat_params[...] = best["params"]
    history["best_pass"] = best["pass"]
    history["stopped_early"] = stopped_early
    history["passes_run"] = done
    return history
