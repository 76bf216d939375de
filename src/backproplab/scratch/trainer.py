r"""The training loop of the NumPy engine, in the spirit of CS231n's ``Solver``: the networks hold
only the network (forward, loss, backward, predict, parameters); this module owns everything else.

    trainer = Trainer(net, X, y, epsilon=0.01, num_passes=300, batch_size=32, optimizer="adam",
                      validation_split=0.2, patience=10)
    history = trainer.train()

A network trains here if it offers (both :class:`NeuralNetwork` and :class:`DeepNeuralNetwork` do):

    net.check_training_data(X, y) -> (X, y)          checked, in the network's dtype
    net.step_arrays() -> list of arrays                 what the optimizer updates in place
    net.step_gradients(X, y, reg_scale) -> list         gradients, same order, of the batch objective
    net.evaluate(X, y) -> (loss, accuracy)              summed loss L and accuracy on all rows given
    net.monitored_tensors() -> {tag: array}             ``<layer>/<quantity>`` tensors for TensorBoard
    net.seed, net.nn_output_dim

**One pass** is one epoch: one step on all N rows (``batch_size=None``), or one step per batch of
a fresh permutation of the rows. A batch of B rows follows the gradient of
``sum_batch NLL + (reg_lambda / 2) (B / N) sum ||W||^2`` so that one epoch's objectives add up to L.

**Records** (the history, TensorBoard, early stopping, printing, the callback) are taken before
the first pass, every ``record_every`` passes and after the last one.

**Divergence** ends training with :class:`~backproplab.errors.TrainingDiverged`, carrying the
history up to the blow-up (``exc.history``), when at a record after the first pass

- the loss is NaN or infinite, or
- the loss has stayed above ``diverge_factor`` (10) times its value before training for a whole
  record interval (at this record and the one before): steps that overshoot rather than learn.

Accuracy at chance alone is not divergence here: a network can sit there without blowing up
(dead ReLU units on full-batch SGD, say), and that is a result to show, not an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from backproplab.checks import check_labels, check_positive_float, check_positive_int
from backproplab.errors import TrainingDiverged
from backproplab.progress import progress_bar
from backproplab.scratch.optimizers import make_optimizer

#: A record's loss above this multiple of the loss before training, at two records in a row, is divergence.
DIVERGE_FACTOR = 10.0

#: ``on_record(net, history)`` is called after each record is appended (``history["pass"][-1]`` is the pass).
RecordCallback = Callable[[Any, dict[str, Any]], None]


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


class Trainer:
    """Trains ``net`` on (X, y); :meth:`train` runs the loop and returns the history.

    - ``epsilon``: the learning rate, for every optimizer (steps follow the *summed* batch loss).
      ``optimizer``: a name of :mod:`backproplab.scratch.optimizers`; ``optimizer_options`` its
      settings. ``lr_decay``: the rate is multiplied by it after every pass, 1.0 = constant.
    - ``batch_size``: None = full batch; else mini-batches of that many rows, reshuffled every pass
      (``shuffle``) from ``RandomState(seed)`` (default: the network's seed), which also draws the
      ``validation_split``.
    - Validation: ``validation_data=(X_val, y_val)``, or ``validation_split=f`` (a stratified
      fraction f of the rows held out). ``patience=k`` stops when the validation loss has not improved
      for k passes; with ``restore_best`` the best parameters are then put back (stopped early or not).
    - ``record_every``: passes between records (default ~200 records, at most ``patience`` apart).
    - ``print_every``: print the loss at the first record at or after each multiple, and at the last
      one (None: never). ``exact_prints`` instead records at every multiple and prints only those
      (the three-layer handout's habit).
    - ``progress``: a tqdm bar; ``logdir``: TensorBoard summaries at every record;
      ``on_record(net, history)``: called after every record (weight snapshots, say).
    - ``diverge_factor``: see the module docstring (None: only a non-finite loss is divergence).
    """

    def __init__(
        self,
        net: Any,
        X: np.ndarray,
        y: np.ndarray,
        *,
        epsilon: float = 0.01,
        num_passes: int = 20000,
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
        print_every: int | None = None,
        exact_prints: bool = False,
        progress: bool = False,
        logdir: str | os.PathLike[str] | None = None,
        on_record: RecordCallback | None = None,
        diverge_factor: float | None = DIVERGE_FACTOR,
    ) -> None:
        self.net = net
        X, y = net.check_training_data(X, y)
        self.epsilon = check_positive_float(epsilon, "epsilon")
        self.num_passes = check_positive_int(num_passes, "num_passes")
        self.rng = np.random.RandomState(net.seed if seed is None else seed)
        self.X, self.y, self.X_val, self.y_val = self._validation_rows(X, y, validation_data, validation_split)
        if patience is not None:
            patience = check_positive_int(patience, "patience")
            if self.X_val is None:
                raise ValueError("early stopping (patience) needs validation_data or validation_split")
        self.patience, self.restore_best = patience, restore_best
        N = self.X.shape[0]
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "batch_size")
            if batch_size > N:
                raise ValueError(
                    f"batch_size={batch_size} is larger than the {N} training rows; use batch_size <= {N} "
                    "or batch_size=None for full-batch training"
                )
        self.batch_size, self.shuffle = batch_size, shuffle
        self.lr_decay = check_positive_float(lr_decay, "lr_decay")
        if self.lr_decay > 1:
            raise ValueError(f"lr_decay multiplies the learning rate every pass and must be in (0, 1], got {lr_decay}")
        if record_every is None:
            record_every = max(1, self.num_passes // 200)
            if patience is not None:  # validation is checked at records: often enough to honour patience
                record_every = min(record_every, patience)
        self.record_every = check_positive_int(record_every, "record_every")
        self.print_every = None if print_every is None else check_positive_int(print_every, "print_every")
        self.exact_prints = exact_prints
        self.progress, self.logdir, self.on_record = progress, logdir, on_record
        self.diverge_factor = None if diverge_factor is None else check_positive_float(diverge_factor, "diverge_factor")
        self.optimizer = make_optimizer(optimizer, net.step_arrays(), self.epsilon, **(optimizer_options or {}))

    # -- the loop --------------------------------------------------------------------------------

    def train(self) -> dict[str, Any]:
        """Run the passes; returns the history (see :meth:`new_history`) with ``best_pass``,
        ``stopped_early`` and ``passes_run``. Raises :class:`TrainingDiverged` on divergence."""
        self.history = self.new_history(validation=self.X_val is not None)
        self._best: dict[str, Any] = {"loss": np.inf, "pass": None, "params": None}
        self._next_print = 0
        self.monitor = None
        if self.logdir is not None:
            from backproplab.scratch.monitor import TrainingMonitor  # tensorboard only when asked for

            self.monitor = TrainingMonitor(self.logdir)
        bar = progress_bar(self.num_passes, self.progress, desc="training", unit="pass")
        stopped_early = False
        done = 0
        try:
            self._record(0)
            with np.errstate(over="ignore", invalid="ignore"):
                for done in range(1, self.num_passes + 1):
                    self._one_pass()
                    self.optimizer.lr *= self.lr_decay
                    if self._is_record_pass(done):
                        stopped_early = self._record(done)
                        if bar is not None:
                            bar.update(done - bar.n)
                            bar.set_postfix(loss=f"{self.history['loss_per_example'][-1]:.4f}", refresh=False)
                        if stopped_early:
                            break
        finally:
            if bar is not None:
                bar.close()
            if self.monitor is not None:
                self.monitor.close()
        if self._best["params"] is not None:
            for p, best in zip(self.net.step_arrays(), self._best["params"], strict=True):
                p[...] = best
        self.history.update(best_pass=self._best["pass"], stopped_early=stopped_early, passes_run=done)
        return self.history

    @staticmethod
    def new_history(validation: bool) -> dict[str, Any]:
        """Empty history lists: ``pass``, ``loss`` (L on the training rows), ``loss_per_example``
        (L / N), ``accuracy``, and with validation ``val_loss``, ``val_loss_per_example``, ``val_accuracy``."""
        history: dict[str, Any] = {"pass": [], "loss": [], "loss_per_example": [], "accuracy": []}
        if validation:
            history.update(val_loss=[], val_loss_per_example=[], val_accuracy=[])
        return history

    def _one_pass(self) -> None:
        net, opt, X, y = self.net, self.optimizer, self.X, self.y
        if self.batch_size is None:
            opt.step(net.step_gradients(X, y, 1.0))
            return
        N = X.shape[0]
        if self.shuffle:
            order = self.rng.permutation(N)
            X, y = X[order], y[order]
        for start in range(0, N, self.batch_size):
            yb = y[start : start + self.batch_size]
            opt.step(net.step_gradients(X[start : start + self.batch_size], yb, yb.shape[0] / N))

    def _is_record_pass(self, done: int) -> bool:
        if done % self.record_every == 0 or done == self.num_passes:
            return True
        return self.exact_prints and self.print_every is not None and done % self.print_every == 0

    def _record(self, done: int) -> bool:
        """Append one record; True when early stopping says stop. Raises TrainingDiverged."""
        h, N = self.history, self.X.shape[0]
        loss, acc = self.net.evaluate(self.X, self.y)  # leaves the training rows' forward pass cached
        if not np.isfinite(loss):
            self._diverged(done, f"the loss became {loss} after {done} passes")
        h["pass"].append(done)
        h["loss"].append(loss)
        h["loss_per_example"].append(loss / N)
        h["accuracy"].append(acc)
        scalars = {"train/loss": loss / N, "train/accuracy": acc}
        if self.monitor is not None:
            self.monitor.log_tensors(self.net, done)
        self._print(done, loss, N)
        if self.diverge_factor is not None and len(h["loss"]) >= 3:
            limit = self.diverge_factor * h["loss"][0]
            if h["loss"][-1] > limit and h["loss"][-2] > limit:
                self._log_scalars(scalars, done)
                self._diverged(
                    done,
                    f"the loss stayed above {self.diverge_factor:g}x its starting value "
                    f"({h['loss'][0] / N:.4g} per example) from pass {h['pass'][-2]} to {done}",
                )
        stop = False
        if self.X_val is not None:
            val_loss, val_acc = self.net.evaluate(self.X_val, self.y_val)
            h["val_loss"].append(val_loss)
            h["val_loss_per_example"].append(val_loss / self.X_val.shape[0])
            h["val_accuracy"].append(val_acc)
            scalars.update({"validation/loss": val_loss / self.X_val.shape[0], "validation/accuracy": val_acc})
            stop = self._early_stopping(done, val_loss)
        self._log_scalars(scalars, done)
        if self.on_record is not None:
            self.on_record(self.net, h)
        return stop

    def _early_stopping(self, done: int, val_loss: float) -> bool:
        best = self._best
        if val_loss < best["loss"]:
            best["loss"], best["pass"] = val_loss, done
            if self.patience is not None and self.restore_best:
                best["params"] = [p.copy() for p in self.net.step_arrays()]
            return False
        return self.patience is not None and best["pass"] is not None and done - best["pass"] >= self.patience

    def _print(self, done: int, loss: float, N: int) -> None:
        if self.print_every is None:
            return
        if self.exact_prints:
            due = done % self.print_every == 0
        else:  # the first record at or after each multiple (records need not land on them), and the last
            due = done >= self._next_print or done == self.num_passes
            if due:
                self._next_print = (done // self.print_every + 1) * self.print_every
        if due:
            print(f"Loss after iteration {done}: {loss / N:f} (sum {loss:f})")

    def _log_scalars(self, scalars: dict[str, float], done: int) -> None:
        if self.monitor is not None:
            self.monitor.log_scalars(scalars, done)

    def _diverged(self, done: int, what: str) -> None:
        self.history.update(best_pass=self._best["pass"], stopped_early=False, passes_run=done, diverged_at_pass=done)
        raise TrainingDiverged(
            f"{what} (epsilon={self.epsilon}, optimizer={self.optimizer.name}); try a smaller learning rate (epsilon)",
            history=self.history,
        )

    # -- data ------------------------------------------------------------------------------------

    def _validation_rows(
        self,
        X: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray] | None,
        validation_split: float | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(X_train, y_train, X_val, y_val) from the validation arguments (None, None: no validation)."""
        if validation_data is not None and validation_split is not None:
            raise ValueError("give validation_data or validation_split, not both")
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = self.net.check_training_data(X_val, None, "X_val")[0]
            return X, y, X_val, check_labels(y_val, X_val.shape[0], self.net.nn_output_dim, "y_val")
        if validation_split is None:
            return X, y, None, None
        validation_split = check_positive_float(validation_split, "validation_split")
        if validation_split >= 1:
            raise ValueError(f"validation_split is a fraction in (0, 1), got {validation_split}")
        keep, held = stratified_split(y, validation_split, self.rng)
        if held.size == 0:
            raise ValueError("validation_split left no validation rows; use more data or a larger fraction")
        return X[keep], y[keep], X[held], y[held]
