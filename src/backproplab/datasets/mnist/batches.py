"""Mini-batches: a seeded, reshuffling iterator over (images, labels), and the three splits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


class DataSet:
    """Images and labels with a seeded, reshuffling mini-batch iterator.

    images: (N, 784) float32 in [0, 1]; labels: (N,) int64. ``next_batch`` walks a random
    permutation; a batch that crosses the end of an epoch takes the rest of the old order and the
    start of a new one (TensorFlow's classic behaviour), so each epoch serves every example once.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: int | np.random.SeedSequence = 0):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 2 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"DataSet needs images (N, D) and labels (N,), got {images.shape} and {labels.shape}")
        self.images = images
        self.labels = labels
        self._rng = np.random.default_rng(seed)
        self._perm = self._rng.permutation(self.num_examples)
        self._index = 0
        self._epochs_completed = 0

    @property
    def num_examples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def epochs_completed(self) -> int:
        """Epochs of which every example has been served."""
        return self._epochs_completed

    @property
    def index_in_epoch(self) -> int:
        return self._index

    def __len__(self) -> int:
        return self.num_examples

    def __repr__(self) -> str:
        return (
            f"DataSet(num_examples={self.num_examples}, image_size={self.images.shape[1]}, "
            f"epochs_completed={self._epochs_completed})"
        )

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` examples: images (B, D) float32, labels (B,) int64 (copies)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ValueError(f"batch_size must be an integer, got {batch_size!r}")
        n = self.num_examples
        if not 0 < batch_size <= n:
            raise ValueError(f"batch_size must be between 1 and the number of examples ({n}), got {batch_size}")
        start, end = self._index, self._index + int(batch_size)
        if end <= n:
            idx = self._perm[start:end]
            self._index = end
        else:
            rest = self._perm[start:]
            self._new_epoch()
            self._index = end - n
            idx = np.concatenate([rest, self._perm[: self._index]])
        if self._index == n:
            self._new_epoch()
        return self.images[idx], self.labels[idx]

    def _new_epoch(self) -> None:
        self._epochs_completed += 1
        self._perm = self._rng.permutation(self.num_examples)
        self._index = 0

    def state_dict(self) -> dict[str, Any]:
        """The iterator's state (plain Python values: safe for JSON and ``torch.save``)."""
        return {
            "num_examples": self.num_examples,
            "rng": self._rng.bit_generator.state,
            "permutation": self._perm.tolist(),
            "index": self._index,
            "epochs_completed": self._epochs_completed,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue exactly where the iterator that produced ``state`` (:meth:`state_dict`) was."""
        try:
            n = int(state["num_examples"])
            perm = np.asarray(state["permutation"], dtype=np.int64)
            index = int(state["index"])
            epochs = int(state["epochs_completed"])
            rng_state = dict(state["rng"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a DataSet state (from DataSet.state_dict()): {exc!r}") from exc
        if n != self.num_examples:
            raise ValueError(f"the state is for {n} examples, this data set has {self.num_examples}")
        if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
            raise ValueError("the state's permutation is not a permutation of the examples")
        if not 0 <= index <= n or epochs < 0:
            raise ValueError(f"the state's position is out of range (index {index}, epochs {epochs})")
        rng = np.random.default_rng()
        if rng_state.get("bit_generator") != type(rng.bit_generator).__name__:
            raise ValueError(f"the state's generator is {rng_state.get('bit_generator')!r}, expected PCG64")
        try:
            rng.bit_generator.state = rng_state
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the state's generator state is damaged: {exc!r}") from exc
        self._rng, self._perm, self._index, self._epochs_completed = rng, perm, index, epochs


@dataclass(frozen=True)
class Datasets:
    """The three splits: train (60000 - validation_size), validation, test (10000)."""

    train: DataSet
    validation: DataSet
    test: DataSet
