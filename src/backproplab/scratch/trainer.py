r"""The training loop of the NumPy engine, in the spirit of CS231n's ``Solver``: the networks hold
only the network (forward, loss, backward, predict, parameters); this module owns everything else.

    settings = TrainSettings(epsilon=0.01, num_passes=300, batch_size=32, optimizer="adam",
                             validation_split=0.2, patience=10)
    history = Trainer(net, X, y, settings).train()     # or Trainer(net, X, y, num_passes=300, ...)

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

**Divergence** is judged by the loss rules every engine applies (:class:`backproplab.divergence.
DivergenceWatch`), fed the loss of every record: a NaN or infinite loss, or a loss above
``diverge_factor`` (10) times its value before training at two records in a row (a whole record
interval). Training then ends with :class:`~backproplab.errors.TrainingDiverged`, carrying the
history up to the blow-up (``exc.history``). The watch's chance rule is not applied here (see
:mod:`backproplab.divergence`): a network can sit at chance without blowing up.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backproplab.checks import check_labels, check_positive_float, check_positive_int
from backproplab.divergence import DIVERGE_FACTOR, DivergenceWatch
from backproplab.errors import TrainingDiverged
from backproplab.progress import progress_bar
from backproplab.scratch.optimizers import make_optimizer

#: ``on_record(net, history)`` is called after each record is appended (``history["pass"][-1]`` is the pass).
RecordCallback = Callable[[Any, dict[str, Any]], None]
#: The divergence watch's window, in records: the loss must stay high at two records in a row.
DIVERGE_RECORDS = 2


@dataclass(frozen=True)
class TrainSettings:
    """How :class:`Trainer` trains, each setting declared once here (the defaults are the handout's).

    - ``epsilon``: the learning rate, for every optimizer (steps follow the *summed* batch loss).
      ``optimizer``: a name of :mod:`backproplab.scratch.optimizers`; ``optimizer_options`` its
      settings. ``lr_decay``: the rate is multiplied by it after every pass, 1.0 = constant.
    - ``batch_size``: None = full batch; else mini-batches of that many rows, reshuffled every pass
      (``shuffle``) from ``RandomState(seed)`` (default: the network's seed), which also draws the
      ``validation_split``.
    - ``validation_split=f``: a stratified fraction f of the rows held out. ``patience=k`` stops when
      the validation loss has not improved for k passes; with ``restore_best`` the best parameters
      are then put back (stopped early or not).
    - ``record_every``: passes between records (default ~200 records, at most ``patience`` apart).
    - ``print_every``: print the loss at the first record at or after each multiple, and at the last
      one (None: never). ``exact_prints`` instead records at every multiple and prints only those
      (the three-layer handout's habit).
    - ``diverge_factor``: see the module docstring (None: only a non-finite loss is divergence).
    """

    epsilon: float = 0.01
    num_passes: int = 20000
    batch_size: int | None = None
    optimizer: str = "sgd"
    optimizer_options: dict[str, float] | None = None
    lr_decay: float = 1.0
    validation_split: float | None = None
    patience: int | None = None
    restore_best: bool = True
    record_every: int | None = None
    shuffle: bool = True
    seed: int | None = None
    print_every: int | None = None
    exact_prints: bool = False
    diverge_factor: float | None = DIVERGE_FACTOR

    def __post_init__(self) -> None:
        check_positive_float(self.epsilon, "epsilon")
        check_positive_int(self.num_passes, "num_passes")
        for name in ("batch_size", "patience", "record_every", "print_every"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        if check_positive_float(self.lr_decay, "lr_decay") > 1:
            raise ValueError(
                f"lr_decay multiplies the learning rate every pass and must be in (0, 1], got {self.lr_decay}"
            )
        if self.validation_split is not None and check_positive_float(self.validation_split, "validation_split") >= 1:
            raise ValueError(f"validation_split is a fraction in (0, 1), got {self.validation_split}")
        if self.diverge_factor is not None:
            check_positive_float(self.diverge_factor, "diverge_factor")


#: The default settings: ``DEFAULTS.epsilon`` is the one declaration of the default learning rate.
DEFAULTS = TrainSettings()


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
    """Trains ``net`` on (X, y) as ``settings`` say (:class:`TrainSettings`; keyword ``changes``
    replace some of them); :meth:`train` runs the loop and returns the history, which
    :attr:`history` keeps however training ends (interrupted too).

    ``validation_data=(X_val, y_val)``: validation rows of their own (instead of a split);
    ``progress``: a tqdm bar; ``logdir``: TensorBoard summaries at every record;
    ``on_record(net, history)``: called after every record (weight snapshots, say).
    """

    def __init__(
        self,
        net: Any,
        X: np.ndarray,
        y: np.ndarray,
        settings: TrainSettings = DEFAULTS,
        *,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        progress: bool = False,
        logdir: str | os.PathLike[str] | None = None,
        on_record: RecordCallback | None = None,
        **changes: Any,
    ) -> None:
        self.settings = s = dataclasses.replace(settings, **changes) if changes else settings
        self.net = net
        X, y = net.check_training_data(X, y)
        self.epsilon, self.num_passes = s.epsilon, s.num_passes
        self.rng = np.random.RandomState(net.seed if s.seed is None else s.seed)
        self.X, self.y, self.X_val, self.y_val = self._validation_rows(X, y, validation_data, s.validation_split)
        if s.patience is not None and self.X_val is None:
            raise ValueError("early stopping (patience) needs validation_data or validation_split")
        N = self.X.shape[0]
        if s.batch_size is not None and s.batch_size > N:
            raise ValueError(
                f"batch_size={s.batch_size} is larger than the {N} training rows; use batch_size <= {N} "
                "or batch_size=None for full-batch training"
            )
        record_every = s.record_every
        if record_every is None:
            record_every = max(1, self.num_passes // 200)
            if s.patience is not None:  # validation is checked at records: often enough to honour patience
                record_every = min(record_every, s.patience)
        self.record_every = record_every
        self.progress, self.logdir, self.on_record = progress, logdir, on_record
        self.optimizer = make_optimizer(s.optimizer, net.step_arrays(), self.epsilon, **(s.optimizer_options or {}))
        self.history = self.new_history(validation=self.X_val is not None)

    # -- the loop --------------------------------------------------------------------------------

    def train(self) -> dict[str, Any]:
        """Run the passes; returns the history (see :meth:`new_history`) with ``best_pass``,
        ``stopped_early`` and ``passes_run``. Raises :class:`TrainingDiverged` on divergence."""
        self.history = self.new_history(validation=self.X_val is not None)
        self._best: dict[str, Any] = {"loss": np.inf, "pass": None, "params": None}
        self._next_print = 0
        factor = self.settings.diverge_factor
        self.watch = DivergenceWatch(DIVERGE_RECORDS, math.inf if factor is None else factor, unit="records")
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
                    self.optimizer.lr *= self.settings.lr_decay
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
        net, opt, X, y, batch = self.net, self.optimizer, self.X, self.y, self.settings.batch_size
        if batch is None:
            opt.step(net.step_gradients(X, y, 1.0))
            return
        N = X.shape[0]
        if self.settings.shuffle:
            order = self.rng.permutation(N)
            X, y = X[order], y[order]
        for start in range(0, N, batch):
            yb = y[start : start + batch]
            opt.step(net.step_gradients(X[start : start + batch], yb, yb.shape[0] / N))

    def _is_record_pass(self, done: int) -> bool:
        if done % self.record_every == 0 or done == self.num_passes:
            return True
        every = self.settings.print_every
        return self.settings.exact_prints and every is not None and done % every == 0

    def _record(self, done: int) -> bool:
        """Append one record; True when early stopping says stop. Raises TrainingDiverged."""
        h, N = self.history, self.X.shape[0]
        loss, acc = self.net.evaluate(self.X, self.y)  # leaves the training rows' forward pass cached
        reason = self.watch.loss(loss)
        if reason is not None and not np.isfinite(loss):
            self._diverged(done, reason)
        h["pass"].append(done)
        h["loss"].append(loss)
        h["loss_per_example"].append(loss / N)
        h["accuracy"].append(acc)
        scalars = {"train/loss": loss / N, "train/accuracy": acc}
        if self.monitor is not None:
            self.monitor.log_tensors(self.net, done)
        self._print(done, loss, N)
        if reason is not None:
            self._log_scalars(scalars, done)  # the curves reach the record that diverged
            self._diverged(done, reason)
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
        best, patience = self._best, self.settings.patience
        if val_loss < best["loss"]:
            best["loss"], best["pass"] = val_loss, done
            if patience is not None and self.settings.restore_best:
                best["params"] = [p.copy() for p in self.net.step_arrays()]
            return False
        return patience is not None and best["pass"] is not None and done - best["pass"] >= patience

    def _print(self, done: int, loss: float, N: int) -> None:
        every = self.settings.print_every
        if every is None:
            return
        if self.settings.exact_prints:
            due = done % every == 0
        else:  # the first record at or after each multiple (records need not land on them), and the last
            due = done >= self._next_print or done == self.num_passes
            if due:
                self._next_print = (done // every + 1) * every
        if due:
            print(f"Loss after iteration {done}: {loss / N:f} (sum {loss:f})")

    def _log_scalars(self, scalars: dict[str, float], done: int) -> None:
        if self.monitor is not None:
            self.monitor.log_scalars(scalars, done)

    def _diverged(self, done: int, reason: str) -> None:
        what = (
            f"{reason} after {done} passes (epsilon={self.epsilon}, optimizer={self.optimizer.name}); "
            "try a smaller learning rate (epsilon)"
        )
        self.history.update(best_pass=self._best["pass"], stopped_early=False, passes_run=done, diverged_at_pass=done)
        raise TrainingDiverged(what, history=self.history)

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
        keep, held = stratified_split(y, validation_split, self.rng)
        if held.size == 0:
            raise ValueError("validation_split left no validation rows; use more data or a larger fraction")
        return X[keep], y[keep], X[held], y[held]
