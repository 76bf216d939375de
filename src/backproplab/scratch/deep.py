r"""The n-layer network of the handout's "Training a Deeper Network": any number of :class:`Layer`\ s.

    net = DeepNeuralNetwork(nn_input_dim=2, nn_hidden_dims=[10, 10, 10], nn_output_dim=2,
                            actFun_type="relu", reg_lambda=0.01, seed=0)
    net = DeepNeuralNetwork(nn_input_dim=2, n_layers=5, layer_size=10, nn_output_dim=2)  # the same shape

``n_layers`` counts the layers the way the handout does, input + hidden + output: the three-layer
network is ``n_layers=3``, and ``n_layers=5`` has three hidden layers of ``layer_size`` units.

Conventions (the three-layer network's, extended; rows are examples):

    X: (N, D) float     y: (N,) int in [0, C)
    layers 1..L-1: a_l = f_l(a_{l-1} @ W_l + b_l)       (a_0 = X)
    layer L:       scores = a_{L-1} @ W_L + b_L          (identity activation), p = softmax(scores)

    L(X, y) = sum_n -log p[n, y_n]  +  (reg_lambda / 2) * sum_l ||W_l||^2       (a sum over the N rows)

:meth:`DeepNeuralNetwork.backprop` returns exactly the gradient of :meth:`calculate_loss`, L2 term
included, as ``(dW1, db1, ..., dWL, dbL)`` -- the order of :meth:`parameters`.

**Mini-batches.** For a batch of B of the N training rows, a step follows the gradient of

    sum_{n in batch} -log p[n, y_n]  +  (reg_lambda / 2) * (B / N) * sum_l ||W_l||^2,

so that the batch objectives of one epoch add up to exactly L(X, y). With ``batch_size=None`` (one
batch of all N rows) this is L itself and SGD is the three-layer network's update.

**Speed.** All parameters live in one flat array (weights first, then biases) and every layer's
``W`` and ``b`` are views into it; the gradients likewise. An optimizer therefore updates the whole
network with a handful of NumPy calls per step, whatever the depth. Keep the arrays live: update
them in place (``W -= ...``, ``W[...] = ...``) rather than assigning new arrays to ``layer.W``
(``net.W1 = ...`` is fine: the handout's names copy what they are given into the live array).
``copy.deepcopy`` and pickle give networks with storage of their own, bound the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from backproplab.checks import (
    check_features,
    check_labels,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
)
from backproplab.progress import progress_bar
from backproplab.scratch.activations import Activation, get_activation
from backproplab.scratch.layer import Layer, check_init
from backproplab.scratch.losses import cross_entropy_sum, softmax
from backproplab.scratch.optimizers import make_optimizer
from backproplab.scratch.three_layer import NeuralNetwork, TrainingDiverged


def resolve_hidden_dims(
    nn_hidden_dims: int | Sequence[int] | None, n_layers: int | None, layer_size: int | None
) -> list[int]:
    """The hidden widths from either ``nn_hidden_dims`` or the handout's ``n_layers`` and ``layer_size``."""
    if nn_hidden_dims is not None:
        if n_layers is not None or layer_size is not None:
            raise ValueError("give either nn_hidden_dims or n_layers and layer_size, not both")
        dims = [nn_hidden_dims] if isinstance(nn_hidden_dims, int | np.integer) else list(nn_hidden_dims)
        if not dims:
            raise ValueError("nn_hidden_dims is empty: give at least one hidden layer width, e.g. nn_hidden_dims=[10]")
        return [check_positive_int(d, f"hidden layer {i + 1} width") for i, d in enumerate(dims)]
    if n_layers is None or layer_size is None:
        raise ValueError("give the hidden layer widths: nn_hidden_dims=[...], or n_layers and layer_size")
    n_layers = check_positive_int(n_layers, "n_layers")
    if n_layers < 3:
        raise ValueError(
            f"n_layers counts input + hidden + output layers, so it must be >= 3 (one hidden layer), got {n_layers}"
        )
    return [check_positive_int(layer_size, "layer_size")] * (n_layers - 2)


