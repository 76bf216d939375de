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
network with a handful of NumPy calls per step, whatever the depth: an Adam step on a batch of 32
takes 32-56% longer with one array per W and b ([64,64,64] and [10,10,10] nets, 200 moons points;
benchmarks/bench_scratch.py), though nothing measurable in full-batch steps. Keep the arrays live: update
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

from backproplab.checks import check_features, check_labels, check_non_negative_float, check_positive_int
from backproplab.scratch.activations import ACTIVATIONS, Activation
from backproplab.scratch.layer import INITS, Layer
from backproplab.scratch.losses import cross_entropy_sum, softmax
from backproplab.scratch.three_layer import NeuralNetwork
from backproplab.scratch.trainer import DEFAULTS, Trainer


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
            hidden_acts = [ACTIVATIONS[actFun_type]] * len(self.nn_hidden_dims)
        else:
            try:
                hidden_acts = [ACTIVATIONS[a] for a in actFun_type]
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
        self.init = INITS.canonical(init)
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

    # The handout's names W1..WL, b1..bL cannot be plain attributes: the arrays are views of the flat
    # storage (kept for its 32-56% on mini-batch steps, see the module docstring), so ``net.W1 = ...``
    # must copy into the view, and the number of names depends on the depth.
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
        epsilon: float = DEFAULTS.epsilon,
        num_passes: int = DEFAULTS.num_passes,
        print_loss: bool = True,
        *,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        progress: bool = False,
        logdir: str | os.PathLike[str] | None = None,
        **settings: Any,
    ) -> dict[str, Any]:
        """Train for ``num_passes`` passes (epochs) over X; returns the history. A thin wrapper over
        :class:`~backproplab.scratch.trainer.Trainer`, which documents the loop; ``settings`` are the
        other fields of :class:`~backproplab.scratch.trainer.TrainSettings`, with their defaults there:

        - ``batch_size`` (None = full batch), ``optimizer`` (sgd, momentum, nesterov, adagrad, rmsprop
          or adam) with ``optimizer_options`` (e.g. ``{"momentum": 0.9}``), ``lr_decay`` (the rate is
          multiplied by it after every pass, cs231n's Solver), ``shuffle``, ``seed``;
        - validation: ``validation_data=(X_val, y_val)`` or ``validation_split=f`` (a stratified
          fraction of (X, y)); ``patience=k`` stops early when the validation loss has not improved for
          k passes, and with ``restore_best`` the best parameters are put back;
        - ``record_every``: passes between history entries (default ~200 entries, at most ``patience``
          apart); the validation loss is measured there only, so early stopping acts on them.

        ``print_loss`` prints the loss every 1,000 passes (the handout's habit); ``progress`` shows a
        tqdm bar; ``logdir`` writes TensorBoard summaries at every record.

        History: lists ``pass``, ``loss`` (L on the training rows), ``loss_per_example`` (L / N),
        ``accuracy``, and with validation ``val_loss``, ``val_loss_per_example``, ``val_accuracy``
        (the same quantities on the validation rows); scalars ``best_pass`` (None without
        validation), ``stopped_early`` and ``passes_run``.
        Raises :class:`~backproplab.errors.TrainingDiverged` (``exc.history``: the records up to the
        blow-up) by the rules of :mod:`backproplab.divergence`.
        """
        print_every = 1000 if print_loss else None
        changes = {"epsilon": epsilon, "num_passes": num_passes, "print_every": print_every, **settings}
        trainer = Trainer(self, X, y, validation_data=validation_data, progress=progress, logdir=logdir, **changes)
        return trainer.train()

    def visualize_decision_boundary(
        self, X: np.ndarray, y: np.ndarray, path: str | os.PathLike[str] | None = None
    ) -> Any:
        """Plot the decision regions with the data on top; save to ``path`` if given, else show."""
        from backproplab.figures import plot_decision_boundary  # matplotlib only when drawing

        widths = ",".join(str(d) for d in self.nn_hidden_dims)
        title = f"hidden [{widths}], {'/'.join(dict.fromkeys(self.activations))}"
        return plot_decision_boundary(self.predict, X, y, title=title, path=path)

    # -- what the trainer uses (see backproplab.scratch.trainer) ----------------------------------

    def check_training_data(
        self, X: object, y: object | None = None, name: str = "X"
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(X, y)`` checked against this network's shape, X in the network's dtype (``y=None`` passes through)."""
        X = self._check_X(X, name)
        return X, None if y is None else check_labels(y, X.shape[0], self.nn_output_dim)

    def step_arrays(self) -> list[np.ndarray]:
        """The arrays an optimizer updates in place: the one flat parameter buffer."""
        return [self._flat_params]

    def step_gradients(self, X: np.ndarray, y: np.ndarray, reg_scale: float) -> list[np.ndarray]:
        """The flat gradient of sum_n NLL + (reg_lambda / 2) reg_scale sum_l ||W_l||^2 on checked rows."""
        self._fill_gradients(X, y, reg_scale)
        return [self._flat_grads]

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """``(L, accuracy)`` on checked rows; the layers keep this forward pass in their caches."""
        loss = self._loss(X, y)
        return loss, float(np.mean(np.argmax(self.layers[-1].a, axis=1) == y))

    def monitored_tensors(self) -> dict[str, np.ndarray]:
        """``layer<i>/weights``, ``/biases``, and from the last forward pass ``/net_input`` and
        ``/activation`` (not for the output layer, whose activation is the identity)."""
        tensors: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers, start=1):
            tensors[f"layer{i}/weights"], tensors[f"layer{i}/biases"] = layer.W, layer.b
            if layer.z is not None:
                tensors[f"layer{i}/net_input"] = layer.z
                if layer.activation.name != "identity":
                    tensors[f"layer{i}/activation"] = layer.a
        return tensors

    # -- the arithmetic (arguments already checked) ------------------------------------------------

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
