"""Mini-batches drawn where the model runs, in exactly the order of :meth:`mnist.DataSet.next_batch`.

The images and labels are copied to the device once; each step then sends only the batch's indices
(50 integers, asynchronously from pinned memory on a GPU) and gathers the batch there. The indices
come from a :class:`~backproplab.datasets.mnist.DataSet` over ``arange(N)``, loaded with the data set's
own iterator state, so the order is the CPU's for a given seed and :meth:`state_dict` is the format
that checkpoints already hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from backproplab.datasets import mnist


class DeviceBatches:
    """``next_batch(b) -> (images (b, 784) float32, labels (b,) int64)``, on ``device``, continuing
    from ``dataset``'s current position (``dataset`` itself is not advanced)."""

    def __init__(self, dataset: mnist.DataSet, device: torch.device) -> None:
        self.device = device
        self.images = torch.as_tensor(dataset.images).to(device)
        self.labels = torch.as_tensor(dataset.labels).to(device)
        n = dataset.num_examples
        positions = np.arange(n, dtype=np.int64)
        self._order = mnist.DataSet(positions.reshape(n, 1), positions, seed=0)
        self._order.load_state_dict(dataset.state_dict())
        self._pin = device.type == "cuda"

    def next_batch(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        _, indices = self._order.next_batch(batch_size)
        index = torch.from_numpy(indices)
        if self._pin:
            # Pinned memory makes the copy asynchronous: no wait for the GPU's queue to drain.
            index = index.pin_memory()
        index = index.to(self.device, non_blocking=True)
        return self.images.index_select(0, index), self.labels.index_select(0, index)

    def state_dict(self) -> dict[str, Any]:
        """The iterator's position, as :meth:`mnist.DataSet.state_dict` (load it into the data set to resume)."""
        return self._order.state_dict()
