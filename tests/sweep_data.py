"""Small data for sweep tests, loaded by the sweep's worker processes (``data="sweep_data:small"``).

``SWEEP_TEST_KILL_TOKEN``: a file; when it is set as the data are loaded, the first run in that
process to take batch ``SWEEP_TEST_KILL_AT`` while the file exists removes it and kills its process
with SIGKILL (a worker dying mid-run). Training draws its batches through
:class:`backproplab.dcn.device_batches.DeviceBatches`, so that is where the worker counts them.
``SWEEP_TEST_ENOSPC``: set, every atomic write of that process fails as on a full disk (ENOSPC).
"""

from __future__ import annotations

import errno
import os
import signal
from contextlib import contextmanager

from backproplab import io
from backproplab.datasets import mnist
from backproplab.dcn import device_batches
from test_dcn_train import synthetic_mnist

_original_next_batch = device_batches.DeviceBatches.next_batch


def _killing_next_batch(self, batch_size: int):
    self.test_batches = getattr(self, "test_batches", 0) + 1
    token = os.environ.get("SWEEP_TEST_KILL_TOKEN")
    if token and self.test_batches == int(os.environ.get("SWEEP_TEST_KILL_AT", "0")):
        try:
            os.remove(token)
        except FileNotFoundError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return _original_next_batch(self, batch_size)


@contextmanager
def _disk_full(path):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
    yield  # pragma: no cover


def small(data_dir, validation_size) -> mnist.Datasets:
    if os.environ.get("SWEEP_TEST_KILL_TOKEN"):  # only in the worker processes of the kill test
        device_batches.DeviceBatches.next_batch = _killing_next_batch
    if os.environ.get("SWEEP_TEST_ENOSPC"):
        io.atomic_path = _disk_full
    return synthetic_mnist(n_train=120, n_eval=40)
