r"""The three-layer network of the course handout: input -> one hidden layer -> softmax.

Conventions (rows are examples):

    X: (N, D) float64      y: (N,) int labels in [0, C)
    z1 = X @ W1 + b1       W1: (D, H), b1: (H,)       z1, a1: (N, H)
    a1 = f(z1)             f is the activation chosen by name
    z2 = a1 @ W2 + b2      W2: (H, C), b2: (C,)       z2: (N, C)
    p  = softmax(z2)       rows of p sum to 1

**The loss is a sum over the examples given** (one scaling, used everywhere):

    L(X, y) = sum_n -log p[n, y_n]  +  (reg_lambda / 2) * (||W1||^2 + ||W2||^2)

``backprop`` returns exactly dL/dW1, dL/db1, dL/dW2, dL/db2 of this L:

    delta2 = p - onehot(y)                      (N, C)
    dW2 = a1.T @ delta2 + reg_lambda * W2       db2 = sum_n delta2
    delta1 = (delta2 @ W2.T) * f'(z1)           (N, H)
    dW1 = X.T @ delta1 + reg_lambda * W1        db1 = sum_n delta1

and ``fit_model`` (a thin wrapper over :class:`~backproplab.scratch.trainer.Trainer`) takes plain
gradient steps ``W -= epsilon * dW`` on it. This is exactly the
update of the classic handout code, so its defaults (epsilon=0.01, reg_lambda=0.01, 20,000
passes) train the same way. (The handout's ``calculate_loss`` printed the *mean*, L / N, while its
gradient was that of the sum; here the loss and its gradient agree, and the training history
records both L and L / N.) A mean loss would need a learning rate N times larger for the same
training.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from backproplab.checks import check_features, check_labels, check_non_negative_float, check_positive_int
from backproplab.errors import TrainingDiverged
from backproplab.scratch.activations import ACTIVATIONS, Activation
from backproplab.scratch.losses import cross_entropy_sum, softmax
from backproplab.scratch.reductions import column_sum
from backproplab.scratch.trainer import DEFAULTS, Trainer

__all__ = ["NeuralNetwork", "TrainingDiverged"]  # TrainingDiverged lives in backproplab.errors


class NeuralNetwork:
    """A network with one hidden layer (the course's API); ``fit_model`` trains it by full-batch gradient descent.

    >>> net = NeuralNetwork(nn_input_dim=2, nn_hidden_dim=3, nn_output_dim=2, actFun_type="tanh")
    >>> probs = net.feedforward(X, lambda z: net.actFun(z, type=net.actFun_type))   # doctest: +SKIP

    Weights start as standard normal draws scaled by 1/sqrt(fan_in) from ``np.random.RandomState(seed)``
    (the handout's initialisation); biases start at zero.
    """

    def __init__(
        self,
        nn_input_dim: int,
        nn_hidden_dim: int,
        nn_output_dim: int,
        actFun_type: str = "tanh",
        reg_lambda: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.nn_input_dim = check_positive_int(nn_input_dim, "nn_input_dim")
        self.nn_hidden_dim = check_positive_int(nn_hidden_dim, "nn_hidden_dim")
        self.nn_output_dim = check_positive_int(nn_output_dim, "nn_output_dim")
        self.actFun_type = ACTIVATIONS[actFun_type].name
        self.reg_lambda = check_non_negative_float(reg_lambda, "reg_lambda")
        self.seed = seed
        rng = np.random.RandomState(seed)
        self.W1 = rng.randn(self.nn_input_dim, self.nn_hidden_dim) / np.sqrt(self.nn_input_dim)
        self.b1 = np.zeros(self.nn_hidden_dim)
        self.W2 = rng.randn(self.nn_hidden_dim, self.nn_output_dim) / np.sqrt(self.nn_hidden_dim)
        self.b2 = np.zeros(self.nn_output_dim)

    def __repr__(self) -> str:
        return (
            f"NeuralNetwork({self.nn_input_dim} -> {self.nn_hidden_dim} {self.actFun_type} -> "
            f"{self.nn_output_dim} softmax, reg_lambda={self.reg_lambda})"
        )

    # -- the course's names -------------------------------------------------------------------

    def actFun(self, z: np.ndarray, type: str) -> np.ndarray:
        """Apply the activation called ``type`` element-wise (see :mod:`backproplab.scratch.activations`)."""
        return ACTIVATIONS[type].forward(np.asarray(z, dtype=np.float64))

    def diff_actFun(self, z: np.ndarray, type: str) -> np.ndarray:
        """Element-wise derivative d actFun(z) / dz of the activation called ``type``."""
        return ACTIVATIONS[type].grad(np.asarray(z, dtype=np.float64))

    def feedforward(self, X: np.ndarray, actFun: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """Forward pass. X: (N, D) -> probabilities (N, C); also kept as ``self.probs``.

        ``actFun`` is a callable z -> a as in the handout; ``None`` means this network's own activation.
        The intermediate ``z1``, ``a1``, ``z2`` are kept on the object for backprop and inspection.
        """
        X = check_features(X, self.nn_input_dim)
        if actFun is None:
            actFun = ACTIVATIONS[self.actFun_type].forward
        return self._forward(X, actFun)

    def calculate_loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """L = sum_n -log p[n, y_n] + (reg_lambda/2)(||W1||^2 + ||W2||^2), summed over the N examples."""
        X = check_features(X, self.nn_input_dim)
        y = check_labels(y, X.shape[0], self.nn_output_dim)
        self._forward(X, ACTIVATIONS[self.actFun_type].forward)
        return self._loss_from_scores(self.z2, y)

    def backprop(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Gradients of :meth:`calculate_loss` at (X, y): ``(dW1, db1, dW2, db2)``, shaped like the parameters."""
        X = check_features(X, self.nn_input_dim)
        y = check_labels(y, X.shape[0], self.nn_output_dim)
        return self._gradients(X, y, np.arange(X.shape[0]), ACTIVATIONS[self.actFun_type], 1.0)

    def parameters(self) -> list[np.ndarray]:
        """The live parameter arrays ``[W1, b1, W2, b2]``, in the order :meth:`backprop` returns gradients."""
        return [self.W1, self.b1, self.W2, self.b2]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class of each row. X: (N, D) -> (N,) int64."""
        return np.argmax(self.feedforward(X), axis=1)

    def fit_model(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epsilon: float = DEFAULTS.epsilon,
        num_passes: int = DEFAULTS.num_passes,
        print_loss: bool = True,
        *,
        record_every: int = 100,
        progress: bool = False,
    ) -> dict[str, list[float]]:
        """Full-batch gradient descent: ``num_passes`` steps ``p -= epsilon * dL/dp`` on the summed loss.

        Returns the history ``{"pass", "loss", "loss_per_example", "accuracy"}`` recorded before the
        first pass, every ``record_every`` passes and after the last (and ``passes_run``,
        ``stopped_early``, ``best_pass``). ``print_loss`` prints the loss every 1,000 passes as the
        handout does; ``progress`` shows a tqdm bar instead. Raises
        :class:`~backproplab.errors.TrainingDiverged` if the loss becomes NaN or infinite, or stays
        far above its starting value (the rules of :mod:`backproplab.divergence`).
        """
        trainer = Trainer(
            self,
            X,
            y,
            epsilon=epsilon,
            num_passes=num_passes,
            record_every=record_every,
            print_every=1000 if print_loss else None,
            exact_prints=True,
            progress=progress,
        )
        return trainer.train()

    def visualize_decision_boundary(
        self, X: np.ndarray, y: np.ndarray, path: str | os.PathLike[str] | None = None
    ) -> Any:
        """Plot the decision regions with the data on top; save to ``path`` if given, else show."""
        from backproplab.figures import plot_decision_boundary  # matplotlib only when drawing

        title = f"{self.nn_hidden_dim} hidden units, {self.actFun_type}"
        return plot_decision_boundary(self.predict, X, y, title=title, path=path)

    # -- what the trainer uses (see backproplab.scratch.trainer) --------------------------------

    def check_training_data(
        self, X: object, y: object | None = None, name: str = "X"
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(X, y)`` checked against this network's shape (``y=None`` passes through)."""
        X = check_features(X, self.nn_input_dim, name)
        return X, None if y is None else check_labels(y, X.shape[0], self.nn_output_dim)

    def step_arrays(self) -> list[np.ndarray]:
        """The arrays an optimizer updates in place: :meth:`parameters`."""
        return self.parameters()

    def step_gradients(self, X: np.ndarray, y: np.ndarray, reg_scale: float) -> tuple[np.ndarray, ...]:
        """Gradients of sum_n NLL + (reg_lambda / 2) reg_scale (||W1||^2 + ||W2||^2) on checked rows."""
        return self._gradients(X, y, np.arange(X.shape[0]), ACTIVATIONS[self.actFun_type], reg_scale)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """``(L, accuracy)`` on checked rows; the forward pass stays cached (z1, a1, z2, probs)."""
        self._forward(X, ACTIVATIONS[self.actFun_type].forward)
        return self._loss_from_scores(self.z2, y), float(np.mean(np.argmax(self.z2, axis=1) == y))

    def monitored_tensors(self) -> dict[str, np.ndarray]:
        """``<layer>/<quantity>`` tensors for TensorBoard (the net inputs and activations of the last forward)."""
        tensors = {
            "layer1/weights": self.W1,
            "layer1/biases": self.b1,
            "layer2/weights": self.W2,
            "layer2/biases": self.b2,
        }
        if getattr(self, "z1", None) is not None:
            tensors.update({"layer1/net_input": self.z1, "layer1/activation": self.a1, "layer2/net_input": self.z2})
        return tensors

    # -- the arithmetic (arguments already checked) ---------------------------------------------

    def _forward(self, X: np.ndarray, actFun: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        self.z1 = X @ self.W1 + self.b1
        self.a1 = actFun(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        self.probs = softmax(self.z2)
        return self.probs

    def _loss_from_scores(self, scores: np.ndarray, y: np.ndarray) -> float:
        l2 = float(np.sum(self.W1 * self.W1) + np.sum(self.W2 * self.W2))
        return cross_entropy_sum(scores, y) + 0.5 * self.reg_lambda * l2

    def _gradients(
        self, X: np.ndarray, y: np.ndarray, rows: np.ndarray, act: Activation, reg_scale: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        reg = self.reg_lambda * reg_scale  # reg_scale 1.0 leaves reg_lambda's bits as they are
        probs = self._forward(X, act.forward)
        delta2 = probs.copy()  # a copy: self.probs stays the forward pass's output
        delta2[rows, y] -= 1.0
        dW2 = self.a1.T @ delta2 + reg * self.W2
        db2 = column_sum(delta2)
        delta1 = (delta2 @ self.W2.T) * act.derivative(self.z1, self.a1)
        dW1 = X.T @ delta1 + reg * self.W1
        db1 = column_sum(delta1)
        return dW1, db1, dW2, db2