def stratified_split(y: np.ndarray, fraction: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(keep, held_out)``: about ``fraction`` of each class held out (at least one row
    of every class with two or more rows). Both index arrays are sorted."""
    held: list[np.ndarray] = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        k = round(fraction * rows.size)
        k = min(max(k, 1 if rows.size > 1 else 0), rows.size - 1)
        held.append(rng.permutation(rows)[:k])
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    keep = np.setdiff1d(np.arange(y.shape[0]), held_out)
    return keep, held_out


_HANDOUT_NAME = re.compile(r"([Wb])([1-9][0-9]*)")


class DeepNeuralNetwork(NeuralNetwork):
    """A softmax classifier with any number of hidden layers, trained by backprop (see the module docstring).

    Parameters
    ----------
    nn_input_dim, nn_output_dim: D (features) and C (classes).
    nn_hidden_dims: the hidden widths, e.g. ``[10, 10, 10]`` (an int means one hidden layer).
    actFun_type: one activation name for every hidden layer, or a list with one name per hidden layer
        (an :class:`~backproplab.scratch.activations.Activation` of your own may stand for a name).
    reg_lambda: L2 strength (see the loss above). seed: seeds the weights (and shuffling by default).
    n_layers, layer_size: the handout's alternative to ``nn_hidden_dims`` (input + hidden + output).
    init: ``"scaled_normal"`` (the handout's, default), ``"xavier"`` or ``"he"``.
    dtype: float64 (default; use it for gradient checks) or float32 (faster).
    """

    def __init__(
        self,
        nn_input_dim: int,
        nn_hidden_dims: int | Sequence[int] | None = None,
        nn_output_dim: int = 2,
        actFun_type: str | Sequence[str] = "tanh",
        reg_lambda: float = 0.01,
        seed: int = 0,
        *,
        n_layers: int | None = None,
        layer_size: int | None = None,
        init: str = "scaled_normal",
        dtype: type | np.dtype = np.float64,
    ) -> None:
        # The three-layer __init__ is not called: it would build W1..W2 for one hidden layer.
        self.nn_input_dim = check_positive_int(nn_input_dim, "nn_input_dim")
        self.nn_output_dim = check_positive_int(nn_output_dim, "nn_output_dim")
        self.nn_hidden_dims = resolve_hidden_dims(nn_hidden_dims, n_layers, layer_size)
        if isinstance(actFun_type, str | Activation):
            hidden_acts = [get_activation(actFun_type)] * len(self.nn_hidden_dims)
        else:
            try:
                hidden_acts = [get_activation(a) for a in actFun_type]
            except TypeError:
                raise ValueError(
                    f"actFun_type must be an activation name or a list of names, got {actFun_type!r}"
                ) from None
            if len(hidden_acts) != len(self.nn_hidden_dims):
                raise ValueError(
                    f"actFun_type has {len(hidden_acts)} names for {len(self.nn_hidden_dims)} hidden layers; "
                    "give one name, or one per hidden layer"
                )
        names = [a.name for a in hidden_acts]
        self.actFun_type: str | list[str] = names[0] if len(set(names)) == 1 else names
        self.activations = names
        self.reg_lambda = check_non_negative_float(reg_lambda, "reg_lambda")
        self.seed = seed
        self.init = check_init(init)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")

        rng = np.random.RandomState(seed)
        dims = [self.nn_input_dim, *self.nn_hidden_dims, self.nn_output_dim]
        acts = [*hidden_acts, "identity"]  # Activation objects: an activation of your own works too
        self.layers: list[Layer] = [
            Layer(dims[i], dims[i + 1], acts[i], self.init, rng, self.dtype) for i in range(len(dims) - 1)
        ]
        self._bind_flat_storage()

    def _bind_flat_storage(self) -> None:
        # Layout [W1 .. WL | b1 .. bL]: the L2 term touches the weight prefix only, in one call.
        sizes_W = [layer.W.size for layer in self.layers]
        sizes_b = [layer.b.size for layer in self.layers]
        self._n_weights = sum(sizes_W)
        total = self._n_weights + sum(sizes_b)
        self._flat_params = np.zeros(total, dtype=self.dtype)
        self._flat_grads = np.zeros(total, dtype=self.dtype)
        offsets = np.cumsum([0, *sizes_W, *sizes_b])
        L = len(self.layers)
        for i, layer in enumerate(self.layers):
            w0, w1 = offsets[i], offsets[i + 1]
            b0, b1 = offsets[L + i], offsets[L + i + 1]
            layer.bind(
                self._flat_params[w0:w1].reshape(layer.W.shape),
                self._flat_params[b0:b1],
                self._flat_grads[w0:w1].reshape(layer.W.shape),
                self._flat_grads[b0:b1],
            )

    def __repr__(self) -> str:
        hidden = " -> ".join(f"{d} {a}" for d, a in zip(self.nn_hidden_dims, self.activations, strict=True))
        return (
            f"DeepNeuralNetwork({self.nn_input_dim} -> {hidden} -> {self.nn_output_dim} softmax, "
            f"reg_lambda={self.reg_lambda}, init={self.init})"
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A copy (pickle, copy.deepcopy) gets each layer's W and b as separate arrays, no longer
        # views of the flat storage the optimizer updates: bind them to fresh storage again.
        self.__dict__.update(state)
        self._bind_flat_storage()

    def _handout_array(self, name: str) -> np.ndarray | None:
        """The live array that the handout's name W<l> or b<l> stands for (layer l = 1..L), else None."""
        match = _HANDOUT_NAME.fullmatch(name)
        layers = self.__dict__.get("layers")
        if match and layers is not None and int(match.group(2)) <= len(layers):
            return getattr(layers[int(match.group(2)) - 1], match.group(1))
        return None

    def __getattr__(self, name: str) -> np.ndarray:
        array = self._handout_array(name)
        if array is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return array

    def __setattr__(self, name: str, value: Any) -> None:
        # ``net.W1 = net.W1 - epsilon * dW1`` (the handout's style) must change the network, not
        # shadow the live array with a new attribute: copy the values in place.
        array = self._handout_array(name)
        if array is None:
            super().__setattr__(name, value)
        elif value is not array:
            value = np.asarray(value)
            if value.shape != array.shape:
                raise ValueError(f"{name} has shape {array.shape}; cannot set it to an array of shape {value.shape}")
            array[...] = value

    @property
    def n_layers(self) -> int:
        """Layers counted as the handout does: input + hidden + output."""
        return len(self.nn_hidden_dims) + 2

    @property
    def n_parameters(self) -> int:
        return int(self._flat_params.size)

    # -- the course's API -------------------------------------------------------------------------

    def feedforward(self, X: np.ndarray, actFun: Any = None) -> np.ndarray:
        """Forward pass. X: (N, D) -> probabilities (N, C); also kept as ``self.probs``.

        Every layer applies its own activation (``actFun_type``); ``actFun`` is accepted so that the
        handout's call ``feedforward(X, lambda z: ...)`` works, and is not used. The layers cache
        their inputs, net inputs ``z`` and activations ``a`` for :meth:`backprop` and inspection.
        """
        X = self._check_X(X)
        self.probs = softmax(self._scores(X))
        return self.probs

    def calculate_loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """L = sum_n -log p[n, y_n] + (reg_lambda/2) sum_l ||W_l||^2, summed over the N rows."""
        X = self._check_X(X)
        y = check_labels(y, X.shape[0], self.nn_output_dim)
        return self._loss(X, y)

    def backprop(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Gradients of :meth:`calculate_loss` at (X, y): ``(dW1, db1, ..., dWL, dbL)``, new arrays."""
        X = self._check_X(X)
        y = check_labels(y, X.shape[0], self.nn_output_dim)
        self._fill_gradients(X, y, 1.0)
        return tuple(g.copy() for g in self._grad_views())

    def parameters(self) -> list[np.ndarray]:
        """The live parameter arrays ``[W1, b1, ..., WL, bL]``, in the order :meth:`backprop` returns."""
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    def fit_model(
        self,
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
        progress: bool = False,
        logdir: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Train for ``num_passes`` passes (epochs) over X; returns the history.

        - ``epsilon``: the learning rate, for every optimizer (steps are on the *summed* batch loss,
          see the module docstring). ``optimizer``: sgd, momentum, nesterov, adagrad, rmsprop or
          adam (:mod:`backproplab.scratch.optimizers`); ``optimizer_options`` their settings, e.g.
          ``{"momentum": 0.9}`` or ``{"beta1": 0.9, "beta2": 0.999}``. ``lr_decay``: the learning
          rate is multiplied by it after every pass (cs231n's Solver), 1.0 = constant.
        - ``batch_size``: None = full batch (one step per pass); else mini-batches of that many rows,
          reshuffled every pass (``shuffle``) from ``RandomState(seed)`` (default: the network's seed).
        - Validation: ``validation_data=(X_val, y_val)``, or ``validation_split=f`` to hold out a
          stratified fraction f of (X, y). ``patience=k`` stops early when the validation loss has not
          improved for k passes; with ``patience`` and ``restore_best`` the parameters of the best
          validation loss are put back at the end (stopped early or not).
        - ``record_every``: passes between history entries (default: ~200 entries in all, and with
          ``patience`` at most ``patience`` passes apart; 1 at most every pass). The validation loss
          is measured at these entries only, so early stopping acts on them. ``print_loss`` prints
          the loss every 1,000 passes (the handout's habit); ``progress`` shows a tqdm bar;
          ``logdir`` writes TensorBoard summaries at every record.

        History: lists ``pass``, ``loss`` (L on the training rows), ``loss_per_example`` (L / N),
        ``accuracy``, and with validation ``val_loss``, ``val_loss_per_example``, ``val_accuracy``
        (the same quantities on the validation rows); scalars ``best_pass`` (None without
        validation), ``stopped_early`` and ``passes_run``.
        Raises :class:`TrainingDiverged` (an ``ArithmeticError``) if the loss becomes NaN or infinite.
        """
        X = self._check_X(X)
        y = check_labels(y, X.shape[0], self.nn_output_dim)
        epsilon = check_positive_float(epsilon, "epsilon")
        num_passes = check_positive_int(num_passes, "num_passes")
        seed = self.seed if seed is None else seed
        rng = np.random.RandomState(seed)

        X, y, X_val, y_val = self._validation_rows(X, y, validation_data, validation_split, rng)
        if patience is not None:
            patience = check_positive_int(patience, "patience")
            if X_val is None:
                raise ValueError("early stopping (patience) needs validation_data or validation_split")

        N = X.shape[0]
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "batch_size")
            if batch_size > N:
                raise ValueError(
                    f"batch_size={batch_size} is larger than the {N} training rows; use batch_size <= {N} "
                    "or batch_size=None for full-batch training"
                )
        lr_decay = check_positive_float(lr_decay, "lr_decay")
        if lr_decay > 1:
            raise ValueError(f"lr_decay multiplies the learning rate every pass and must be in (0, 1], got {lr_decay}")
        if record_every is None:
            record_every = max(1, num_passes // 200)
            if patience is not None:  # validation is checked at records: often enough to honour patience
                record_every = min(record_every, patience)
        record_every = check_positive_int(record_every, "record_every")
        opt = make_optimizer(optimizer, [self._flat_params], epsilon, **(optimizer_options or {}))

        history: dict[str, Any] = {"pass": [], "loss": [], "loss_per_example": [], "accuracy": []}
        if X_val is not None:
            history.update(val_loss=[], val_loss_per_example=[], val_accuracy=[])
        best = {"loss": np.inf, "pass": None, "params": None}
        next_print = [0]

        monitor = None
        if logdir is not None:
            from backproplab.scratch.monitor import TrainingMonitor  # tensorboard only when asked for

            monitor = TrainingMonitor(logdir)

        def record(done: int) -> bool:
            """Append to the history; True when early stopping says stop."""
            loss = self._loss(X, y)  # also leaves the full-data z and a in the layer caches
            if not np.isfinite(loss):
                raise TrainingDiverged(
                    f"the loss became {loss} after {done} passes (epsilon={epsilon}, optimizer={opt.name}); "
                    "try a smaller learning rate (epsilon)"
                )
            acc = float(np.mean(np.argmax(self.layers[-1].a, axis=1) == y))
            history["pass"].append(done)
            history["loss"].append(loss)
            history["loss_per_example"].append(loss / N)
            history["accuracy"].append(acc)
            scalars = {"train/loss": loss / N, "train/accuracy": acc}
            if monitor is not None:
                monitor.log_layers(self, done)
            if print_loss and (done >= next_print[0] or done == num_passes):
                # the first record at or after each multiple of 1,000 passes (records need not land on them)
                print(f"Loss after iteration {done}: {loss / N:f} (sum {loss:f})")
                next_print[0] = (done // 1000 + 1) * 1000
            stop = False
            if X_val is not None:
                val_loss = self._loss(X_val, y_val)
                val_acc = float(np.mean(np.argmax(self.layers[-1].a, axis=1) == y_val))
                history["val_loss"].append(val_loss)
                history["val_loss_per_example"].append(val_loss / X_val.shape[0])
                history["val_accuracy"].append(val_acc)
                scalars.update({"validation/loss": val_loss / X_val.shape[0], "validation/accuracy": val_acc})
                if val_loss < best["loss"]:
                    best["loss"], best["pass"] = val_loss, done
                    if patience is not None and restore_best:
                        best["params"] = self._flat_params.copy()
                elif patience is not None and best["pass"] is not None and done - best["pass"] >= patience:
                    stop = True
            if monitor is not None:
                monitor.log_scalars(scalars, done)
            return stop

        Xd = X.astype(self.dtype, copy=False)
        bar = progress_bar(num_passes, progress, desc="training", unit="pass")
        stopped_early = False
        done = 0
        grads = [self._flat_grads]
        try:
            record(0)
            with np.errstate(over="ignore", invalid="ignore"):
                for done in range(1, num_passes + 1):
                    if batch_size is None:
                        self._fill_gradients(Xd, y, 1.0)
                        opt.step(grads)
                    else:
                        if shuffle:
                            order = rng.permutation(N)
                            Xs, ys = Xd[order], y[order]
                        else:
                            Xs, ys = Xd, y
                        for start in range(0, N, batch_size):
                            yb = ys[start : start + batch_size]
                            self._fill_gradients(Xs[start : start + batch_size], yb, yb.shape[0] / N)
                            opt.step(grads)
                    opt.lr *= lr_decay
                    if done % record_every == 0 or done == num_passes:
                        stopped_early = record(done)
                        if bar is not None:
                            bar.update(done - bar.n)
                            bar.set_postfix(loss=f"{history['loss_per_example'][-1]:.4f}", refresh=False)
                        if stopped_early:
                            break
        finally:
            if bar is not None:
                bar.close()
            if monitor is not None:
                monitor.close()
        if best["params"] is not None:
            self._flat_params[...] = best["params"]
        history["best_pass"] = best["pass"]
        history["stopped_early"] = stopped_early
        history["passes_run"] = done
        return history

    def visualize_decision_boundary(
        self, X: np.ndarray, y: np.ndarray, path: str | os.PathLike[str] | None = None
    ) -> Any:
        """Plot the decision regions with the data on top; save to ``path`` if given, else show."""
        from backproplab.figures import plot_decision_boundary  # matplotlib only when drawing

        widths = ",".join(str(d) for d in self.nn_hidden_dims)
        title = f"hidden [{widths}], {'/'.join(dict.fromkeys(self.activations))}"
        return plot_decision_boundary(self.predict, X, y, title=title, path=path)

    # -- the arithmetic (arguments already checked) ------------------------------------------------

    def _validation_rows(
        self,
        X: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray] | None,
        validation_split: float | None,
        rng: np.random.RandomState,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(X_train, y_train, X_val, y_val) from fit_model's validation arguments (None, None: no validation)."""
        if validation_data is not None and validation_split is not None:
            raise ValueError("give validation_data or validation_split, not both")
        if validation_data is not None:
            X_val = self._check_X(validation_data[0], "X_val")
            return X, y, X_val, check_labels(validation_data[1], X_val.shape[0], self.nn_output_dim, "y_val")
        if validation_split is None:
            return X, y, None, None
        validation_split = check_positive_float(validation_split, "validation_split")
        if validation_split >= 1:
            raise ValueError(f"validation_split is a fraction in (0, 1), got {validation_split}")
        keep, held = stratified_split(y, validation_split, rng)
        if held.size == 0:
            raise ValueError("validation_split left no validation rows; use more data or a larger fraction")
        return X[keep], y[keep], X[held], y[held]

    def _check_X(self, X: object, name: str = "X") -> np.ndarray:
        return check_features(X, self.nn_input_dim, name).astype(self.dtype, copy=False)

    def _grad_views(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in (layer.dW, layer.db)]

    def _scores(self, X: np.ndarray) -> np.ndarray:
        a = X
        for layer in self.layers:
            a = layer.feedforward(a)
        return a

    def _l2(self) -> float:
        w = self._flat_params[: self._n_weights]
        return float(np.dot(w, w))

    def _loss(self, X: np.ndarray, y: np.ndarray) -> float:
        return cross_entropy_sum(self._scores(X), y) + 0.5 * self.reg_lambda * self._l2()

    def _fill_gradients(self, X: np.ndarray, y: np.ndarray, reg_scale: float) -> None:
        """Fill the flat gradient buffer with the gradient of sum_n NLL + (reg_lambda/2) reg_scale sum ||W||^2."""
        delta = softmax(self._scores(X))  # a new array: the output layer's cached z is untouched
        delta[np.arange(y.shape[0]), y] -= 1.0
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            delta = self.layers[i].backprop(delta, input_grad=i > 0)
        if self.reg_lambda:
            c = self.reg_lambda * reg_scale
            self._flat_grads[: self._n_weights] += c * self._flat_params[: self._n_weights]
